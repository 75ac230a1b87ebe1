package search

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

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
// answered yes, no or unknown.
type Sheet []SheetItem

// SheetItem is one answer of a sheet.
type SheetItem struct{ Code, Answer string }

// MarshalJSON writes the sheet as an object in catalog order.
func (s Sheet) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, it := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(it.Code) // a string always encodes
		v, _ := json.Marshal(it.Answer)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
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
	Photos        []Photo    `json:"photos"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// LoadEvent reads event id with its venue, sheet and photos; an unknown id is not_found.
func LoadEvent(ctx context.Context, db pgdb.DBTX, vocab *catalog.Vocabulary, id int64, photoURL func(string) string) (*Event, error) {
	var (
		e     Event
		price Price
		sheet map[string]string
	)
	err := db.QueryRow(ctx, `
		SELECT e.id, e.title, e.description, e.category, e.city, v.id, v.name, v.address, v.lat, v.lon,
			e.starts_at, e.ends_at, e.timezone, e.age_rating, e.price_min::float8, e.price_max::float8,
			e.currency, coalesce(a.sheet, '{}'), e.updated_at
		FROM events e
		JOIN venues v ON v.id = e.venue_id
		LEFT JOIN event_accessibility a ON a.event_id = e.id
		WHERE e.id = $1`, id).Scan(&e.ID, &e.Title, &e.Description, &e.Category, &e.City, &e.Venue.ID,
		&e.Venue.Name, &e.Venue.Address, &e.Venue.Lat, &e.Venue.Lon, &e.StartsAt, &e.EndsAt, &e.Timezone,
		&e.AgeRating, &price.Min, &price.Max, &price.Currency, &sheet, &e.UpdatedAt)
	if err != nil {
		return nil, apperr.FromDB(fmt.Errorf("load event %d: %w", id, err), fmt.Sprintf("event %d", id))
	}
	e.StartsAt, e.UpdatedAt = e.StartsAt.UTC(), e.UpdatedAt.UTC()
	if e.EndsAt != nil {
		t := e.EndsAt.UTC()
		e.EndsAt = &t
	}
	if price.Min != nil || price.Max != nil || price.Currency != nil {
		e.Price = &price
	}
	e.Accessibility = make(Sheet, 0, len(vocab.Constraints))
	for _, c := range vocab.Constraints {
		answer := sheet[c.Code]
		if answer != catalog.Yes && answer != catalog.No {
			answer = catalog.Unknown
		}
		e.Accessibility = append(e.Accessibility, SheetItem{Code: c.Code, Answer: answer})
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
