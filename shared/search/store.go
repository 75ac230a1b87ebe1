package search

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// VenueRef is the venue of a summary.
type VenueRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Summary is one item of a search answer (Summary in shared/apidoc/openapi.yaml).
type Summary struct {
	ID            int64      `json:"id"`
	Title         string     `json:"title"`
	Category      string     `json:"category"`
	City          string     `json:"city"`
	Venue         VenueRef   `json:"venue"`
	StartsAt      time.Time  `json:"starts_at"`
	EndsAt        *time.Time `json:"ends_at"`
	Timezone      string     `json:"timezone"`
	Accessibility []string   `json:"accessibility"`
	CoverURL      *string    `json:"cover_url"`
	// Unknown, in a lenient answer alone, are the required codes whose answer for the event
	// is still unknown (the others are yes).
	Unknown *[]string `json:"unknown,omitempty"`
	// Availability is the event's live seat count (null when the ticketing side never
	// reported one).
	Availability *Availability `json:"availability"`
}

// Availability is an event's free wheelchair spaces and companion seats as the ticketing
// system counted them at AsOf (Availability in shared/apidoc/openapi.yaml).
type Availability struct {
	WheelchairSpaces int       `json:"wheelchair_spaces"`
	CompanionSeats   int       `json:"companion_seats"`
	AsOf             time.Time `json:"as_of"`
}

// availability is the Availability of nullable columns (nil when the event has no count).
func availability(ws, cs *int32, asOf *time.Time) *Availability {
	if ws == nil || cs == nil || asOf == nil {
		return nil
	}
	return &Availability{WheelchairSpaces: int(*ws), CompanionSeats: int(*cs), AsOf: asOf.UTC()}
}

// Page is a search answer (SearchPage in shared/apidoc/openapi.yaml).
type Page struct {
	Items              []Summary `json:"items"`
	NextCursor         *string   `json:"next_cursor"`
	AppliedConstraints []string  `json:"applied_constraints"`
}

// TextWindow is how many rows, in answer order, a text search first reads and filters by
// its text; see Search.
const TextWindow = 4000

type plan int

const (
	walk   plan = iota // read the index in answer order and stop after the page
	window             // text: filter the first TextWindow rows in answer order
	sparse             // text: all matches of the text index, then sorted
)

// PageSQL builds the query of one page as Search first runs it: the keyset walk over
// event_accessibility (limit+1 rows, to know whether a next page exists), joined to the
// events, venues and cover photos of those rows only. Every value of the question is a bind
// parameter except the constraint ids, which are written as one literal
// "constraint_ids @> '{k}'" each: k is a small integer of the fixed vocabulary (never text
// from the request), and only a literal lets the planner match the partial index of that code
// (migrations 006 and 012).
func PageSQL(q *Query) (string, []any) {
	if q.Text != "" {
		return pageSQL(q, window)
	}
	return pageSQL(q, walk)
}

func pageSQL(q *Query, how plan) (string, []any) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where = append(where, "a.starts_at >= "+arg(q.From))
	if q.To != nil {
		where = append(where, "a.starts_at < "+arg(*q.To))
	}
	if q.City != "" {
		where = append(where, "a.city = "+arg(q.City))
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
	if q.Seats() {
		// A probe of the availability row of each candidate the walk meets (its primary key),
		// so the walk keeps its order and its indexes.
		where = append(where, "EXISTS (SELECT 1 FROM event_availability s WHERE s.event_id = a.event_id AND s.wheelchair_spaces >= "+
			arg(int32(q.WheelchairSpaces))+" AND s.companion_seats >= "+arg(int32(q.CompanionSeats))+")")
	}
	if q.After != nil {
		where = append(where, "(a.starts_at, a.event_id) > ("+arg(q.After.StartsAt)+"::timestamptz, "+arg(q.After.ID)+"::bigint)")
	}
	text := ""
	if q.Text != "" {
		p := arg(q.Text)
		text = "document @@ websearch_to_tsquery('russian', " + p + ")"
	}
	limit := arg(q.Limit + 1)
	var page string
	switch how {
	case walk:
		page = `SELECT a.event_id, a.starts_at, a.constraint_ids FROM event_accessibility a
		WHERE ` + strings.Join(where, "\n\t\t  AND ") + `
		ORDER BY a.starts_at, a.event_id LIMIT ` + limit
	case window:
		page = `SELECT w.event_id, w.starts_at, w.constraint_ids FROM (
			SELECT a.event_id, a.starts_at, a.constraint_ids, a.document FROM event_accessibility a
			WHERE ` + strings.Join(where, "\n\t\t\t  AND ") + `
			ORDER BY a.starts_at, a.event_id LIMIT ` + strconv.Itoa(TextWindow) + `) w
		WHERE w.` + text + `
		ORDER BY w.starts_at, w.event_id LIMIT ` + limit
	case sparse:
		// Planned apart from the LIMIT (a materialised CTE), so the planner does not walk the
		// answer order hoping to meet rare matches soon: it reads them from the text index.
		page = `WITH m AS MATERIALIZED (
			SELECT a.event_id, a.starts_at, a.constraint_ids FROM event_accessibility a
			WHERE ` + strings.Join(append(where, "a."+text), "\n\t\t\t  AND ") + `)
		SELECT * FROM m ORDER BY m.starts_at, m.event_id LIMIT ` + limit
	}
	sql := `SELECT p.event_id, e.title, e.category, e.city, e.venue_id, v.name, e.starts_at, e.ends_at,
		e.timezone, p.constraint_ids,
		(SELECT ph.object_key FROM event_photos ph WHERE ph.event_id = p.event_id
		 ORDER BY ph.position, ph.object_key LIMIT 1),
		s.wheelchair_spaces, s.companion_seats, s.as_of
	FROM (` + page + `) p
	JOIN events e ON e.id = p.event_id
	JOIN venues v ON v.id = e.venue_id
	LEFT JOIN event_availability s ON s.event_id = p.event_id
	ORDER BY p.starts_at, p.event_id`
	return sql, args
}

// Search runs q and returns one page. photoURL turns a photo's object key into its URL.
//
// A text search cannot be served by one ordered walk: a common word is met within a few rows
// of the answer order, a rare one (or one absent from the catalog) only after reading the
// whole index, and the planner cannot tell them apart. So it first filters the first
// TextWindow rows in answer order; if they hold a full page, that is the page (any match
// before the page's last row is among them). Otherwise matches are sparse (fewer than one in
// TextWindow/limit) and it reads them all from the text index and sorts them. Either way the
// work is bounded by the window or by the (sparse) matches, never by the catalog.
func Search(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, q *Query, photoURL func(string) string) (*Page, error) {
	page := &Page{AppliedConstraints: q.Codes}
	if page.AppliedConstraints == nil {
		page.AppliedConstraints = []string{}
	}
	how := walk
	if q.Text != "" {
		how = window
	}
	items, more, err := run(ctx, db, vocab, q, how, photoURL)
	if err == nil && how == window && !more {
		items, more, err = run(ctx, db, vocab, q, sparse, photoURL)
	}
	if err != nil {
		return nil, err
	}
	page.Items = items
	if more {
		last := items[len(items)-1]
		c := q.NextCursor(Position{StartsAt: last.StartsAt, ID: last.ID})
		page.NextCursor = &c
	}
	return page, nil
}

// run reads one page with plan how; more reports a row beyond the page.
func run(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, q *Query, how plan, photoURL func(string) string) ([]Summary, bool, error) {
	sql, args := pageSQL(q, how)
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	items := make([]Summary, 0, q.Limit)
	more := false
	for rows.Next() {
		if len(items) == q.Limit {
			more = true
			break
		}
		var (
			s      Summary
			ids    []int16
			cover  *string
			ws, cs *int32
			asOf   *time.Time
		)
		if err := rows.Scan(&s.ID, &s.Title, &s.Category, &s.City, &s.Venue.ID, &s.Venue.Name, &s.StartsAt,
			&s.EndsAt, &s.Timezone, &ids, &cover, &ws, &cs, &asOf); err != nil {
			return nil, false, fmt.Errorf("search: read row: %w", err)
		}
		s.StartsAt = s.StartsAt.UTC()
		if s.EndsAt != nil {
			t := s.EndsAt.UTC()
			s.EndsAt = &t
		}
		s.Accessibility = vocab.CodesOf(ids)
		s.Availability = availability(ws, cs, asOf)
		if q.Lenient {
			unknown := make([]string, 0, len(q.Codes))
			for _, c := range q.Codes {
				if !slices.Contains(s.Accessibility, c) {
					unknown = append(unknown, c)
				}
			}
			s.Unknown = &unknown
		}
		if cover != nil {
			u := photoURL(*cover)
			s.CoverURL = &u
		}
		items = append(items, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	return items, more, nil
}
