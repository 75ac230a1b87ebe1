package migrations_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgtest"
)

// TestApplyVacuumsTheTablesAMigrationRewrote: a copy whose catalog was vacuumed at version 32
// is migrated on, and migration 033 rewrites event_accessibility (its text signatures, a stored
// column): the migration leaves the table's pages marked all-visible again and its new column
// analysed, so that the searches' index-only walks need no VACUUM from an operator or from
// autovacuum, which may be off.
func TestApplyVacuumsTheTablesAMigrationRewrote(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.RoleURL(pgtest.NewEmptyURL(t), migrations.OwnerRole))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := migrations.ApplyTo(ctx, conn, 32); err != nil {
		t.Fatal(err)
	}
	vocab, err := catalog.LoadVocabulary(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	events := make([]catalog.Event, 3000)
	for i := range events {
		events[i] = catalog.Event{ID: int64(i + 1), Title: fmt.Sprintf("Концерт номер %d", i), Category: "concert", City: "moscow",
			Venue: catalog.Venue{ID: 1, Name: "Зал"}, StartsAt: start.Add(time.Duration(i) * time.Minute), Timezone: "Europe/Moscow",
			Accessibility: catalog.Answers(map[string]string{"step_free_entrance": "yes"})}
	}
	if _, err := catalog.UpsertEvents(ctx, conn, vocab, 1, time.Now(), events); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) event_accessibility`); err != nil {
		t.Fatal(err)
	}

	done, err := migrations.ApplyTo(ctx, conn, 0)
	if err != nil || len(done) == 0 || done[0] != 33 {
		t.Fatalf("applied %v, %v; want 033 on", done, err)
	}
	var pages, marked int64
	var analysed bool
	if err := conn.QueryRow(ctx, `SELECT pg_relation_size('event_accessibility') / current_setting('block_size')::bigint, c.relallvisible,
			EXISTS (SELECT FROM pg_stats s WHERE s.tablename = 'event_accessibility' AND s.attname = 'text_sig')
		FROM pg_class c WHERE c.oid = 'event_accessibility'::regclass`).Scan(&pages, &marked, &analysed); err != nil {
		t.Fatal(err)
	}
	if pages < 64 {
		t.Fatalf("event_accessibility holds %d pages: too few for the test", pages)
	}
	if marked < pages*9/10 || !analysed {
		t.Errorf("after migrating, %d of event_accessibility's %d pages marked all-visible, text_sig analysed %v; want nine in ten and analysed", marked, pages, analysed)
	}
}
