package searchbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/httpjson"
	"github.com/dostupno/dostupno/shared/search"
)

// discard logs nothing: the hackathon handler's errors end the run through its status.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// Question is one question of the mix: its shape and its query string.
type Question struct {
	Shape string
	Query string
	Text  bool // asked of ours alone
}

// Lenient says whether q asks for unknown answers too (match=lenient).
func (q Question) Lenient() bool { return strings.Contains(q.Query, "match=lenient") }

// shapes are the kinds of question of the fixed mix, each with its share of the mix. A text
// shape (q) is asked of ours alone: the hackathon's schema has no text search.
var shapes = []struct {
	name   string
	weight int
	make   func(r *rand.Rand, start time.Time) url.Values
	text   bool
}{
	{"common constraint", 3, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"constraints": {pick(r, "step_free_entrance", "elevator", "accessible_toilet", "wheelchair_seating")}}
	}, false},
	{"common constraints + profile", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"profile": {pick(r, "wheelchair", "mobility")}}
	}, false},
	{"rare constraint", 3, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"constraints": {pick(r, "braille", "hearing_loop", "tactile_exhibits", "relaxed_performance", "sign_language")}}
	}, false},
	{"rare constraints + common", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"constraints": {pick(r, "braille", "hearing_loop", "sign_language", "audio_description") + ",step_free_entrance"}}
	}, false},
	{"rare constraint + city", 3, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"constraints": {pick(r, "braille", "hearing_loop", "sign_language", "audio_description")}, "city": {city(r)}}
	}, false},
	{"city + 7-day window", 2, func(r *rand.Rand, start time.Time) url.Values {
		from := start.AddDate(0, 0, r.IntN(330))
		return url.Values{"city": {city(r)}, "from": {from.Format(time.RFC3339)}, "to": {from.AddDate(0, 0, 7).Format(time.RFC3339)}}
	}, false},
	{"city + 30-day window + constraint", 2, func(r *rand.Rand, start time.Time) url.Values {
		from := start.AddDate(0, 0, r.IntN(300))
		return url.Values{"city": {city(r)}, "constraints": {pick(r, "step_free_entrance", "wheelchair_seating", "sign_language")},
			"from": {from.Format(time.RFC3339)}, "to": {from.AddDate(0, 0, 30).Format(time.RFC3339)}}
	}, false},
	{"category + constraint", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"category": {pick(r, "theatre", "concert", "exhibition", "cinema")},
			"constraints": {pick(r, "wheelchair_seating", "audio_description", "subtitles", "tactile_exhibits")}}
	}, false},
	// Lenient questions accept unknown as well as yes: most events answer unknown to most
	// codes, so their answers are large, and no and not_applicable rule events out.
	{"lenient common constraint", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"match": {"lenient"}, "constraints": {pick(r, "step_free_entrance", "elevator", "accessible_toilet", "wheelchair_seating")}}
	}, false},
	{"lenient profile + city", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"match": {"lenient"}, "profile": {pick(r, "wheelchair", "mobility", "vision", "hearing", "intellectual")}, "city": {city(r)}}
	}, false},
	{"lenient rare constraints + category", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"match": {"lenient"}, "category": {pick(r, "theatre", "concert", "exhibition", "cinema", "kids")},
			"constraints": {pick(r, "sign_language,subtitles", "audio_description,tactile_exhibits", "hearing_loop,quiet_space", "braille,tactile_guidance")}}
	}, false},
	{"lenient city + 30 days + constraints", 1, func(r *rand.Rand, start time.Time) url.Values {
		from := start.AddDate(0, 0, r.IntN(300))
		return url.Values{"match": {"lenient"}, "city": {city(r)}, "constraints": {pick(r, "step_free_entrance,accessible_toilet", "elevator,accessible_parking", "relaxed_performance,easy_read")},
			"from": {from.Format(time.RFC3339)}, "to": {from.AddDate(0, 0, 30).Format(time.RFC3339)}}
	}, false},
	// Several rare codes with a city and a category: each code alone is in 1-6% of the events,
	// together in a few per mille or none, and the city and category cut them further.
	{"two rare constraints + city + category", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"constraints": {pick(r, "braille,hearing_loop", "sign_language,subtitles", "audio_description,tactile_exhibits",
			"relaxed_performance,quiet_space", "easy_read,tactile_guidance")},
			"city": {city(r)}, "category": {pick(r, "theatre", "concert", "exhibition", "cinema", "kids", "lecture")}}
	}, false},
	{"three rare constraints + city + category", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"constraints": {pick(r, "braille,hearing_loop,sign_language", "sign_language,subtitles,hearing_loop",
			"audio_description,tactile_exhibits,braille", "relaxed_performance,quiet_space,easy_read", "easy_read,tactile_guidance,audio_description")},
			"city": {city(r)}, "category": {pick(r, "theatre", "concert", "exhibition", "cinema", "kids", "lecture")}}
	}, false},
	// Free text (ours alone). Common words are in a third to a half of the events; the ANDs
	// join a title word, a venue word and a description word whose intersection is a few
	// events in ten thousand, or none; numbers are in a title or nowhere; absent words are
	// in no event.
	{"text: common word", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"q": {pick(r, "программа", "вечер", "выставка", "билеты", "антракт", "зрителей", "концерт")}}
	}, true},
	{"text: three common words, sparse AND", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"q": {pick(r, "гамлет космос антракт", "кармен маяк сопровождающих", "щелкунчик юность новостями",
			"выставка победа вступительное", "лекция эрмитаж ценителей", "шоу аврора возраста", "гамлет щелкунчик вечер")}}
	}, true},
	{"text: number", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"q": {pick(r, "80", "20", "1812", "2", "100", "8", "xx")}}
	}, true},
	{"text: absent word", 2, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"q": {pick(r, "квазар", "зеппелин", "абракадабра", "ultraviolet", "синхрофазотрон", "qwertyuiop")}}
	}, true},
	{"text + city", 1, func(r *rand.Rand, _ time.Time) url.Values {
		return url.Values{"q": {pick(r, "вечер", "гамлет", "80", "квазар", "кармен маяк")}, "city": {city(r)}}
	}, true},
}

func pick(r *rand.Rand, xs ...string) string { return xs[r.IntN(len(xs))] }

func city(r *rand.Rand) string { return seed.Cities[r.IntN(len(seed.Cities))].Slug }

// Mix is the fixed mix of n questions for a catalog starting at start (deterministic).
func Mix(n int, start time.Time) []Question {
	r := rand.New(rand.NewPCG(42, 4242))
	total := 0
	for _, s := range shapes {
		total += s.weight
	}
	out := make([]Question, 0, n)
	for i := 0; i < n; i++ {
		x := r.IntN(total)
		for _, s := range shapes {
			if x < s.weight {
				out = append(out, Question{Shape: s.name, Query: s.make(r, start).Encode(), Text: s.text})
				break
			}
			x -= s.weight
		}
	}
	return out
}

// Only keeps the questions of mix whose shape's name contains s (all when s is empty; with
// a leading "!", those whose name does not contain the rest).
func Only(mix []Question, s string) []Question {
	if s == "" {
		return mix
	}
	return slices.DeleteFunc(mix, func(q Question) bool { return !selected(q.Shape, s) })
}

func selected(shape, s string) bool {
	rest, not := strings.CutPrefix(s, "!")
	return strings.Contains(shape, rest) != not
}

// Shapes are the names of the mix's shapes, in the order the reports list them.
func Shapes() []string {
	names := make([]string, len(shapes))
	for i, sh := range shapes {
		names[i] = sh.name
	}
	return names
}

// TargetOf is the p99 target of the mix's shape named shape: TextTarget for free text,
// ShapeTarget for the others.
func TargetOf(shape string) time.Duration {
	for _, sh := range shapes {
		if sh.name == shape && sh.text {
			return TextTarget
		}
	}
	return ShapeTarget
}

// CheckShapes refuses an Only selection s that keeps no shape of the mix, naming the shapes,
// so that a run says so before it loads or asks anything.
func CheckShapes(s string) error {
	if s == "" {
		return nil
	}
	names := make([]string, 0, len(shapes))
	for _, sh := range shapes {
		if selected(sh.name, s) {
			return nil
		}
		names = append(names, strconv.Quote(sh.name))
	}
	return fmt.Errorf("--shapes %q selects no shape; the shapes are %s", s, strings.Join(names, ", "))
}

// HackathonHandler answers the same questions from the hackathon's schema: the same parser,
// then a join of events and event_constraints filtered by "constraint_ids @> $1" (a lenient
// question: "possible_ids @> $1") and ordered by starts_at, id.
func HackathonHandler(pool *pgxpool.Pool, vocab *catalog.Vocabulary) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := search.ParseQuery(r.URL.RawQuery, vocab, time.Now())
		if err != nil {
			httpjson.Error(w, r, discard, err)
			return
		}
		ids := q.IDs
		if ids == nil {
			ids = []int16{}
		}
		args := []any{ids, q.From}
		set := "constraint_ids"
		if q.Lenient {
			set = "possible_ids"
		}
		sql := `SELECT e.id, e.title, e.category, e.city, e.venue_id, e.starts_at, e.ends_at, e.timezone, ec.constraint_ids
			FROM hackathon.events e JOIN hackathon.event_constraints ec ON ec.event_id = e.id
			WHERE ec.` + set + ` @> $1 AND e.starts_at >= $2`
		if q.To != nil {
			args = append(args, *q.To)
			sql += ` AND e.starts_at < $` + strconv.Itoa(len(args))
		}
		if q.City != "" {
			args = append(args, q.City)
			sql += ` AND e.city = $` + strconv.Itoa(len(args))
		}
		if len(q.Categories) > 0 {
			args = append(args, q.Categories)
			sql += ` AND e.category = ANY($` + strconv.Itoa(len(args)) + `)`
		}
		args = append(args, q.Limit)
		sql += ` ORDER BY e.starts_at, e.id LIMIT $` + strconv.Itoa(len(args))
		rows, err := pool.Query(r.Context(), sql, args...)
		if err != nil {
			httpjson.Error(w, r, discard, apperr.Wrap(err, "hackathon search"))
			return
		}
		type item struct {
			ID            int64      `json:"id"`
			Title         string     `json:"title"`
			Category      string     `json:"category"`
			City          string     `json:"city"`
			VenueID       int64      `json:"venue_id"`
			StartsAt      time.Time  `json:"starts_at"`
			EndsAt        *time.Time `json:"ends_at"`
			Timezone      string     `json:"timezone"`
			Accessibility []string   `json:"accessibility"`
		}
		items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (item, error) {
			var it item
			var c []int16
			err := row.Scan(&it.ID, &it.Title, &it.Category, &it.City, &it.VenueID, &it.StartsAt, &it.EndsAt, &it.Timezone, &c)
			it.Accessibility = vocab.CodesOf(c)
			return it, err
		})
		if err != nil {
			httpjson.Error(w, r, discard, apperr.Wrap(err, "hackathon search"))
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"items": items})
	})
}

// The targets per shape (issue 18, item 2): every shape's p99 on 1M events within
// ShapeTarget, free text within TextTarget, no question over MaxTarget.
const (
	ShapeTarget = 5 * time.Millisecond
	TextTarget  = 20 * time.Millisecond
	MaxTarget   = 100 * time.Millisecond
)

// Options tune Measure.
type Options struct {
	Questions int       // questions asked of each schema (the mix)
	Warmup    int       // questions asked first and not measured
	Cached    int       // questions asked twice with the cache, the second time measured
	Start     time.Time // first day of the catalog
	Explain   bool      // print EXPLAIN ANALYZE of one question of each shape
	Only      string    // when set, only the shapes whose name contains it
	// SysBlock, when set, is where the machine's disks are listed (DiskReads): each of ours'
	// questions is told with the reads the disks made while it was asked (one at a time, they
	// are its pages the kernel had taken back, or another process's), and Result counts the
	// questions that waited for them.
	SysBlock string
}

// Result holds the figures of one run.
type Result struct {
	Ours, Hackathon Stats
	OursWithoutText Stats               // ours on the questions the hackathon's schema is asked too
	Lenient         [2]Stats            // ours and the hackathon's on the lenient questions
	ByShape         map[string][2]Stats // ours, hackathon
	CachedP50       time.Duration
	Mismatches      int
	Slowest         []Timed // ours, slowest first
	// SlowestOf is each shape's slowest question (ours): a shape that misses its target is
	// reported with it, and with the disks' reads while it was asked, to tell a wait for the
	// disk from one for the CPU.
	SlowestOf map[string]Timed
	// DiskQuestions are ours' questions during which the disks read (Options.SysBlock; -1 not
	// known), and DiskReads the reads in all.
	DiskQuestions, DiskReads int64
}

// Timed is one question and how long ours took.
type Timed struct {
	Query string
	Took  time.Duration
	Reads int64 // the disks' reads while it was asked (Options.SysBlock); -1 not known
}

// Stats are latency percentiles.
type Stats struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// Percentiles are the latency percentiles of d.
func Percentiles(d []time.Duration) Stats {
	if len(d) == 0 {
		return Stats{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[int(math.Ceil(p*float64(len(s))))-1] }
	return Stats{N: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: s[len(s)-1]}
}

// Measure asks the mix of both handlers through real HTTP listeners and reports.
func Measure(ctx context.Context, pool *pgxpool.Pool, ours http.Handler, o Options, out io.Writer) (*Result, error) {
	vocab, err := catalog.LoadVocabulary(ctx, pool)
	if err != nil {
		return nil, err
	}
	oursSrv := Serve(ours)
	defer oursSrv.Close()
	hackSrv := Serve(HackathonHandler(pool, vocab))
	defer hackSrv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

	mix := Only(Mix(o.Questions+o.Warmup, o.Start), o.Only)
	// Both schemas are asked the whole mix in turn (below), minutes apart: a question without
	// "from" (from now, to the minute) would then see events start between the two passes and
	// answer differently. Each such question states the minute the run began instead, the value
	// its default takes, with the same statement and plan.
	began := url.QueryEscape(time.Now().UTC().Truncate(time.Minute).Format(time.RFC3339))
	for i, q := range mix {
		if !strings.Contains(q.Query, "from=") {
			mix[i].Query += "&from=" + began
		}
	}
	if o.Explain {
		if err := explain(ctx, pool, vocab, mix, out); err != nil {
			return nil, err
		}
	}
	// --shapes may leave fewer questions than the warm-up asks for: then all of them warm up
	// and all are measured.
	warm := min(o.Warmup, len(mix))
	fmt.Fprintf(out, "warming up with %d questions of each schema\n", warm)
	for _, q := range mix[:warm] {
		for _, base := range []string{oursSrv.URL, hackSrv.URL} {
			if q.Text && base == hackSrv.URL {
				continue
			}
			if _, _, err := Ask(ctx, client, base, q.Query, true); err != nil {
				return nil, err
			}
		}
	}
	res := &Result{ByShape: map[string][2]Stats{}, SlowestOf: map[string]Timed{}}
	var allOurs, oursWithoutText, allHack []time.Duration
	var lenient [2][]time.Duration
	byShape := map[string][2][]time.Duration{}
	measured := mix[warm:]
	if len(measured) == 0 {
		measured = mix
	}
	// Each schema is asked the whole mix in its own pass, ours first: asked in turns, every
	// question of ours followed a hackathon one, whose scans of up to a second over the whole
	// catalog had just replaced what Postgres and the CPU caches held, and ours' tail measured
	// the hackathon's. The answers are compared once both passes are done.
	fmt.Fprintf(out, "asking %d questions of ours, then the same of the hackathon's schema, through HTTP, Cache-Control: no-cache\n", o.Questions)
	oursIDs := make([][]int64, len(measured))
	for i, q := range measured {
		if i > 0 && i%500 == 0 {
			fmt.Fprintf(out, "  ours %d/%d\n", i, o.Questions)
		}
		readsBefore, _, before := DiskReads(o.SysBlock)
		d, ids, err := Ask(ctx, client, oursSrv.URL, q.Query, true)
		if err != nil {
			return nil, err
		}
		var reads int64
		if after, _, ok := DiskReads(o.SysBlock); ok && before && res.DiskQuestions >= 0 {
			reads = after - readsBefore
			res.DiskReads += reads
			if reads > 0 {
				res.DiskQuestions++
			}
		} else {
			reads, res.DiskQuestions = -1, -1
		}
		oursIDs[i] = ids
		if !q.Text {
			oursWithoutText = append(oursWithoutText, d)
		}
		if q.Lenient() {
			lenient[0] = append(lenient[0], d)
		}
		s := byShape[q.Shape]
		allOurs, s[0] = append(allOurs, d), append(s[0], d)
		byShape[q.Shape] = s
		t := Timed{q.Query, d, reads}
		res.Slowest = append(res.Slowest, t)
		if d > res.SlowestOf[q.Shape].Took {
			res.SlowestOf[q.Shape] = t
		}
	}
	for i, q := range measured {
		if i > 0 && i%500 == 0 {
			fmt.Fprintf(out, "  hackathon %d/%d\n", i, o.Questions)
		}
		if q.Text {
			continue
		}
		d, ids, err := Ask(ctx, client, hackSrv.URL, q.Query, true)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(oursIDs[i], ids) {
			res.Mismatches++
			if res.Mismatches <= 3 {
				fmt.Fprintf(out, "  answers differ for ?%s:\n    ours      %v\n    hackathon %v\n", q.Query, oursIDs[i], ids)
			}
		}
		s := byShape[q.Shape]
		allHack, s[1] = append(allHack, d), append(s[1], d)
		if q.Lenient() {
			lenient[1] = append(lenient[1], d)
		}
		byShape[q.Shape] = s
	}
	res.Ours, res.Hackathon = Percentiles(allOurs), Percentiles(allHack)
	res.OursWithoutText = Percentiles(oursWithoutText)
	res.Lenient = [2]Stats{Percentiles(lenient[0]), Percentiles(lenient[1])}
	slices.SortFunc(res.Slowest, func(a, b Timed) int { return int(b.Took - a.Took) })
	res.Slowest = res.Slowest[:min(5, len(res.Slowest))]
	for k, v := range byShape {
		res.ByShape[k] = [2]Stats{Percentiles(v[0]), Percentiles(v[1])}
	}
	if o.Cached > 0 {
		cachedMix := measured[:min(len(measured), o.Cached)]
		var cached []time.Duration
		for pass := 0; pass < 2; pass++ {
			for _, q := range cachedMix {
				d, _, err := Ask(ctx, client, oursSrv.URL, q.Query, false)
				if err != nil {
					return nil, err
				}
				if pass == 1 {
					cached = append(cached, d)
				}
			}
		}
		res.CachedP50 = Percentiles(cached).P50
	}
	report(out, res)
	return res, nil
}

// AskOnce asks each question of mix once of the search-events handler ours, uncached, one at a
// time, and measures nothing: an answer other than 200 is an error.
func AskOnce(ctx context.Context, ours http.Handler, mix []Question) error {
	for _, q := range mix {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/?"+q.Query, nil)
		req.Header.Set("Cache-Control", "no-cache")
		rec := httptest.NewRecorder()
		ours.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			return fmt.Errorf("?%s: %d %s", q.Query, rec.Code, rec.Body.Bytes())
		}
	}
	return nil
}

// Ask sends one question of the mix to a search-events handler served at base, bypassing its
// cache when noCache, and returns the time to the answer's last byte and the ids in it.
func Ask(ctx context.Context, c *http.Client, base, query string, noCache bool) (time.Duration, []int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/?"+query, nil)
	if err != nil {
		return 0, nil, err
	}
	if noCache {
		req.Header.Set("Cache-Control", "no-cache")
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("?%s: got %d %s", query, resp.StatusCode, body)
	}
	var page struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, nil, fmt.Errorf("?%s: %w", query, err)
	}
	ids := make([]int64, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	return d, ids, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%7s", Millis(d)) }

// Millis is d in milliseconds with two decimals ("12.34").
func Millis(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

// Micros is d in microseconds with two decimals (a page fault, a system call).
func Micros(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Nanoseconds())/1000) }

func report(out io.Writer, r *Result) {
	fmt.Fprintf(out, "\n%-42s %5s | %-29s | %-29s\n", "", "", "ours (ms)", "hackathon (ms)")
	fmt.Fprintf(out, "%-42s %5s | %7s %7s %7s %7s | %7s %7s %7s %7s\n", "shape", "n", "p50", "p90", "p99", "max", "p50", "p90", "p99", "max")
	line := func(name string, a, b Stats) {
		fmt.Fprintf(out, "%-42s %5d | %s %s %s %s |", name, a.N, ms(a.P50), ms(a.P90), ms(a.P99), ms(a.Max))
		if b.N == 0 {
			fmt.Fprintf(out, " %29s\n", "(no text search)")
			return
		}
		fmt.Fprintf(out, " %s %s %s %s\n", ms(b.P50), ms(b.P90), ms(b.P99), ms(b.Max))
	}
	var missed, slowest []string
	for _, s := range shapes {
		v, ok := r.ByShape[s.name]
		if !ok {
			continue
		}
		line(s.name, v[0], v[1])
		if v[0].P99 > TargetOf(s.name) || v[0].Max > MaxTarget {
			missed = append(missed, fmt.Sprintf("%s (p99 %s, max %s ms)", s.name, Millis(v[0].P99), Millis(v[0].Max)))
			if t, ok := r.SlowestOf[s.name]; ok {
				slowest = append(slowest, fmt.Sprintf("  %s, its slowest: %s ms%s  ?%s\n", s.name, Millis(t.Took), readsOf(t, r), t.Query))
			}
		}
	}
	fmt.Fprintln(out, strings.Repeat("-", 114))
	line("all (hackathon: without text)", r.Ours, r.Hackathon)
	if r.OursWithoutText.N > 0 && r.OursWithoutText.N < r.Ours.N {
		line("all without text", r.OursWithoutText, r.Hackathon)
	}
	if r.Lenient[0].N > 0 {
		line("lenient questions", r.Lenient[0], r.Lenient[1])
	}
	if len(missed) == 0 {
		fmt.Fprintf(out, "targets met: every shape p99 <= %v (text <= %v), every question <= %v\n", ShapeTarget, TextTarget, MaxTarget)
	} else {
		fmt.Fprintf(out, "TARGETS MISSED (p99 <= %v, text <= %v, max <= %v): %s\n", ShapeTarget, TextTarget, MaxTarget, strings.Join(missed, "; "))
		fmt.Fprint(out, strings.Join(slowest, ""))
	}
	if r.OursWithoutText.P99 > 0 {
		fmt.Fprintf(out, "\np99 ratio hackathon/ours (the same questions, without text): %.1fx   p50 ratio: %.1fx\n",
			float64(r.Hackathon.P99)/float64(r.OursWithoutText.P99), float64(r.Hackathon.P50)/float64(r.OursWithoutText.P50))
	}
	if r.CachedP50 > 0 {
		fmt.Fprintf(out, "cached answer p50 (ours, X-Cache: hit): %.3f ms\n", float64(r.CachedP50.Microseconds())/1000)
	}
	fmt.Fprintf(out, "answers that differ between the schemas: %d\n", r.Mismatches)
	if r.DiskQuestions < 0 {
		fmt.Fprintln(out, "slowest questions (ours):")
	} else {
		fmt.Fprintf(out, "ours' questions during which the disks read: %d of %d, %d reads in all\n", r.DiskQuestions, r.Ours.N, r.DiskReads)
		fmt.Fprintln(out, "slowest questions (ours), with the disks' reads while each was asked:")
	}
	for _, t := range r.Slowest {
		fmt.Fprintf(out, "  %s ms%s  ?%s\n", ms(t.Took), readsOf(t, r), t.Query)
	}
}

// readsOf is " N reads" for question t of run r, or nothing where the disks' reads are not known.
func readsOf(t Timed, r *Result) string {
	if r.DiskQuestions < 0 {
		return ""
	}
	return fmt.Sprintf(" %4d reads", t.Reads)
}

// explain prints the plan of one question of each shape on our schema.
func explain(ctx context.Context, pool *pgxpool.Pool, vocab *catalog.Vocabulary, mix []Question, out io.Writer) error {
	seen := map[string]bool{}
	for _, q := range mix {
		if seen[q.Shape] {
			continue
		}
		seen[q.Shape] = true
		pq, err := search.ParseQuery(q.Query, vocab, time.Now())
		if err != nil {
			return err
		}
		sql, args := search.PageSQL(&pq)
		rows, err := pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+sql, args...)
		if err != nil {
			return err
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n== %s: ?%s\n%s\n", q.Shape, q.Query, strings.Join(lines, "\n"))
	}
	return nil
}
