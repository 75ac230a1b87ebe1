package searchbench_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/searchbench"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/pgtest"
)

var start = time.Now().UTC().Truncate(24 * time.Hour)

func dump(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT concat_ws('|', e.id, e.title, e.description, e.category, e.city, e.venue_id, e.starts_at, e.ends_at,
			e.timezone, e.age_rating, e.price_min, e.price_max, e.currency, v.name, v.address, v.lat, v.lon, v.city,
			a.sheet, a.constraint_ids, a.excluded_ids, a.starts_at, a.city, a.category, a.document, f.sheet)
		FROM events e JOIN venues v ON v.id = e.venue_id JOIN event_accessibility a ON a.event_id = e.id
		LEFT JOIN venue_accessibility f ON f.venue_id = e.venue_id ORDER BY e.id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLoadWritesWhatUpsertWrites: the fast loader writes the rows the write path writes, text
// vectors, venue facts and effective sets included.
func TestLoadWritesWhatUpsertWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := seed.Options{Events: 300, Seed: 3, Start: start}
	fast := pgtest.New(t)
	if err := searchbench.Load(ctx, fast, o, io.Discard); err != nil {
		t.Fatal(err)
	}
	slow := pgtest.New(t)
	vocab, err := catalog.LoadVocabulary(ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	events, err := seed.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range events {
		events[i].Normalize()
	}
	if _, err := catalog.UpsertEvents(ctx, slow, vocab, 1, start, events); err != nil {
		t.Fatal(err)
	}
	// The copy is left as an import leaves it: every table written analysed and vacuumed.
	for _, table := range searchbench.LoadedTables(vocab) {
		var analysed, vacuumed bool
		if err := fast.QueryRow(ctx, `SELECT last_analyze IS NOT NULL, last_vacuum IS NOT NULL
			FROM pg_stat_user_tables WHERE relid = $1::regclass`, table).Scan(&analysed, &vacuumed); err != nil {
			t.Fatal(err)
		}
		if !analysed || !vacuumed {
			t.Errorf("%s: analysed %v, vacuumed %v after Load", table, analysed, vacuumed)
		}
	}
	if got := searchbench.LoadedTables(vocab); !slices.Contains(got, "venue_accessibility") || !slices.Contains(got, "event_accessibility") {
		t.Errorf("Load maintains %v, want the venues' facts and the events' index among them", got)
	}
	a, b := dump(t, fast), dump(t, slow)
	if len(a) != 300 || len(b) != 300 {
		t.Fatalf("got %d and %d rows, want 300 each", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d differs:\nload   %s\nupsert %s", i, a[i], b[i])
		}
	}
}

// TestOursAnswersAsTheHackathonDoes: on a seeded catalog, every question of the mix gets the
// same events in the same order from search-events as from the hackathon's naive query. Each of
// ours' questions is told with the disks' reads while it was asked: here a disk of the test's
// reads twice while a text question is answered, and never otherwise.
func TestOursAnswersAsTheHackathonDoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := apitest.New(t, searchevents.Name, searchevents.New,
		apitest.WithConfig(func(c *config.Config) { c.CacheEntries, c.CacheTTL = 100, time.Minute }))
	pool := e.Pool
	if err := searchbench.Load(ctx, pool, seed.Options{Events: 5000, Seed: 9, Start: start}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := searchbench.Hackathon(ctx, pool); err != nil {
		t.Fatal(err)
	}
	sysBlock := t.TempDir()
	if err := os.Mkdir(sysBlock+"/vda", 0o755); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		reads int
	)
	stat := func() {
		if err := os.WriteFile(sysBlock+"/vda/stat", fmt.Appendf(nil, "%d 0 %d 0 0 0 0 0 0 0 0\n", reads, 8*reads), 0o644); err != nil {
			t.Error(err)
		}
	}
	stat()
	ours := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("q") {
			mu.Lock()
			reads += 2
			stat()
			mu.Unlock()
		}
		e.Server.Config.Handler.ServeHTTP(w, r)
	})
	var out strings.Builder
	res, err := searchbench.Measure(ctx, pool, ours, searchbench.Options{Questions: 150, Start: start, SysBlock: sysBlock}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if text := int64(res.Ours.N - res.OursWithoutText.N); text == 0 || res.DiskQuestions != text || res.DiskReads != 2*text {
		t.Errorf("got %d questions that read the disk, %d reads; want the %d text questions, twice each", res.DiskQuestions, res.DiskReads, text)
	}
	for name, st := range res.ByShape {
		if got := res.SlowestOf[name]; got.Took != st[0].Max || got.Query == "" {
			t.Errorf("shape %s: its slowest question took %v (?%s), want its max %v", name, got.Took, got.Query, st[0].Max)
		}
	}
	for _, s := range res.Slowest {
		if want := map[bool]int64{true: 2, false: 0}[strings.Contains(s.Query, "q=")]; s.Reads != want {
			t.Errorf("slowest ?%s: got %d reads, want %d", s.Query, s.Reads, want)
		}
	}
	if want := fmt.Sprintf("during which the disks read: %d of 150", res.DiskQuestions); !strings.Contains(out.String(), want) {
		t.Errorf("the report lacks %q:\n%s", want, out.String())
	}
	if res.Mismatches != 0 || res.Ours.N != 150 {
		t.Fatalf("got %d of %d answers differing, want 0 of 150", res.Mismatches, res.Ours.N)
	}
	if res.Lenient[0].N == 0 || res.Lenient[0].N != res.Lenient[1].N {
		t.Fatalf("got %d and %d lenient questions timed (ours, hackathon), want the same, more than 0", res.Lenient[0].N, res.Lenient[1].N)
	}
	// The ratio compares the same questions: ours without text, as the hackathon's schema.
	if res.OursWithoutText.N != res.Hackathon.N || res.Hackathon.N == 0 || res.Hackathon.N == res.Ours.N {
		t.Fatalf("got ours without text %d, hackathon %d, ours %d; want the first two equal and fewer than ours",
			res.OursWithoutText.N, res.Hackathon.N, res.Ours.N)
	}
}
