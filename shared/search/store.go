package search

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// VenueRef is the venue of a summary.
type VenueRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Summary is one item of a search answer (Summary in shared/apidoc/openapi.yaml): its
// event's details (SummaryHead), then what the page decides.
type Summary struct {
	SummaryHead
	Accessibility []string `json:"accessibility"`
	CoverURL      *string  `json:"cover_url"`
	// Unknown, in a lenient answer alone, are the required codes whose answer for the event
	// is still unknown (the others are yes).
	Unknown *[]string `json:"unknown,omitempty"`
	// Availability is the event's live seat count (null when the ticketing side never
	// reported one).
	Availability *Availability `json:"availability"`
	// head, in a summary of a kept detail, is its SummaryHead's encoding (encodeHead), which
	// encodePage copies.
	head []byte
}

// SummaryHead are the fields of a Summary its event's details decide, the first of its JSON
// object.
type SummaryHead struct {
	ID       int64      `json:"id"`
	Title    string     `json:"title"`
	Category string     `json:"category"`
	City     string     `json:"city"`
	Venue    VenueRef   `json:"venue"`
	StartsAt time.Time  `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"`
	Timezone string     `json:"timezone"`
}

// inUTC sets h's times in UTC, as an answer gives them; an end already in UTC is left as it
// is (a new one is not allocated).
func (h *SummaryHead) inUTC() {
	h.StartsAt = h.StartsAt.UTC()
	if h.EndsAt != nil && h.EndsAt.Location() != time.UTC {
		t := h.EndsAt.UTC()
		h.EndsAt = &t
	}
}

// Availability is an event's free wheelchair spaces and companion seats as the ticketing
// system counted them at AsOf (Availability in shared/apidoc/openapi.yaml).
type Availability struct {
	WheelchairSpaces int       `json:"wheelchair_spaces"`
	CompanionSeats   int       `json:"companion_seats"`
	AsOf             time.Time `json:"as_of"`
}

// availability is the Availability of nullable columns (nil when the event has no count).
func availability(ws, cs pgtype.Int4, asOf pgtype.Timestamptz) *Availability {
	if !ws.Valid || !cs.Valid || !asOf.Valid {
		return nil
	}
	return &Availability{WheelchairSpaces: int(ws.Int32), CompanionSeats: int(cs.Int32), AsOf: asOf.Time.UTC()}
}

// Page is a search answer (SearchPage in shared/apidoc/openapi.yaml).
type Page struct {
	Items              []Summary `json:"items"`
	NextCursor         *string   `json:"next_cursor"`
	AppliedConstraints []string  `json:"applied_constraints"`
}

// TextBounds are the bounds of a text search's steps; see Search.
type TextBounds struct {
	// Window: the rows, in answer order, a text search first reads and filters by its text.
	// 500 rows hold a page of any word in more than ~5% of the events they pass.
	Window int
	// Cap: at most this many matches are read from the text index unordered; fewer are all
	// of them, sorted for the page.
	Cap int
	// Walk: with more matches than Cap (over 0.2% of 1M events), a page is expected within
	// 20 * 1M / Cap = 10,000 rows of answer order; this many are read before giving up on the
	// walk.
	Walk int
}

// stepHook, when set (a test's SetStepHook), learns each step readPage reads.
var stepHook atomic.Pointer[func(plan)]

// textBounds are the bounds in use: a test makes them small enough to reach every step with a
// few events (SetTextBounds).
var textBounds atomic.Pointer[TextBounds]

func init() { textBounds.Store(&TextBounds{Window: 500, Cap: 2000, Walk: 50000}) }

type plan int

const (
	walk           plan = iota // read the index in answer order and stop after the page
	window                     // text: filter the first textBounds.Window rows in answer order
	capped                     // text: at most textBounds.Cap matches of the text index, then sorted
	long                       // text, seats: filter the first textBounds.Walk rows in answer order
	edge                       // text, seats: the start of the last row of the window (the filters alone)
	sparse                     // text: all matches of the text index, then sorted
	seatWindow                 // seats: filter the first textBounds.Window rows in answer order
	seatCounts                 // seats: the events whose counts pass, then sorted
	textSeatWindow             // text and seats: window, every match of the text with its seats passing or not
	span                       // text and seats: edge, and the start of the filters' last row
	week                       // text: capped, within a slice of whole weeks, read through the week keys (searchWeeks)
)

// PageSQL builds the query that selects one page's rows as Search first runs it: the keyset
// walk over event_accessibility (limit+1 rows, to know whether a next page exists) answering
// each row's event_id, starts_at, constraint_ids, city and capped (see plan capped). The page's
// details (title, venue, cover photo...) follow in the same rows of a walk in answer order
// (withDetails), else are read afterwards by their cities, starts and ids (detailsSQL). Every value of the
// question is a bind parameter except the constraint ids, which are written as one literal
// "constraint_ids @> '{k}'" each: k is a small integer of the fixed vocabulary (never text
// from the request), and only a literal lets the planner match the partial index of that code
// (migrations 006 and 012); and a walk's limit, an integer of 1 to MaxLimit+1 (see pageSQL).
//
// A filter on event_accessibility's rows (or on a table joined to them by event_id) belongs
// in where, below; a column the answer shows belongs in detailsSQL.
func PageSQL(q *Query) (string, []any) {
	switch {
	case q.Text != "" && q.Seats():
		return statement(q, textSeatWindow)
	case q.Text != "":
		return statement(q, window)
	case q.Seats():
		return statement(q, seatWindow)
	}
	return statement(q, walk)
}

// statement is the statement readPage runs for plan how: pageSQL, with its rows' details when
// it walks the answer order for a page (withDetails) unless the question is lean (keepLean),
// and with the details' generation when the instance keeps them (withGeneration).
func statement(q *Query, how plan) (string, []any) {
	sql, args := pageSQL(q, how)
	switch {
	case withRowDetails(q, how):
		sql = withDetails(sql)
	case withRowSeats(q, how):
		sql = withSeats(sql)
	}
	if q.keep != keepNone {
		sql = withGeneration(sql)
	}
	return sql, args
}

func pageSQL(q *Query, how plan) (string, []any) {
	b := textBounds.Load()
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	from := arg(q.From)
	where = append(where, "a.starts_at >= "+from)
	if q.To != nil {
		where = append(where, "a.starts_at < "+arg(*q.To))
	}
	city := "NULL"
	if q.City != "" {
		// A text search's capped and sparse steps read the text's matches in the city from
		// the text index, which holds the city (migration 022).
		city = arg(q.City)
		where = append(where, "a.city = "+city)
	}
	switch len(q.Categories) {
	case 0:
	case 1:
		where = append(where, "a.category = "+arg(q.Categories[0]))
	default:
		where = append(where, "a.category = ANY("+arg(q.Categories)+"::text[])")
	}
	switch {
	case len(q.IDs) > 0 && q.Lenient:
		where = append(where, "NOT a.excluded_ids && '"+catalog.IDsLiteral(q.IDs)+"'")
	default:
		for _, id := range q.IDs {
			where = append(where, "a.constraint_ids @> '{"+strconv.Itoa(int(id))+"}'")
		}
	}
	// seats is the filter on the seat counts of the rows of t: a probe of the availability row
	// of each candidate (its primary key, at most one row; none is NULL, false). As a scalar
	// subquery, not EXISTS: the planner turned EXISTS into a semi join, and for the text
	// index's matches (capped, sparse) hashed the whole of event_availability (parallel
	// workers, 7-10 ms even for no match, on 1M events and 300k counts); a subquery stays a
	// probe, evaluated after the cheaper conditions of its row.
	// Its values are bound where it is first written (edge has none).
	seats := func(string) string { return "" }
	if q.Seats() {
		var ws, cs string
		seats = func(t string) string {
			if ws == "" {
				ws, cs = arg(int32(q.WheelchairSpaces)), arg(int32(q.CompanionSeats))
			}
			return "(SELECT s.wheelchair_spaces >= " + ws + " AND s.companion_seats >= " + cs +
				" FROM event_availability s WHERE s.event_id = " + t + ".event_id)"
		}
	}
	if q.After != nil {
		where = append(where, "(a.starts_at, a.event_id) > ("+arg(q.After.StartsAt)+"::timestamptz, "+arg(q.After.ID)+"::bigint)")
	}
	// A text search's steps read the rows of the filters without the seats, and the seats
	// filter the text's matches: so only matches are probed, and the steps sample and bound
	// the text as they do without seats. With the probe among the filters, a window of 500
	// rows walked ~2,300 rows and probed each (7-12 ms on 1M events), and a capped read probed
	// matches until Cap of them passed (7,800 probes for a number, 50 ms). Each step stays
	// exact: the window's (and long's) page holds every row of the filters, the text and the
	// seats before its last row; capped's Cap and sparse's all are the text's matches, probed in
	// answer order until the page is full. A question without text and with seats takes the
	// steps of searchSeats (seatWindow, edge, long, seatCounts), which probe the same way; a
	// plain walk with seats (no caller of Search takes one) probes every row it reads.
	if how == walk {
		if f := seats("a"); f != "" {
			where = append(where, f)
		}
	}
	if how == edge || how == span {
		// No text and no limit: only the filters, so that the walk is read from the index.
		filters := `FROM event_accessibility a
		WHERE ` + strings.Join(where, "\n\t\t  AND ")
		edgeSQL := `SELECT a.starts_at ` + filters + `
		ORDER BY a.starts_at, a.event_id OFFSET ` + strconv.Itoa(b.Window-1) + ` LIMIT 1`
		if how == edge {
			return edgeSQL, args
		}
		// The same index read backwards for the last row: one descent.
		return `SELECT (` + edgeSQL + `), (SELECT a.starts_at ` + filters + `
		ORDER BY a.starts_at DESC, a.event_id DESC LIMIT 1)`, args
	}
	text, p := "", ""
	tsquery := func(p string) string { return "websearch_to_tsquery('russian', " + p + ")" }
	if generic(q, how) {
		// A generic plan (readPage) takes the query's text as a parameter: as a scalar
		// subquery, the tsquery is made once per execution (an InitPlan) instead of once per
		// row a walk filters, a week read checks or a read of the text index rechecks.
		tsquery = func(p string) string { return "(SELECT websearch_to_tsquery('russian', " + p + "))" }
	}
	// probed is the condition of a read of the text index with a probe (withProbe): the
	// probe's words through the index, the whole text tested on each of their candidates.
	probed := ""
	if q.Text != "" {
		p = arg(q.Text)
		text = "document @@ " + tsquery(p)
		if q.probe != "" && (how == capped || how == sparse) {
			probed = "a.document @@ " + tsquery(arg(q.probe)) + " AND ts_match_vq(a.document, " + tsquery(p) + ")"
		}
	}
	// A walk's limit is written in the statement, as its codes are: its generic plan
	// (withDetails) would otherwise take a LIMIT parameter for a tenth of the rows, and for
	// some questions chose to read them all and sort (a bitmap scan, 340 ms on 1M events)
	// over walking the index for a page. q.Limit is an integer of 1 to MaxLimit.
	limit := strconv.Itoa(q.Limit + 1)
	if !generic(q, how) {
		limit = arg(q.Limit + 1)
	}
	// first is the first rows of the filters in answer order, w, which a window or a walk
	// filters by its text and seats: with their text signatures instead of their text vectors
	// when the question's text may be tested against them (signed), so that the walk reads the
	// index alone (migration 033) and the text of only the rows whose signature holds its words.
	// matches is the text's condition on a row of w.
	column, matches := "a.document", "w."+text
	if text != "" && signed(q) {
		sig := textSigSQL(p)
		column = "a.text_sig"
		// No bit of the words' signature missing from the row's: the signature made once (an
		// InitPlan) where "text_sig & sig = sig" would make it twice.
		matches = "(" + sig + " & ~w.text_sig) = B'0'::bit(256)" +
			" AND (SELECT t." + text + " FROM event_accessibility t WHERE t.event_id = w.event_id)"
	}
	rank, ranks := "", ""
	if ranked(q, how) {
		// Each row's rank among the filters' rows, counted as the walk passes them (the
		// index's order is the window's: no sort).
		rank, ranks = ", row_number() OVER (ORDER BY a.starts_at, a.event_id) AS n", ", w.n"
	}
	first := func(rows int) string {
		return `(
			SELECT a.event_id, a.starts_at, a.constraint_ids, a.city, ` + column + rank + ` FROM event_accessibility a
			WHERE ` + strings.Join(where, "\n\t\t\t  AND ") + `
			ORDER BY a.starts_at, a.event_id LIMIT ` + strconv.Itoa(rows) + `) w`
	}
	var page string
	switch how {
	case walk:
		page = `SELECT a.event_id, a.starts_at, a.constraint_ids, a.city, false AS capped FROM event_accessibility a
		WHERE ` + strings.Join(where, "\n\t\t  AND ") + `
		ORDER BY a.starts_at, a.event_id LIMIT ` + limit
	case window, long, seatWindow:
		rows := b.Window
		if how == long {
			rows = b.Walk
		}
		var match []string
		if text != "" {
			match = append(match, matches)
		}
		if f := seats("w"); f != "" {
			match = append(match, f)
		}
		page = `SELECT w.event_id, w.starts_at, w.constraint_ids, w.city, false AS capped` + ranks + ` FROM ` + first(rows) + `
		WHERE ` + strings.Join(match, " AND ") + `
		ORDER BY w.starts_at, w.event_id LIMIT ` + limit
	case textSeatWindow:
		// Every match of the text in the window, each with whether its seats pass (no seat
		// count: false), in answer order: the page is its first rows that pass, and the
		// matches, seated or not, tell the text's density apart from the seats' (searchText).
		page = `SELECT w.event_id, w.starts_at, w.constraint_ids, w.city, false AS capped, coalesce(` + seats("w") + `, false) AS seated
		FROM ` + first(b.Window) + `
		WHERE ` + matches + `
		ORDER BY w.starts_at, w.event_id`
	case seatCounts:
		// The events whose counts pass, read from event_availability apart from the LIMIT (a
		// materialised CTE, as capped reads the text's matches), each checked against the
		// filters by event_accessibility's primary key, then sorted: the work is bounded by
		// the counts held, not by the catalog.
		page = `WITH m AS MATERIALIZED (
			SELECT s.event_id FROM event_availability s
			WHERE s.wheelchair_spaces >= ` + arg(int32(q.WheelchairSpaces)) + ` AND s.companion_seats >= ` + arg(int32(q.CompanionSeats)) + `)
		SELECT a.event_id, a.starts_at, a.constraint_ids, a.city, false AS capped FROM m
		JOIN event_accessibility a ON a.event_id = m.event_id
		WHERE ` + strings.Join(where, "\n\t\t  AND ") + `
		ORDER BY a.starts_at, a.event_id LIMIT ` + limit
	case capped, sparse:
		// The text index's matches, planned apart from the LIMIT (a materialised CTE), so the
		// planner does not walk the answer order hoping to meet rare matches soon: it reads
		// them from the text index, then sorts them. capped reads them unordered and at most
		// Cap+1 of them: capped says there were more, and then the page is not known.
		read, over, keep := "", "false", ""
		if how == capped {
			read = `
			LIMIT ` + strconv.Itoa(b.Cap+1)
			over = `(SELECT count(*) FROM m) > ` + strconv.Itoa(b.Cap)
			keep = "o.capped OR " // the first row says capped, whatever its seats
		}
		match := "a." + text
		if probed != "" {
			match = probed
		}
		page = `WITH m AS MATERIALIZED (
			SELECT a.event_id, a.starts_at, a.constraint_ids, a.city FROM event_accessibility a
			WHERE ` + strings.Join(append(where, match), "\n\t\t\t  AND ") + read + `)
		SELECT m.*, ` + over + ` AS capped
		FROM m ORDER BY m.starts_at, m.event_id`
		if f := seats("o"); f != "" {
			page = `SELECT o.* FROM (` + page + ` OFFSET 0) o WHERE ` + keep + f
		}
		page += ` LIMIT ` + limit
	case week:
		// The candidates of a slice of whole weeks (q's From and To are within its first and
		// last week): the events whose text holds every lexeme of the question's (allWords) in
		// one of its weeks, in the city when there is one, read through the keys of those
		// lexemes in each week (migration 036), at most Cap+1 of them that hold its text; then
		// the question's filters on them, outside the read. Inside, Postgres ANDed the keys'
		// few entries with a bitmap of the whole city (51,790 entries for Samara on 1M events,
		// 5.2 ms of a 5.6 ms read), or would the text index's whole lists. More than Cap
		// matches in the slice say capped, and then the page is read otherwise, as after
		// capped. When capped, every row comes out (none may pass), the first to say so.
		//
		// A candidate holds the text when its text vector holds every word of the question
		// (the keys say so) and the question's tsquery asks for nothing else: an AND of its
		// words' lexemes, with no phrase (a hyphenated word is one: 'a-b' <-> 'a' <-> 'b'),
		// negation or OR, which wordsAlone tells once per execution (an InitPlan). Any other
		// question tests each candidate's text vector inside the read, and no vector is carried
		// out of it into the tuples Postgres stores for the count and the sort: for 80,
		// whose month held 1,175 candidates, the read took 1.55-1.64 ms against 1.97-2.19
		// with the vectors carried and tested (pgbench, one client, in turns).
		keys := "search_text_weeks(a.document, a.starts_at)"
		if q.City != "" {
			keys = "search_text_city_weeks(a.document, a.starts_at, a.city)"
		}
		// The keys are the probe's words' when it has some (withProbe), and then every
		// candidate's text is tested against the whole text's query.
		holds := `(` + wordsAlone(p) + ` OR a.` + text + `)`
		if q.probe != "" {
			holds = "ts_match_vq(a.document, " + tsquery(p) + ")"
		}
		// One condition per lexeme: its keys in every week of the slice, which a candidate's
		// keys overlap (its one week among them); the GIN index ANDs the conditions' lists.
		var each []string
		for _, ks := range weekKeys(q) {
			each = append(each, keys+" && "+arg(ks)+"::text[]")
		}
		over := `(SELECT count(*) FROM m) > ` + strconv.Itoa(b.Cap)
		page = `WITH m AS MATERIALIZED (
			SELECT a.event_id, a.starts_at, a.constraint_ids, a.excluded_ids, a.city, a.category
			FROM event_accessibility a
			WHERE ` + strings.Join(each, "\n\t\t\t  AND ") + `
			  AND ` + holds + `
			LIMIT ` + strconv.Itoa(b.Cap+1) + `)
		SELECT a.event_id, a.starts_at, a.constraint_ids, a.city, ` + over + ` AS capped
		FROM m a
		WHERE ` + over + ` OR (` + strings.Join(where, "\n\t\t  AND ") + `)
		ORDER BY a.starts_at, a.event_id`
		if f := seats("o"); f != "" {
			page = `SELECT o.* FROM (` + page + ` OFFSET 0) o WHERE o.capped OR ` + f
		}
		page += ` LIMIT ` + limit
	}
	return page, args
}

// The question's side of a signature test, written out in the statement instead of calling
// the SQL function that makes the rows' side (migration 033): a SQL function that Postgres
// cannot inline (a subquery in search_text_sig) is parsed and planned again at each execution
// of the statement that calls it, 45-220 µs of Postgres's CPU a call more than the same
// expression written out (pgbench, prepared, one client). It is a scalar subquery (an
// InitPlan: made once per execution), equal to its function for the texts
// TestQuestionSidesAreTheFunctions tries.

// textSigSQL is search_text_sig(to_tsvector('russian', text)) for the text bound at p.
func textSigSQL(p string) string {
	return `(SELECT coalesce(bit_or((B'1'::bit(256) >> (h & 255)::integer) | (B'1'::bit(256) >> ((h >> 8) & 255)::integer)), B'0'::bit(256))
		FROM (SELECT hashtextextended(l, 0) AS h FROM unnest(tsvector_to_array(to_tsvector('russian', ` + p + `))) l) x)`
}

// weekKeys are the keys a read of a slice of weeks (plan week) asks the week keys' index for:
// for each lexeme of q's keys text (Query.lexemes), its 'lexeme|week' key in each week from
// q's From's through that of the last instant before q's To, with '|city' after each in a
// city, as search_text_weeks and search_text_city_weeks make the rows' (migration 036). A text
// without a lexeme (only stop words) asks for a key no event has: the read finds nothing at once.
func weekKeys(q *Query) [][]string {
	lexemes := q.lexemes
	if len(lexemes) == 0 {
		return [][]string{{""}}
	}
	first, last := weekOf(q.From), weekOf(q.To.Add(-time.Nanosecond))
	city := ""
	if q.City != "" {
		city = "|" + q.City
	}
	weeks := make([]string, 0, last-first+1) // each week's part of a key, made once for every lexeme
	for w := first; w <= last; w++ {
		weeks = append(weeks, "|"+strconv.FormatInt(w, 10)+city)
	}
	out := make([][]string, len(lexemes))
	for i, l := range lexemes {
		ks := make([]string, len(weeks))
		for j, w := range weeks {
			ks[j] = l + w
		}
		out[i] = ks
	}
	return out
}

// signed says whether a walk in answer order for q (window, long, textSeatWindow) tests its
// rows' text signatures before their text (migration 033): its text requires every word it
// holds (allWords), so that a match holds the signature of its words; and its filters are
// those of the indexes in answer order without a code, which carry the signatures (none, a
// city, categories, or a lenient question's excluded codes). With a code, the walk reads the
// code's index, whose rows carry no signature, and their table pages as before.
//
// A text dense in the rows it walks is the exception (q.dense, its route): each of its
// matches costs a probe of the event's primary key where the window read its table page
// anyway, and a word in a third of the events filled its window's page from 60 rows in
// 0.40-0.53 ms against 0.18-0.23 testing each row's text (generic plans, one connection, 1M
// events), where a number in 1% of them took 0.46-0.62 ms against 1.56-1.75.
func signed(q *Query) bool {
	_, all := q.allWords()
	return all && !q.dense && (len(q.IDs) == 0 || q.Lenient)
}

// ranked says whether plan how's rows for q carry their rank among the rows of the filters it
// walks (a signed window's): how many rows its page needed, which tells a dense text (route).
func ranked(q *Query, how plan) bool { return how == window && q.Text != "" && signed(q) }

// wordsAlone is an InitPlan that says whether the tsquery of the text bound at p is an AND of
// lexemes alone: no phrase ('<->' or '<N>'), negation ('!') or OR ('|'), which a text of
// letters, digits and hyphens (Query.allWords) cannot hold in its lexemes.
func wordsAlone(p string) string {
	return `(SELECT websearch_to_tsquery('russian', ` + p + `)::text !~ '[<!|]')`
}

// detailsSQL reads the details of a page's events by their cities ($1, text[]), starts ($2,
// timestamptz[]) and ids ($3, bigint[]), one lateral read each (detailsOf); summaries puts the
// rows back in the page's order. It runs with a generic plan (pgdb.QueryGeneric): its plan does
// not depend on the events, and building a custom one took 1.2 ms on 200k events, the plan
// itself 0.2 ms. The venue's name is the event's own copy (events.venue_name, migration
// 028): looked up by venues' primary key per row, it cost about 8% of the whole mix's answers a
// second at 16 clients (cmd/dostupno bench, in turns), and as a join the generic plan hashed
// the whole venues table at every call. The seat counts (migration 019) are a lateral lookup by event_availability's primary key, one
// per row: its LIMIT keeps the planner from making it a plain left join, which the generic
// plan hashed whole (a table of 100 to 1,000 counts, on 20k events).
var detailsSQL = `SELECT d.* FROM unnest($1::text[], $2::timestamptz[], $3::bigint[]) u(city, starts_at, id)
CROSS JOIN LATERAL (` + detailsOf("u.city", "u.starts_at", "u.id") + `) d`

// detailsOf is the details of the event at city, start and id (SQL expressions), at most one
// row: read from the index of the events' details in answer order within their city (migration
// 037), from the index alone, where the events of a page lie on a few leaves; else, for an
// event that moved to another time or city since its page's rows were read (detailsSQL runs in
// a snapshot of its own), by its id. The walk of a question without text reads each row's
// details with it in the same statement (withDetails).
func detailsOf(city, starts, id string) string {
	return `SELECT ` + eventColumns + `,
	(SELECT ph.object_key FROM event_photos ph WHERE ph.event_id = e.id
	 ORDER BY ph.position, ph.object_key LIMIT 1),
	s.wheelchair_spaces, s.companion_seats, s.as_of
FROM ((SELECT ` + eventColumns + ` FROM events e WHERE e.city = ` + city + ` AND e.starts_at = ` + starts + ` AND e.id = ` + id + `)
	UNION ALL
	(SELECT ` + eventColumns + ` FROM events e WHERE e.id = ` + id + `) LIMIT 1) e
` + seatsLateral("e.id")
}

// eventColumns are the columns of events that detailsOf shows, those of migration 037's index.
const eventColumns = `e.id, e.title, e.category, e.city, e.venue_id, e.venue_name, e.starts_at, e.ends_at, e.timezone`

// seatsLateral joins the seat counts of the event whose id is the column id as s (NULL when it
// has none), a lateral lookup by event_availability's primary key whose LIMIT keeps the planner
// from hashing the whole table for a generic plan.
func seatsLateral(id string) string {
	return `LEFT JOIN LATERAL (SELECT s.wheelchair_spaces, s.companion_seats, s.as_of FROM event_availability s
	WHERE s.event_id = ` + id + ` LIMIT 1) s ON true`
}

// generic says whether plan how for q walks the answer order, reads a slice's candidates
// through the week keys (whose plan their values do not decide: the keys' indexes, the other
// filters after), or reads the text index for a question whose only other filters are its
// time and city (genericText): such a statement runs with a generic plan (readPage), planned
// once per connection (a custom plan of a month's read cost 0.3-0.5 ms to plan on 1M events,
// about what it ran; of a capped read of an absent word 0.2-0.3 ms, which ran in 0.05).
func generic(q *Query, how plan) bool {
	return detailed(how) || how == textSeatWindow || genericText(q, how)
}

// genericText says whether plan how reads the text index (capped, sparse) for a question whose
// filters are its start and city alone (and seats, which filter its matches after the read), on
// its first page: the text index, which holds the city, is then its one way in, whatever the
// text's matches (a generic plan estimates them from no text). With constraint codes or
// categories, how many rows match the text decides whether their indexes or the text's are
// read first; with an end or a cursor, a generic plan takes the time range for a narrow one
// and ANDs the text's matches with the starts index's rows over it (every row of the catalog
// for an end a year away): a custom plan, which sees the values.
func genericText(q *Query, how plan) bool {
	return (how == capped || how == sparse) && q.timeAndCityAlone() && q.To == nil && q.After == nil
}

// indexed says whether the generic plan of how for q must read its rows through an index
// (pgdb.QueryGenericIndexed): its only index conditions are the week keys' or the text's, and a
// scan would compute every row's keys or test every row's text (the generic plan's estimate of
// a slice of twelve months made one look cheaper under its LIMIT).
func indexed(q *Query, how plan) bool { return how == week || genericText(q, how) }

// detailed says whether plan how walks the answer order for a page, which carries its rows'
// details (withDetails, readPage). A text search's window that does not answer read the
// details of the few rows it found for nothing; one that answers (a common word) saves the
// second round trip, as the walk of a question without text does. A text search's window
// with seats answers every match of its text, whose details it does not read. A slice of
// weeks (searchWeeks) reads its rows' details too: the page's rows are those of the slices
// read, and a slice that holds more than Cap candidates has its Limit+1 read for nothing.
func detailed(how plan) bool {
	return how == walk || how == window || how == long || how == seatWindow || how == week
}

// withRowDetails says whether plan how reads q's page with its rows' details (withDetails): a
// walk in answer order (detailed) of a question that is not lean.
func withRowDetails(q *Query, how plan) bool { return detailed(how) && q.keep != keepLean }

// withRowSeats says whether plan how reads q's page with its rows' seat counts alone
// (withSeats): the rows of a question that filters by seat counts, of an instance that keeps
// details, when they come without them, so that the counts it shows are those it filtered by.
// The counts are not kept (KeptDetails: they change at ticket-sale rates); a page of another
// question reads those of its events that have counts after its rows (seatsOf).
func withRowSeats(q *Query, how plan) bool {
	return q.keep != keepNone && q.Seats() && !withRowDetails(q, how)
}

// withSeats is page (pageSQL) with each row's seat counts, read as detailsOf reads them
// (seatsLateral).
func withSeats(page string) string {
	return `SELECT p.*, s.wheelchair_spaces, s.companion_seats, s.as_of FROM (` + page + `) p
	` + seatsLateral("p.event_id") + `
	ORDER BY p.starts_at, p.event_id`
}

// withDetails is page (a walk, pageSQL) with each row's details (detailsOf) in the same
// statement: a lateral read per row of the page by its city, start and id, whose LIMIT
// keeps the generic plan a nested loop over the page's rows (as a join, a generic plan, which
// takes a LIMIT parameter for a tenth of the rows, hashed the whole events table). One
// statement instead of two saves a round trip and a statement's execution per question.
func withDetails(page string) string {
	return `SELECT p.*, d.* FROM (` + page + `) p
	JOIN LATERAL (` + detailsOf("p.city", "p.starts_at", "p.event_id") + `) d ON true
	ORDER BY p.starts_at, p.event_id`
}

// withGeneration is page (pageSQL) with the generation of the events' details (migration 032:
// the database's epoch and the sum of the generation's counters) on each of its rows, read
// once per execution (two InitPlans) in the page's snapshot.
func withGeneration(page string) string {
	return `SELECT p.*, ` + generationColumns + ` FROM (` + page + `) p`
}

// generationColumns are the details' epoch and generation, each a scalar subquery.
const generationColumns = `(SELECT e.epoch FROM details_epoch e), (SELECT sum(g.n)::bigint FROM details_generation g)`

// detailsGenerationSQL is detailsSQL with the details' generation on each row (withGeneration).
var detailsGenerationSQL = withGeneration(detailsSQL)

// Search runs q and returns one page (SearchWith, keeping no details).
func Search(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, q *Query, photoURL func(string) string) (*Page, error) {
	return SearchWith(ctx, db, Shared{}, vocab, q, photoURL)
}

// Shared is what an instance's searches share besides its pool, each part optional: the
// details of the events its pages showed (KeptDetails) and the round trips of their walks
// (pgdb.Batcher, on the pool the searches read).
type Shared struct {
	Kept  *KeptDetails
	Batch *pgdb.Batcher
}

// SearchWith runs q and returns one page. photoURL turns a photo's object key into its URL.
// When db is a pool (a read outside any transaction), shared's keep, if any, keeps the page's
// events' details and gives those it kept under the generation the page was read at
// (KeptDetails), and shared's Batcher, if any, sends the walk of a question without text or
// seats in a round trip shared with other callers' (its details the keep lacks are read after
// it, on a connection of their own); a transaction's reads use neither.
//
// A text search cannot be served by one ordered walk: a common word is met within a few rows
// of the answer order, a rare one (or one absent from the catalog) only after reading the
// whole index, and the planner cannot tell them apart (nor an AND of common words whose
// intersection is sparse). So it goes in steps, each bounded, each exact when it answers:
//  1. it filters the first textBounds.Window rows in answer order; if they hold a full page,
//     that is the page (any match before the page's last row is among them);
//  2. else it reads at most textBounds.Cap+1 matches from the text index, unordered; if there
//     are no more than Cap, they are all the matches, and sorted they give the page;
//  3. else matches are neither dense nor few: it filters the first textBounds.Walk rows in
//     answer order (a page is expected well within them), and a full page there is the page
//     (when the window held two matches or more, this step comes before the second, and
//     before both the matches of slices of the answer order, one after the other, the first
//     sized from the window, see searchText);
//  4. else all matches from the text index, sorted (matches bunched late in the order).
//
// A text that requires every word it holds (Query.allWords) reads slices of whole weeks
// instead of slices of the answer order, from indexes of its words keyed by week (and city),
// and, when it has two words or more, before the second step too (searchWeeks).
//
// The work is bounded by the window, by Cap matches, by the walk expected for more than Cap
// matches, and only in the last, unexpected case by the matches.
func SearchWith(ctx context.Context, db pgdb.DBTX, shared Shared, vocab *catalog.Vocabulary, q *Query, photoURL func(string) string) (page *Page, err error) {
	pool, pooled := db.(*pgxpool.Pool)
	if !pooled {
		shared = Shared{}
	}
	kept := shared.Kept
	if kept != nil {
		kq := *q
		kq.keep = kept.mode()
		q = &kq
	}
	if b := shared.Batch; b != nil && b.Pool() == pool && q.Text == "" && !q.Seats() {
		// One walk: batched. A text or seat search takes several steps of different costs,
		// and their reads, batched too, made a light walk wait behind a heavy step (16
		// clients asking the whole mix: p99 13.8 and 14.5 ms against 12.1 and 11.1).
		return search(ctx, batched{pool, b}, kept, vocab, q, photoURL)
	}
	// A search's steps and its details run on one connection: a text search's four or five
	// statements queued for a connection once, not before each of them behind every other
	// client's (16 clients asking the whole mix on 2 cores: p99 16.6-23.6 ms against 26.5-30.2,
	// 4 connections each; cmd/dostupno bench).
	err = pgdb.OneConn(ctx, db, func(db pgdb.DBTX) error {
		page, err = search(ctx, db, kept, vocab, q, photoURL)
		return err
	})
	return page, err
}

// batched is a pool whose searches send their pages' reads with generic plans (readPage)
// through a Batcher on it, in round trips they may share with other callers', and their other
// statements (the details the keep lacks) on a connection of the pool each.
type batched struct {
	*pgxpool.Pool
	b *pgdb.Batcher
}

func search(ctx context.Context, db pgdb.DBTX, kept *KeptDetails, vocab *catalog.Vocabulary, q *Query, photoURL func(string) string) (*Page, error) {
	started := time.Now()
	page := &Page{AppliedConstraints: q.Codes}
	if page.AppliedConstraints == nil {
		page.AppliedConstraints = []string{}
	}
	var (
		items []Summary
		r     read
		err   error
	)
	switch {
	case q.Text == "" && q.Seats():
		r, err = searchSeats(ctx, db, q)
	case q.Text == "":
		r, err = readPage(ctx, db, q, walk)
	default:
		r, err = searchText(ctx, db, q)
	}
	next := r.next
	if err == nil {
		items, err = summaries(ctx, db, vocab, q, r.rows, photoURL, kept.at(r.gen, started))
	}
	if err != nil {
		return nil, err
	}
	page.Items = items
	if next != nil {
		c := q.NextCursor(*next)
		page.NextCursor = &c
	}
	return page, nil
}

// searchSeats reads the page of a question without text that filters by seat counts in steps,
// each exact when it answers, as a text search does (searchText):
//  1. the first textBounds.Window rows of the other filters in answer order, their counts
//     probed: a full page there is the page (any row that passes before the page's last row is
//     among them), and so is what they hold when the filters have no more rows (edge);
//  2. when k rows of the window passed, the walk of textBounds.Walk rows is expected to hold a
//     page if Window*(Limit+1)/k is within it: a full page there is the page;
//  3. else the events whose counts pass, each checked against the filters by its key, sorted
//     (seatCounts): bounded by the counts held, not by the catalog.
//
// As one walk probing every row's counts, a threshold few events reach read the whole catalog
// (226-384 ms on 1M events with no counts held); going to step 3 whenever the window was short,
// rare filters read every count held (300-330 ms with 300,821 counts).
func searchSeats(ctx context.Context, db pgdb.DBTX, q *Query) (read, error) {
	r, err := readPage(ctx, db, q, seatWindow)
	if err != nil || r.next != nil {
		return r, err
	}
	if _, more, err := windowEnd(ctx, db, q); err != nil || !more {
		return r, err
	}
	b := textBounds.Load()
	if k := len(r.rows); k > 0 && b.Window*(q.Limit+1)/k <= b.Walk {
		r, err := readPage(ctx, db, q, long)
		if err != nil || r.next != nil {
			return r, err
		}
	}
	return readPage(ctx, db, q, seatCounts)
}

// windowSpan is windowEnd and last, the start of the filters' last row in answer order (span).
func windowSpan(ctx context.Context, db pgdb.DBTX, q *Query) (end, last time.Time, more bool, err error) {
	sql, args := pageSQL(q, span)
	var e, l *time.Time
	if err := db.QueryRow(ctx, sql, args...).Scan(&e, &l); err != nil {
		return end, last, false, fmt.Errorf("search: %w", err)
	}
	if e == nil || l == nil {
		return end, last, false, nil
	}
	return *e, *l, true, nil
}

// expectedMatches is how many matches of its text the text index holds within the filters of
// q, expected from the kt matches among the window's rows, which start from q's start (or its
// cursor) to end, the filters' rows going on until last.
func expectedMatches(q *Query, kt int, end, last time.Time) float64 {
	begin := q.begin()
	if !end.After(begin) {
		return math.Inf(1) // the window's rows all start at one instant: no density in time
	}
	return float64(kt) * float64(last.Sub(begin)) / float64(end.Sub(begin))
}

// windowEnd is the start of the window's last row (edge): the filters' row at
// textBounds.Window in answer order; more is false when the filters have no row there, so the
// window held every row of the filters.
func windowEnd(ctx context.Context, db pgdb.DBTX, q *Query) (end time.Time, more bool, err error) {
	sql, args := pageSQL(q, edge)
	switch err := db.QueryRow(ctx, sql, args...).Scan(&end); {
	case errors.Is(err, pgx.ErrNoRows):
		return end, false, nil
	case err != nil:
		return end, false, fmt.Errorf("search: %w", err)
	}
	return end, true, nil
}

// pageRow is one row of a page as pageSQL reads it: its position and its constraint ids.
type pageRow struct {
	pos Position
	ids []int16
	// city is the event's city: with pos, where its details are (detailsOf).
	city string
	d    *detail // the row's details, when read with it (withDetails), else nil
	// seats are the row's seat counts and seated says they were read with it (withSeats),
	// for details kept without them or read after it.
	seats  *Availability
	seated bool
}

// readPage reads one page's rows with plan how (pageSQL, read). A text search tries several
// plans and reads the details (summaries) of the one page it answers with alone. On a batched
// pool (SearchWith), a generic plan's statement goes through its pgdb.Batcher.
//
// The page of a question without text (walk) runs with a generic plan (pgdb.QueryGeneric), planned
// once per connection and statement: what decides its plan, the constraint codes (which index
// to walk), is written in the statement's text, and the values bound (city, category, dates,
// cursor, seats) select along the same walk. Planning it for every question cost more Postgres
// CPU than running it (0.2-1.2 ms against 0.1-0.5 ms on 1M events, EXPLAIN ANALYZE); without it,
// 16 clients asking the mix's questions without text got 1,833 and 2,029 answers/s against 1,336
// and 1,342, p99 41 and 37 ms against 44 and 47 (cmd/dostupno bench --shapes '!text', back to
// back). The other walks in answer order (a text search's window and long walk, a seats
// search's window) run the same way: their plans are the walk's, the text a filter on the rows
// it passes, made into a tsquery once per execution (pageSQL); 16 clients asking the text
// shapes alone got 481 and 563 answers/s against 400 and 441 with custom plans, back to back
// (the generic plan with the tsquery made per row was slower than custom ones, tried before).
// The reads of the text index (capped, sparse) with constraint codes, categories, an end or a
// cursor, and of the counts (seatCounts), keep custom plans: how many rows match decides them
// (genericText).
func readPage(ctx context.Context, db pgdb.DBTX, q *Query, how plan) (read, error) {
	if f := stepHook.Load(); f != nil {
		(*f)(how)
	}
	sql, args := statement(q, how)
	var (
		rows pgx.Rows
		err  error
	)
	if generic(q, how) { // a walk in answer order, whose plan the codes decide, a week read or a read of the text index
		idx := indexed(q, how)
		if bd, ok := db.(batched); ok {
			query := bd.b.QueryGeneric
			if idx {
				query = bd.b.QueryGenericIndexed
			}
			var r read
			if err := query(ctx, sql, args, func(rows pgx.Rows) (err error) {
				r, err = scanPage(q, how, rows)
				return err
			}); err != nil {
				return read{}, fmt.Errorf("search: %w", err)
			}
			return r, nil
		}
		query := pgdb.QueryGeneric
		if idx {
			query = pgdb.QueryGenericIndexed
		}
		var br pgx.BatchResults
		rows, br, err = query(ctx, db, sql, args...)
		defer br.Close() //nolint:errcheck // an error of the batch is the one Exec or Query answered
	} else {
		rows, err = db.Query(ctx, sql, args...)
	}
	if err != nil {
		return read{}, fmt.Errorf("search: %w", err)
	}
	r, err := scanPage(q, how, rows)
	if err != nil {
		return read{}, fmt.Errorf("search: %w", err)
	}
	return r, nil
}

// scanPage reads the rows of plan how's statement for q (statement) and closes them.
func scanPage(q *Query, how plan, rows pgx.Rows) (read, error) {
	var (
		err    error
		r      = read{rows: make([]pageRow, 0, q.Limit)}
		more   bool
		seated bool
		after  []any // the last columns of a kept question's rows: seats, the details' generation
		seats  = withRowSeats(q, how)
		ws, cs pgtype.Int4
		asOf   pgtype.Timestamptz
	)
	if seats {
		after = []any{&ws, &cs, &asOf}
	}
	if q.keep != keepNone {
		after = append(after, &r.gen.epoch, &r.gen.n)
	}
	// Each row is scanned into p, through the one dest, then copied into the page.
	var p pageRow
	dest := []any{&p.pos.ID, &p.pos.StartsAt, &p.ids, &p.city, &r.over}
	var rank int64
	switch {
	case how == textSeatWindow:
		dest = append(dest, &seated)
	case ranked(q, how):
		dest = append(dest, &rank)
	}
	detailed := withRowDetails(q, how)
	if !detailed {
		dest = append(dest, after...)
	}
	for rows.Next() {
		if len(r.rows) == q.Limit && how != textSeatWindow {
			// The row past the page says only that there is a next page, which starts after
			// the page's last row: its columns are not read (a walk's details are a dozen).
			more = true
			break
		}
		p = pageRow{} // a new ids slice for each row
		if detailed {
			p.d, err = scanDetail(rows, dest, after...)
		} else {
			err = rows.Scan(dest...)
		}
		r.gen.ok = q.keep != keepNone && err == nil
		if seats {
			p.seats, p.seated = availability(ws, cs, asOf), true
		}
		if err != nil {
			rows.Close()
			return read{}, fmt.Errorf("read row: %w", err)
		}
		r.matches++
		if how == textSeatWindow && !seated {
			continue
		}
		if len(r.rows) == q.Limit {
			more = true
			if how == textSeatWindow {
				continue // every match is counted
			}
			break
		}
		r.rows = append(r.rows, p)
		r.rank = rank
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return read{}, err
	}
	if r.over {
		return read{over: true}, nil
	}
	if more {
		r.next = &r.rows[len(r.rows)-1].pos
	}
	return r, nil
}

// read is what readPage read: a page's rows in answer order, and next, the position after
// which the next page starts (nil: no row beyond the page).
type read struct {
	rows []pageRow
	next *Position
	// over (plan capped): the text index held more than textBounds.Cap matches, and rows and
	// next are empty.
	over bool
	// matches (plan textSeatWindow): the rows of the window that hold the text, whether
	// their seats pass or not.
	matches int
	// rank (a signed window, ranked): the rank of the page's last row among the rows of the
	// filters the window walked; 0 when not known.
	rank int64
	// gen (a question of an instance that keeps details): the generation of the details the
	// rows were read at.
	gen generation
}

// summaries are the answers of a page's rows, in its order, with their details: read with
// the rows (a walk in answer order, withDetails), or kept (k, the KeptDetails' keep of the
// generation the rows were read at), else (detailsSQL, a generic plan) in one more round
// trip. Planning the one statement that joined the rows and their details cost 0.9-2 ms of
// Postgres CPU per question on 1M events, against 0.2-0.35 ms for the rows alone (README,
// "Search and demo data"); the walk's statement, a generic plan, is planned once per
// connection. An event
// deleted between the rows and their details is left out of the page; the cursor still follows
// the page's last row.
func summaries(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, q *Query, page []pageRow, photoURL func(string) string, k *keep) ([]Summary, error) {
	items := make([]Summary, 0, len(page))
	if len(page) == 0 {
		return items, nil
	}
	found := make(map[int64]*detail, len(page))
	ids := make([]int64, 0, len(page))
	for _, r := range page {
		if r.d != nil {
			found[r.pos.ID] = r.d
		} else {
			ids = append(ids, r.pos.ID)
		}
	}
	var counted []int64 // events whose details came from the keep and that have seat counts
	if k != nil {
		ids, counted = k.take(page, ids, found)
	}
	if len(ids) > 0 {
		more, gen, err := details(ctx, db, rowsOf(page, ids), q.keep != keepNone)
		if err != nil {
			return nil, err
		}
		maps.Copy(found, more)
		if k != nil && gen == k.gen {
			k.owner.store(k, more)
		}
	}
	seats, err := seatsOf(ctx, db, page, counted)
	if err != nil {
		return nil, err
	}
	for _, r := range page {
		d, ok := found[r.pos.ID]
		if !ok {
			continue
		}
		s := d.Summary // with its head when kept
		switch {
		case r.seated:
			s.Availability = r.seats
		case d.counted:
			s.Availability = seats[r.pos.ID]
		}
		s.inUTC() // a kept detail's times are already
		s.Accessibility = vocab.CodesOf(r.ids)
		if q.Lenient {
			unknown := make([]string, 0, len(q.Codes))
			for _, c := range q.Codes {
				if !slices.Contains(s.Accessibility, c) {
					unknown = append(unknown, c)
				}
			}
			s.Unknown = &unknown
		}
		if d.cover.Valid {
			u := photoURL(d.cover.String)
			s.CoverURL = &u
		}
		items = append(items, s)
	}
	return items, nil
}

// seatsOf reads the seat counts of the events ids of a page whose details came from the keep
// without them (KeptDetails), unless page's rows came with their counts (withSeats), by
// event_availability's primary key, in one more round trip: a page of events none of which
// has counts reads nothing.
func seatsOf(ctx context.Context, db pgdb.DBTX, page []pageRow, ids []int64) (map[int64]*Availability, error) {
	if len(ids) == 0 || page[0].seated {
		return nil, nil
	}
	seats := make(map[int64]*Availability, len(ids))
	var (
		id     int64
		ws, cs pgtype.Int4
		asOf   pgtype.Timestamptz
	)
	rows, err := db.Query(ctx, seatsSQL, ids)
	if err != nil {
		return nil, fmt.Errorf("search: seat counts: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &ws, &cs, &asOf}, func() error {
		seats[id] = availability(ws, cs, asOf)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("search: seat counts: %w", err)
	}
	return seats, nil
}

// seatsSQL reads the seat counts of events $1 (bigint[]).
const seatsSQL = `SELECT event_id, wheelchair_spaces, companion_seats, as_of FROM event_availability WHERE event_id = ANY($1::bigint[])`

// detail is one row of detailsSQL. Its nullable columns, but the end that the answer shows as
// a pointer, are scanned into its own values (scanDetail), not into pointers each allocated.
type detail struct {
	Summary
	cover  pgtype.Text
	ws, cs pgtype.Int4
	asOf   pgtype.Timestamptz
	// counted, in a detail the keep holds (without its counts), says the event has seat
	// counts (seatsOf).
	counted bool
}

// rowsOf are the rows of page whose events are ids, which are in page's order.
func rowsOf(page []pageRow, ids []int64) []pageRow {
	rows := make([]pageRow, 0, len(ids))
	for _, r := range page {
		if len(rows) < len(ids) && r.pos.ID == ids[len(rows)] {
			rows = append(rows, r)
		}
	}
	return rows
}

// details reads the details of the events of page's rows (detailsSQL) in one round trip, with a
// generic plan (pgdb.QueryGeneric), by city, start and id; with gen, also the generation they
// were read at (detailsGenerationSQL), which is not ok when no event was found.
func details(ctx context.Context, db pgdb.DBTX, page []pageRow, gen bool) (map[int64]*detail, generation, error) {
	sql := detailsSQL
	cities, starts, ids := make([]string, len(page)), make([]time.Time, len(page)), make([]int64, len(page))
	for i, r := range page {
		cities[i], starts[i], ids[i] = r.city, r.pos.StartsAt, r.pos.ID
	}
	var (
		g    generation
		last []any
	)
	if gen {
		sql, last = detailsGenerationSQL, []any{&g.epoch, &g.n}
	}
	rows, br, err := pgdb.QueryGeneric(ctx, db, sql, cities, starts, ids)
	defer br.Close() //nolint:errcheck // an error of the batch is the one Exec or Query answered
	if err != nil {
		return nil, g, fmt.Errorf("search: details: %w", err)
	}
	defer rows.Close()
	found := make(map[int64]*detail, len(ids))
	for rows.Next() {
		d, err := scanDetail(rows, nil, last...)
		if err != nil {
			return nil, generation{}, fmt.Errorf("search: read details: %w", err)
		}
		found[d.ID] = d
		g.ok = gen
	}
	if err := rows.Err(); err != nil {
		return nil, generation{}, fmt.Errorf("search: details: %w", err)
	}
	rows.Close()
	if err := br.Close(); err != nil {
		return nil, generation{}, fmt.Errorf("search: details: %w", err)
	}
	return found, g, nil
}

// scanDetail scans a row that ends with detailsOf's columns, then last, into a detail, its
// first columns into first, and its last into last.
func scanDetail(rows pgx.Rows, first []any, last ...any) (*detail, error) {
	d := &detail{}
	var buf [maxFirst + 13 + maxLast]any
	dest := append(append(buf[:0], first...), &d.ID, &d.Title, &d.Category, &d.City, &d.Venue.ID, &d.Venue.Name,
		&d.StartsAt, &d.EndsAt, &d.Timezone, &d.cover, &d.ws, &d.cs, &d.asOf)
	dest = append(dest, last...)
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	d.Availability = availability(d.ws, d.cs, d.asOf)
	return d, nil
}

// maxFirst and maxLast are how many columns a row has before detailsOf's (readPage's five,
// and a signed window's rank) and after them (the details' generation, withGeneration).
const maxFirst, maxLast = 6, 2
