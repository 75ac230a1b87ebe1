package catalog

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // IANA zones even in a minimal image
	"unicode/utf8"

	"github.com/dostupno/dostupno/shared/apperr"
)

// Venue is where an event happens. Accessibility, when given, is the venue's own sheet (the
// building's facts), which replaces the one stored; when absent the stored one stays.
type Venue struct {
	ID            int64    `json:"id"`
	Name          string   `json:"name"`
	Address       string   `json:"address,omitempty"`
	Lat           *float64 `json:"lat,omitempty"`
	Lon           *float64 `json:"lon,omitempty"`
	Accessibility *Facts   `json:"accessibility,omitempty"`
}

// VenueInput is a venue as upsert-venue takes it (shared/apidoc/openapi.yaml, VenueInput):
// the venue and the city it is in.
type VenueInput struct {
	Venue
	City string `json:"city"`
}

// Price is a ticket price range.
type Price struct {
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
	Currency string   `json:"currency,omitempty"`
}

// Event is an event as admins send it and import files hold it (shared/apidoc/openapi.yaml,
// EventInput). CityName and CategoryName are optional display names for a slug seen for the first time.
type Event struct {
	ID            int64      `json:"id"`
	Title         string     `json:"title"`
	Description   string     `json:"description,omitempty"`
	Category      string     `json:"category"`
	CategoryName  string     `json:"category_name,omitempty"`
	City          string     `json:"city"`
	CityName      string     `json:"city_name,omitempty"`
	Venue         Venue      `json:"venue"`
	StartsAt      time.Time  `json:"starts_at"`
	EndsAt        *time.Time `json:"ends_at,omitempty"`
	Timezone      string     `json:"timezone"`
	AgeRating     string     `json:"age_rating,omitempty"`
	Price         *Price     `json:"price,omitempty"`
	Accessibility Facts      `json:"accessibility,omitempty"`
}

// Limits of an event's fields.
const (
	MaxTitle       = 300
	MaxDescription = 20000
	MaxName        = 300
	MaxAddress     = 500
	MaxSlug        = 64
)

var (
	slugRE      = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	ageRE       = regexp.MustCompile(`^(0|6|12|16|18)\+$`)
	currencyRE  = regexp.MustCompile(`^[A-Z]{3}$`)
	earliestRun = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latestRun   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ValidSlug reports whether s is a city or category slug.
func ValidSlug(s string) bool { return len(s) <= MaxSlug && slugRE.MatchString(s) }

// Normalize trims text fields, puts times in UTC and drops "unknown" answers (missing means
// unknown), so that equal events have equal encodings.
func (e *Event) Normalize() {
	e.Venue.normalize()
	e.Title = strings.TrimSpace(e.Title)
	e.Description = strings.TrimSpace(e.Description)
	e.Category = strings.TrimSpace(e.Category)
	e.City = strings.TrimSpace(e.City)
	e.CityName = strings.TrimSpace(e.CityName)
	e.CategoryName = strings.TrimSpace(e.CategoryName)
	e.Timezone = strings.TrimSpace(e.Timezone)
	e.AgeRating = strings.TrimSpace(e.AgeRating)
	e.StartsAt = e.StartsAt.UTC()
	if e.EndsAt != nil {
		t := e.EndsAt.UTC()
		e.EndsAt = &t
	}
	e.Accessibility.Normalize()
}

func (v *Venue) normalize() {
	v.Name = strings.TrimSpace(v.Name)
	v.Address = strings.TrimSpace(v.Address)
	if v.Accessibility != nil {
		v.Accessibility.Normalize()
	}
}

// Normalize trims text fields and drops unknown answers, as Event.Normalize does.
func (v *VenueInput) Normalize() {
	v.Venue.normalize()
	v.City = strings.TrimSpace(v.City)
}

// Validate checks v field by field (call Normalize first); the error names the first field
// at fault.
func (v *VenueInput) Validate() error {
	if err := v.Venue.validate(""); err != nil {
		return err
	}
	if !ValidSlug(v.City) {
		return apperr.Invalid("city", "city must be a slug such as \"moscow\" (lower-case latin letters, digits and dashes)")
	}
	return nil
}

// validate checks the venue's fields, named with prefix ("venue." in an event).
func (v *Venue) validate(prefix string) error {
	if v.ID <= 0 {
		return apperr.Invalid(prefix+"id", "%sid must be a positive integer", prefix)
	}
	if err := text(prefix+"name", v.Name, 1, MaxName); err != nil {
		return err
	}
	if err := text(prefix+"address", v.Address, 0, MaxAddress); err != nil {
		return err
	}
	if (v.Lat == nil) != (v.Lon == nil) {
		return apperr.Invalid(prefix+"lat", "%slat and %slon go together", prefix, prefix)
	}
	if v.Lat != nil && (math.IsNaN(*v.Lat) || *v.Lat < -90 || *v.Lat > 90) {
		return apperr.Invalid(prefix+"lat", "%slat must be -90..90", prefix)
	}
	if v.Lon != nil && (math.IsNaN(*v.Lon) || *v.Lon < -180 || *v.Lon > 180) {
		return apperr.Invalid(prefix+"lon", "%slon must be -180..180", prefix)
	}
	if v.Accessibility != nil {
		return v.Accessibility.Validate(prefix + "accessibility")
	}
	return nil
}

// text checks that v is valid UTF-8 of min..max characters.
func text(field, v string, min, max int) error {
	if !utf8.ValidString(v) {
		return apperr.Invalid(field, "%s is not valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(v); n < min || n > max {
		if min > 0 && n == 0 {
			return apperr.Invalid(field, "%s is required", field)
		}
		return apperr.Invalid(field, "%s must be %d..%d characters", field, min, max)
	}
	return nil
}

// Validate checks e field by field (call Normalize first); the error names the first field at
// fault (e.g. "venue.lat", "accessibility.elevator").
func (e *Event) Validate() error {
	switch {
	case e.ID <= 0:
		return apperr.Invalid("id", "id must be a positive integer")
	}
	if err := text("title", e.Title, 1, MaxTitle); err != nil {
		return err
	}
	if err := text("description", e.Description, 0, MaxDescription); err != nil {
		return err
	}
	if !ValidSlug(e.Category) {
		return apperr.Invalid("category", "category must be a slug such as \"concert\" (lower-case latin letters, digits and dashes)")
	}
	if !ValidSlug(e.City) {
		return apperr.Invalid("city", "city must be a slug such as \"moscow\" (lower-case latin letters, digits and dashes)")
	}
	if err := text("city_name", e.CityName, 0, MaxName); err != nil {
		return err
	}
	if err := text("category_name", e.CategoryName, 0, MaxName); err != nil {
		return err
	}
	if err := e.Venue.validate("venue."); err != nil {
		return err
	}
	if e.StartsAt.IsZero() {
		return apperr.Invalid("starts_at", "starts_at is required (RFC 3339)")
	}
	if e.StartsAt.Before(earliestRun) || e.StartsAt.After(latestRun) {
		return apperr.Invalid("starts_at", "starts_at must be between 2000 and 2200")
	}
	if e.EndsAt != nil && e.EndsAt.Before(e.StartsAt) {
		return apperr.Invalid("ends_at", "ends_at must not be before starts_at")
	}
	if e.EndsAt != nil && e.EndsAt.After(latestRun) {
		return apperr.Invalid("ends_at", "ends_at must be before 2200")
	}
	if e.Timezone == "" {
		return apperr.Invalid("timezone", "timezone is required (an IANA name such as Europe/Moscow)")
	}
	if !validZone(e.Timezone) {
		return apperr.Invalid("timezone", "timezone must be an IANA name such as Europe/Moscow")
	}
	if e.AgeRating != "" && !ageRE.MatchString(e.AgeRating) {
		return apperr.Invalid("age_rating", "age_rating must be one of 0+, 6+, 12+, 16+, 18+")
	}
	if p := e.Price; p != nil {
		for _, f := range []struct {
			name string
			v    *float64
		}{{"price.min", p.Min}, {"price.max", p.Max}} {
			if f.v != nil && (math.IsNaN(*f.v) || *f.v < 0 || *f.v > 1e9) {
				return apperr.Invalid(f.name, "%s must be 0..1000000000", f.name)
			}
		}
		if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
			return apperr.Invalid("price.max", "price.max must not be below price.min")
		}
		if (p.Min != nil || p.Max != nil) && !currencyRE.MatchString(p.Currency) {
			return apperr.Invalid("price.currency", "price.currency must be an ISO 4217 code such as RUB")
		}
		if p.Currency != "" && !currencyRE.MatchString(p.Currency) {
			return apperr.Invalid("price.currency", "price.currency must be an ISO 4217 code such as RUB")
		}
	}
	return e.Accessibility.Validate("accessibility")
}

// zones holds the IANA names already found valid: time.LoadLocation reads the zone database on
// every call, which was a sixth of an import's own CPU. Only valid names are kept, so the map is
// bounded by the zone database (about 600 names) whatever the input.
var zones sync.Map

func validZone(name string) bool {
	if _, ok := zones.Load(name); ok {
		return true
	}
	if name == "Local" || len(name) > 64 {
		return false
	}
	if _, err := time.LoadLocation(name); err != nil {
		return false
	}
	zones.Store(name, true)
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%.*s…", n, s)
}
