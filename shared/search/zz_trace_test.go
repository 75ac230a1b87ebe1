package search_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/search"
)

type zzTracer struct{ lines *[]string; t0 *time.Time }

func (z zzTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	*z.t0 = time.Now()
	return ctx
}
func (z zzTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	*z.lines = append(*z.lines, fmt.Sprintf("%7.3f ms %s", float64(time.Since(*z.t0).Microseconds())/1000, d.CommandTag.String()))
}

func TestZZTrace(t *testing.T) {
	qs := os.Getenv("ZZQ")
	if qs == "" {
		t.Skip()
	}
	ctx := context.Background()
	cfg, _ := pgxpool.ParseConfig("postgres://postgres@127.0.0.1:5432/dostupno_bench?sslmode=disable&pool_max_conns=1")
	var lines []string
	var t0 time.Time
	cfg.ConnConfig.Tracer = zzTracer{&lines, &t0}
	rp := cfg.ConnConfig.RuntimeParams
	rp["plan_cache_mode"] = "force_custom_plan"
	rp["jit"] = "off"
	rp["max_parallel_workers_per_gather"] = "0"
	rp["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	vocab, err := catalog.LoadVocabulary(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	var first time.Time
	pool.QueryRow(ctx, `SELECT min(starts_at) FROM events`).Scan(&first)
	var steps []string
	search.SetStepHook(t, func(s string) { steps = append(steps, s) })
	for _, raw := range strings.Split(qs, "|") {
		for i := range 4 {
			lines, steps = lines[:0], steps[:0]
			q, err := search.ParseQuery(raw, vocab, first)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			p, err := search.Search(ctx, pool, vocab, &q, func(s string) string { return s })
			if err != nil {
				t.Fatal(err)
			}
			if i == 3 {
				fmt.Printf("%-40s %6.2f ms items %d steps %v\n", raw, float64(time.Since(start).Microseconds())/1000, len(p.Items), steps)
				for _, l := range lines {
					fmt.Println("     ", l)
				}
			}
		}
	}
}
