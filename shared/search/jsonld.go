package search

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/dostupno/dostupno/shared/catalog"
)

// The schema.org form of an event (README, "Standards"), served by get-event to a client that
// asks for application/ld+json. Every type and property here exists in schema.org 30.0 and
// sits on a type its domainIncludes allows, with a value its rangeIncludes allows (checked by
// TestJSONLDFollowsSchemaOrg against the vocabulary itself).
//
// A building's facts are amenityFeature entries of the event's location (Place); the
// event's own statements (its services, such as sign-language interpreting, and its
// exceptions to the building's facts) are amenityFeature entries of the same place valid only
// from the event's start to its end (validFrom, validThrough): schema.org gives an Event no
// accessibility property of its own (accessibilityFeature and its kin sit on CreativeWork,
// and the work performed is not the session), while a feature of a place limited to the hours
// of one session says what a person attending it will find.

// schemaTypes are the schema.org Event types of the categories that have one.
var schemaTypes = map[string]string{
	"concert": "MusicEvent", "opera": "MusicEvent", "theatre": "TheaterEvent", "ballet": "DanceEvent",
	"exhibition": "ExhibitionEvent", "cinema": "ScreeningEvent", "lecture": "EducationEvent",
	"festival": "Festival", "kids": "ChildrensEvent", "standup": "ComedyEvent",
}

type ldEvent struct {
	Context             string   `json:"@context"`
	Type                string   `json:"@type"`
	Identifier          string   `json:"identifier"`
	Name                string   `json:"name"`
	Description         string   `json:"description,omitempty"`
	StartDate           string   `json:"startDate"`
	EndDate             string   `json:"endDate,omitempty"`
	EventStatus         string   `json:"eventStatus"`
	EventAttendanceMode string   `json:"eventAttendanceMode"`
	TypicalAgeRange     string   `json:"typicalAgeRange,omitempty"`
	IsAccessibleForFree bool     `json:"isAccessibleForFree,omitempty"`
	Location            ldPlace  `json:"location"`
	Offers              *ldOffer `json:"offers,omitempty"`
	Image               []string `json:"image,omitempty"`
}

type ldPlace struct {
	Type           string      `json:"@type"`
	Identifier     string      `json:"identifier"`
	Name           string      `json:"name"`
	Address        ldAddress   `json:"address"`
	Geo            *ldGeo      `json:"geo,omitempty"`
	AmenityFeature []ldFeature `json:"amenityFeature,omitempty"`
}

type ldAddress struct {
	Type            string `json:"@type"`
	StreetAddress   string `json:"streetAddress,omitempty"`
	AddressLocality string `json:"addressLocality"`
}

type ldGeo struct {
	Type      string  `json:"@type"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type ldFeature struct {
	Type         string `json:"@type"`
	PropertyID   string `json:"propertyID"`
	Name         string `json:"name"`
	Value        bool   `json:"value"`
	Description  string `json:"description,omitempty"`
	ValidFrom    string `json:"validFrom,omitempty"`
	ValidThrough string `json:"validThrough,omitempty"`
}

type ldOffer struct {
	Type          string   `json:"@type"`
	Price         *float64 `json:"price,omitempty"`
	LowPrice      *float64 `json:"lowPrice,omitempty"`
	HighPrice     *float64 `json:"highPrice,omitempty"`
	PriceCurrency string   `json:"priceCurrency,omitempty"`
}

// JSONLD is e in its schema.org form; vocab names the codes.
func (e *Event) JSONLD(vocab *catalog.Vocabulary) ([]byte, error) {
	loc, err := time.LoadLocation(e.Timezone)
	if err != nil {
		loc = time.UTC // the zone was valid when the event was written
	}
	at := func(t time.Time) string { return t.In(loc).Format(time.RFC3339) }
	ld := ldEvent{
		Context: "https://schema.org", Type: "Event", Identifier: strconv.FormatInt(e.ID, 10),
		Name: e.Title, Description: e.Description, StartDate: at(e.StartsAt),
		EventStatus:         "https://schema.org/EventScheduled",
		EventAttendanceMode: "https://schema.org/OfflineEventAttendanceMode",
		Location: ldPlace{Type: "Place", Identifier: strconv.FormatInt(e.Venue.ID, 10), Name: e.Venue.Name,
			Address: ldAddress{Type: "PostalAddress", StreetAddress: e.Venue.Address, AddressLocality: e.cityName}},
	}
	if t, ok := schemaTypes[e.Category]; ok {
		ld.Type = t
	}
	if e.EndsAt != nil {
		ld.EndDate = at(*e.EndsAt)
	}
	if age, ok := strings.CutSuffix(e.AgeRating, "+"); ok {
		ld.TypicalAgeRange = age + "-" // schema.org's "from this age on"
	}
	if e.Venue.Lat != nil && e.Venue.Lon != nil {
		ld.Location.Geo = &ldGeo{Type: "GeoCoordinates", Latitude: *e.Venue.Lat, Longitude: *e.Venue.Lon}
	}
	if p := e.Price; p != nil && (p.Min != nil || p.Max != nil) {
		o := &ldOffer{Type: "Offer"}
		if p.Currency != nil {
			o.PriceCurrency = *p.Currency
		}
		switch {
		case p.Min != nil && p.Max != nil && *p.Min == *p.Max:
			o.Price = p.Min
			ld.IsAccessibleForFree = *p.Min == 0
		default:
			o.Type, o.LowPrice, o.HighPrice = "AggregateOffer", p.Min, p.Max
		}
		ld.Offers = o
	}
	for _, ph := range e.Photos {
		ld.Image = append(ld.Image, ph.URL)
	}
	for _, d := range e.AccessibilityDetails {
		if !catalog.Stated(d.Value) {
			continue // unknown: schema.org has no way to say it, and leaving it out says it
		}
		c, _ := vocab.Constraint(d.Code)
		f := ldFeature{Type: "LocationFeatureSpecification", PropertyID: d.Code, Name: c.Title.RU, Value: d.Value == catalog.Yes}
		if d.Value == catalog.NotApplicable {
			f.Description = "Не применимо: этого здесь нет (not applicable)"
		}
		if d.From == catalog.FromEvent {
			f.ValidFrom = ld.StartDate
			f.ValidThrough = ld.EndDate
			if f.ValidThrough == "" {
				f.ValidThrough = ld.StartDate
			}
		}
		ld.Location.AmenityFeature = append(ld.Location.AmenityFeature, f)
	}
	return json.Marshal(ld)
}
