package search

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/pgdb"
)

// Venue is the venue of an event page.
type Venue struct {
	ID      int64    `json:"id"`
	Name    string   `json:"name"`
	Address string   `json:"address"`
	Lat     *float64 `json:"lat"`
	Lon     *float64 `json:"lon"`
}

// Price is the ticket price range of an event page.
type Price struct {
	Min      *float64 `json:"min"`
	Max      *float64 `json:"max"`
	Currency *string  `json:"currency"`
}

// Photo is one photo of an event page.
type Photo struct {
	URL         string `json:"url"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	ContentType string `json:"content_type"`
}

// Sheet is the full accessibility sheet: every code of the vocabulary, in catalog order,
// with its effective answer (yes, no, unknown or not_applicable).
type Sheet []SheetItem

// SheetItem is one answer of a sheet.
type SheetItem struct{ Code, Answer string }

// MarshalJSON writes the sheet as an object in catalog order.
func (s Sheet) MarshalJSON() ([]byte, error) {
	return ordered(len(s), func(i int) (string, any) { return s[i].Code, s[i].Answer })
}

// Details are every code's effective answer with where it comes from, in catalog order.
type Details []Detail

// Detail is one code's effective answer: Value, From (catalog.FromEvent, FromVenue or
// FromNone), and the fact's Source and VerifiedAt (null where not known).
type Detail struct {
	Code       string  `json:"-"`
	Value      string  `json:"value"`
	From       string  `json:"from"`
	Source     *string `json:"source"`
	VerifiedAt *string `json:"verified_at"`
}

// MarshalJSON writes the details as an object in catalog order.
func (d Details) MarshalJSON() ([]byte, error) {
	return ordered(len(d), func(i int) (string, any) { return d[i].Code, d[i] })
}

// ordered writes n key-value pairs as a JSON object in the order given.
func ordered(n int, item func(int) (string, any)) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		k, v := item(i)
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Event is the get-event answer (EventDetail in shared/apidoc/openapi.yaml).
type Event struct {
	ID            int64      `json:"id"`
	Title         string     `json:"title"`
	Description   string     `json:"description"`
	Category      string     `json:"category"`
	City          string     `json:"city"`
	Venue         Venue      `json:"venue"`
	StartsAt      time.Time  `json:"starts_at"`
	EndsAt        *time.Time `json:"ends_at"`
	Timezone      string     `json:"timezone"`
	AgeRating     string     `json:"age_rating"`
	Price         *Price     `json:"price"`
	Accessibility Sheet      `json:"accessibility"`
	// AccessibilityDetails say where each answer comes from (the event, its venue, or
	// nobody) and the fact's provenance.
	AccessibilityDetails Details   `json:"accessibility_details"`
	Photos               []Photo   `json:"photos"`
	UpdatedAt            time.Time `json:"updated_at"`
	// Availability is the live seat count (null when never reported).
	Availability *Availability `json:"availability"`

	cityName string // for the schema.org form (JSONLD)
}

// LoadEvent reads event id with its venue, sheet and photos; an unknown id is not_found.
func LoadEvent(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, id int64, photoURL func(string) string) (*Event, error) {
	var (
		e          Event
		price      Price
		own, venue catalog.Facts
		ws, cs     pgtype.Int4
		asOf       pgtype.Timestamptz
	)
	err := db.QueryRow(ctx, `
		SELECT e.id, e.title, e.description, e.category, e.city, coalesce(c.name, e.city), v.id, v.name, v.address, v.lat, v.lon,
			e.starts_at, e.ends_at, e.timezone, e.age_rating, e.price_min::float8, e.price_max::float8,
			e.currency, coalesce(a.sheet, '{}'), coalesce(f.sheet, '{}'), e.updated_at,
			s.wheelchair_spaces, s.companion_seats, s.as_of
		FROM events e
		JOIN venues v ON v.id = e.venue_id
		LEFT JOIN cities c ON c.slug = e.city
		LEFT JOIN event_accessibility a ON a.event_id = e.id
		LEFT JOIN venue_accessibility f ON f.venue_id = e.venue_id
		LEFT JOIN event_availability s ON s.event_id = e.id
		WHERE e.id = $1`, id).Scan(&e.ID, &e.Title, &e.Description, &e.Category, &e.City, &e.cityName, &e.Venue.ID,
		&e.Venue.Name, &e.Venue.Address, &e.Venue.Lat, &e.Venue.Lon, &e.StartsAt, &e.EndsAt, &e.Timezone,
		&e.AgeRating, &price.Min, &price.Max, &price.Currency, &own, &venue, &e.UpdatedAt, &ws, &cs, &asOf)
	if err != nil {
		return nil, apperr.FromDB(fmt.Errorf("load event %d: %w", id, err), fmt.Sprintf("event %d", id))
	}
	e.StartsAt, e.UpdatedAt = e.StartsAt.UTC(), e.UpdatedAt.UTC()
	e.Availability = availability(ws, cs, asOf)
	if e.EndsAt != nil {
		t := e.EndsAt.UTC()
		e.EndsAt = &t
	}
	if price.Min != nil || price.Max != nil || price.Currency != nil {
		e.Price = &price
	}
	e.Accessibility = make(Sheet, 0, len(vocab.Constraints))
	e.AccessibilityDetails = make(Details, 0, len(vocab.Constraints))
	for _, c := range vocab.Constraints {
		f, from := catalog.Effective(c.Code, own, venue)
		e.Accessibility = append(e.Accessibility, SheetItem{Code: c.Code, Answer: f.Value})
		e.AccessibilityDetails = append(e.AccessibilityDetails, Detail{Code: c.Code, Value: f.Value, From: from,
			Source: orNull(f.Source), VerifiedAt: orNull(f.VerifiedAt)})
	}
	rows, err := db.Query(ctx, `SELECT object_key, width, height, content_type FROM event_photos
		WHERE event_id = $1 ORDER BY position, object_key`, id)
	if err != nil {
		return nil, fmt.Errorf("load photos of event %d: %w", id, err)
	}
	defer rows.Close()
	e.Photos = []Photo{}
	for rows.Next() {
		var (
			p   Photo
			key string
		)
		if err := rows.Scan(&key, &p.Width, &p.Height, &p.ContentType); err != nil {
			return nil, fmt.Errorf("load photos of event %d: %w", id, err)
		}
		p.URL = photoURL(key)
		e.Photos = append(e.Photos, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load photos of event %d: %w", id, err)
	}
	return &e, nil
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
