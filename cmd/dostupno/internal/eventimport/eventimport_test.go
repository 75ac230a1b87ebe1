package eventimport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/eventimport"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/instance"
	"github.com/dostupno/dostupno/shared/natstest"
	"github.com/dostupno/dostupno/shared/pgtest"
	"github.com/dostupno/dostupno/shared/writelog"
)

var codes = []string{"step_free_entrance", "elevator", "wheelchair_seating", "sign_language", "subtitles", "hearing_loop", "braille", "quiet_space"}

var cities = []string{"moscow", "saint-petersburg", "kazan", "novosibirsk", "yekaterinburg", "samara"}

var categories = []string{"concert", "theatre", "exhibition", "show", "lecture", "kids"}

// line is the NDJSON of a plausible event number i (deterministic).
func line(i int) string {
	var acc []string
	for j, c := range codes {
		switch (i*7 + j*3) % 5 {
		case 0, 1:
			acc = append(acc, fmt.Sprintf("%q:%q", c, "yes"))
		case 2:
			acc = append(acc, fmt.Sprintf("%q:%q", c, "no"))
		}
	}
	return fmt.Sprintf(`{"id":%d,"title":"Событие %d: вечер музыки","description":"Программа вечера номер %d с антрактом и буфетом.",`+
		`"category":%q,"city":%q,"venue":{"id":%d,"name":"Площадка %d","address":"ул. Тестовая, %d","lat":55.75,"lon":37.61},`+
		`"starts_at":"2027-%02d-%02dT19:00:00+03:00","timezone":"Europe/Moscow","age_rating":"12+",`+
		`"price":{"min":500,"max":3000,"currency":"RUB"},"accessibility":{%s}}`,
		i, i, i, categories[i%len(categories)], cities[i%len(cities)], i%5000+1, i%5000+1, i%300+1, i%12+1, i%28+1, strings.Join(acc, ","))
}

// Generate writes n events as NDJSON to w.
func Generate(w io.Writer, n int) error {
	for i := 1; i <= n; i++ {
		if _, err := io.WriteString(w, line(i)+"\n"); err != nil {
			return err
		}
	}
	return nil
}

type env struct {
	w    *writelog.Writer
	pool *pgxpool.Pool
}

func newEnv(t testing.TB) *env {
	t.Helper()
	n := natstest.New(t)
	return newEnvWith(t, config.Config{NatsURL: n.URL, Namespace: n.Namespace}, quiet())
}

// newEnvWith opens the writer of a fresh copy as the CLI does (instance.Deps.Writer), on the
// NATS of cfg.
func newEnvWith(t testing.TB, cfg config.Config, log *slog.Logger) *env {
	t.Helper()
	cfg.DatabaseURL, cfg.Replica = pgtest.NewURL(t), writelog.PrimaryName
	d := instance.New("import", cfg, log)
	t.Cleanup(d.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, err := d.Writer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := d.Pool()
	if err != nil {
		t.Fatal(err)
	}
	return &env{w: w, pool: pool}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (e *env) count(t testing.TB, q string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// outcomes are the outcomes of every command the copy applied, in stream order.
func (e *env) outcomes(t testing.TB) []writelog.Outcome {
	t.Helper()
	ctx := context.Background()
	applied, err := writelog.AppliedSeq(ctx, e.pool)
	if err != nil {
		t.Fatal(err)
	}
	seqs := make([]uint64, applied)
	for i := range seqs {
		seqs[i] = uint64(i + 1)
	}
	outs, err := e.w.Replica.Outcomes(ctx, seqs)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}

func TestRun(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t)
		var in bytes.Buffer
		if err := Generate(&in, 1200); err != nil {
			t.Fatal(err)
		}
		in.WriteString("\n\n") // blank lines are skipped
		sum, err := eventimport.Run(context.Background(), &in, e.w, eventimport.Options{Batch: 500, Log: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Published != 1200 || sum.Applied != 1200 || sum.Commands != 3 || sum.Bad != 0 || sum.Duplicates != 0 || sum.Rejected != 0 {
			t.Errorf("got %+v, want 1200 published and applied in 3 commands", sum)
		}
		if n := e.count(t, `SELECT count(*) FROM events`); n != 1200 {
			t.Errorf("got %d events, want 1200", n)
		}
		if n := e.count(t, `SELECT count(*) FROM event_accessibility WHERE cardinality(constraint_ids) > 0`); n == 0 {
			t.Errorf("got no event with a yes answer, want some")
		}
	})

	t.Run("RepeatedImportChangesNothing", func(t *testing.T) {
		e := newEnv(t)
		var in bytes.Buffer
		if err := Generate(&in, 600); err != nil {
			t.Fatal(err)
		}
		data := in.Bytes()
		if _, err := eventimport.Run(context.Background(), bytes.NewReader(data), e.w, eventimport.Options{Batch: 200, Log: quiet()}); err != nil {
			t.Fatal(err)
		}
		before, err := e.w.Log.LastSeq(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		sum, err := eventimport.Run(context.Background(), bytes.NewReader(data), e.w, eventimport.Options{Batch: 200, Log: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		after, err := e.w.Log.LastSeq(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if sum.Duplicates != 600 || after != before {
			t.Errorf("got %d duplicates, last sequence %d -> %d; want 600 and unchanged", sum.Duplicates, before, after)
		}
		if n := len(e.outcomes(t)); n != 3 {
			t.Errorf("got %d outcomes, want 3", n)
		}
	})

	t.Run("BadLinesReportedAndSkipped", func(t *testing.T) {
		e := newEnv(t)
		in := strings.Join([]string{
			line(1),
			`{"id":2,"title":"x"`,
			strings.Replace(line(3), `"city":"novosibirsk"`, `"city":"Moscow!"`, 1),
			strings.Replace(line(4), `"timezone":"Europe/Moscow"`, `"timezone":"Mars/Base"`, 1),
			strings.Replace(line(5), `"id":5`, `"id":5,"colour":"red"`, 1),
			`{"id":6,"title":"` + strings.Repeat("a", eventimport.MaxLine) + `"}`,
			line(7),
		}, "\n")
		var bad []eventimport.LineError
		sum, err := eventimport.Run(context.Background(), strings.NewReader(in), e.w,
			eventimport.Options{Log: quiet(), BadLine: func(le eventimport.LineError) { bad = append(bad, le) }})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			line  int
			field string
		}{{2, ""}, {3, "city"}, {4, "timezone"}, {5, "colour"}, {6, ""}}
		if len(bad) != len(want) {
			t.Fatalf("got bad lines %v, want %d", bad, len(want))
		}
		for i, w := range want {
			if bad[i].Line != w.line || bad[i].Field != w.field {
				t.Errorf("got %q, want line %d field %q", bad[i].Error(), w.line, w.field)
			}
		}
		if sum.Bad != 5 || sum.Applied != 2 {
			t.Errorf("got bad %d applied %d, want 5 and 2", sum.Bad, sum.Applied)
		}
	})

	// Lines give facts with provenance and venue facts; a fact refused names its code.
	t.Run("FactsWithProvenanceAndVenueFacts", func(t *testing.T) {
		e := newEnv(t)
		withVenue := strings.Replace(line(1), `"lat":55.75,"lon":37.61}`,
			`"lat":55.75,"lon":37.61,"accessibility":{"elevator":{"value":"not_applicable","source":"venue_survey","verified_at":"2026-05-01"}}}`, 1)
		withSource := strings.Replace(line(2), `"accessibility":{`, `"accessibility":{"audio_description":{"value":"yes","source":"organiser"},`, 1)
		badSource := strings.Replace(line(3), `"accessibility":{`, `"accessibility":{"audio_description":{"value":"yes","source":"The Organiser"},`, 1)
		var bad []eventimport.LineError
		sum, err := eventimport.Run(context.Background(), strings.NewReader(withVenue+"\n"+withSource+"\n"+badSource+"\n"), e.w,
			eventimport.Options{Log: quiet(), BadLine: func(le eventimport.LineError) { bad = append(bad, le) }})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Applied != 2 || len(bad) != 1 || bad[0].Line != 3 || bad[0].Field != "accessibility.audio_description.source" {
			t.Fatalf("got %+v and bad lines %v, want 2 applied and line 3 refused on its source", sum, bad)
		}
		if n := e.count(t, `SELECT count(*) FROM event_accessibility WHERE event_id = 2 AND sheet->'audio_description'->>'source' = 'organiser'`); n != 1 {
			t.Errorf("got %d events with the organiser's audio description, want 1", n)
		}
		if n := e.count(t, `SELECT count(*) FROM venue_accessibility WHERE sheet->'elevator'->>'value' = 'not_applicable'`); n != 1 {
			t.Errorf("got %d venues with a lift not applicable, want 1", n)
		}
	})

	t.Run("StrictStopsAtFirstBadLine", func(t *testing.T) {
		e := newEnv(t)
		in := line(1) + "\n" + `{"id":"two"}` + "\n" + line(3) + "\n"
		_, err := eventimport.Run(context.Background(), strings.NewReader(in), e.w, eventimport.Options{Strict: true, Log: quiet()})
		var le eventimport.LineError
		if !errors.As(err, &le) || le.Line != 2 || le.Field != "id" {
			t.Fatalf("got %v, want line 2: id", err)
		}
		if n := e.count(t, `SELECT count(*) FROM events`); n != 0 {
			t.Errorf("got %d events, want 0 (nothing was sent before the bad line's batch)", n)
		}
	})
}
