package search

import (
	"context"
	"fmt"
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

// Summary is one item of a search answer (API.md, "search-events").
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
}

// Page is a search answer.
type Page struct {
	Items              []Summary `json:"items"`
	NextCursor         *string   `json:"next_cursor"`
	AppliedConstraints []string  `json:"applied_constraints"`
}

// PageSQL builds the query of one page: the keyset walk over event_accessibility (limit+1
// rows, to know whether a next page exists), joined to the events, venues and cover photos of
// those rows only. Every value of the question is a bind parameter except the constraint ids,
// which are written as one literal "constraint_ids @> '{k}'" each: k is a small integer of the
// fixed vocabulary (never text from the request), and only a literal lets the planner match
// the partial index of that code (migration 006).
func PageSQL(q *Query) (string, []any) {
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
	for _, id := range q.IDs {
		where = append(where, "a.constraint_ids @> '{"+strconv.Itoa(int(id))+"}'")
	}
	if q.Text != "" {
		p := arg(q.Text)
		where = append(where, "a.document @@ (websearch_to_tsquery('russian', "+p+") || websearch_to_tsquery('english', "+p+"))")
	}
	if q.After != nil {
		where = append(where, "(a.starts_at, a.event_id) > ("+arg(q.After.StartsAt)+"::timestamptz, "+arg(q.After.ID)+"::bigint)")
	}
	limit := arg(q.Limit + 1)
	sql := `SELECT p.event_id, e.title, e.category, e.city, e.venue_id, v.name, e.starts_at, e.ends_at,
		e.timezone, p.constraint_ids,
		(SELECT ph.object_key FROM event_photos ph WHERE ph.event_id = p.event_id
		 ORDER BY ph.position, ph.object_key LIMIT 1)
	FROM (SELECT a.event_id, a.starts_at, a.constraint_ids FROM event_accessibility a
		WHERE ` + strings.Join(where, "\n\t\t  AND ") + `
		ORDER BY a.starts_at, a.event_id LIMIT ` + limit + `) p
	JOIN events e ON e.id = p.event_id
	JOIN venues v ON v.id = e.venue_id
	ORDER BY p.starts_at, p.event_id`
	return sql, args
}

// Search runs q and returns one page. photoURL turns a photo's object key into its URL.
func Search(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, q *Query, photoURL func(string) string) (*Page, error) {
	sql, args := PageSQL(q)
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	page := &Page{Items: make([]Summary, 0, q.Limit), AppliedConstraints: q.Codes}
	if page.AppliedConstraints == nil {
		page.AppliedConstraints = []string{}
	}
	more := false
	for rows.Next() {
		if len(page.Items) == q.Limit {
			more = true
			break
		}
		var (
			s     Summary
			ids   []int16
			cover *string
		)
		if err := rows.Scan(&s.ID, &s.Title, &s.Category, &s.City, &s.Venue.ID, &s.Venue.Name, &s.StartsAt,
			&s.EndsAt, &s.Timezone, &ids, &cover); err != nil {
			return nil, fmt.Errorf("search: read row: %w", err)
		}
		s.StartsAt = s.StartsAt.UTC()
		if s.EndsAt != nil {
			t := s.EndsAt.UTC()
			s.EndsAt = &t
		}
		s.Accessibility = vocab.CodesOf(ids)
		if cover != nil {
			u := photoURL(*cover)
			s.CoverURL = &u
		}
		page.Items = append(page.Items, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if more {
		last := page.Items[len(page.Items)-1]
		c := q.NextCursor(Position{StartsAt: last.StartsAt, ID: last.ID})
		page.NextCursor = &c
	}
	return page, nil
}
