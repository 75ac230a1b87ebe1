package search_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/jsoncodec"
	"github.com/dostupno/dostupno/shared/search"
)

// The answers are encoded with jsoncodec.MarshalTrusted (SearchEntry, EventEntry), faster
// than encoding/json; their bytes are the contract's and the ETag's, so they must be the bytes
// encoding/json writes: HTML-safe escaping, invalid UTF-8 replaced, line separators escaped,
// null pointers, empty and absent slices, times and the sheets' own MarshalJSON.
func TestAnswersEncodeAsEncodingJSON(t *testing.T) {
	odd := "<Гамлет> & \"Офелия\" \u2028\u2029 \xff\x01 tab\t"
	url, src, at := "https://photos.example/a?b=1&c=<2>", "venue_survey", "2026-05-01"
	lat, minPrice, cur := 55.75, 1500.5, "RUB"
	ends := time.Date(2027, 1, 2, 21, 30, 0, 0, time.UTC)
	unknown := []string{}
	page := search.Page{
		Items: []search.Summary{
			{SummaryHead: search.SummaryHead{ID: 1, Title: odd, Category: "theatre", City: "moscow", Venue: search.VenueRef{ID: 7, Name: odd},
				StartsAt: time.Date(2027, 1, 2, 19, 0, 0, 0, time.UTC), EndsAt: &ends, Timezone: "Europe/Moscow"},
				Accessibility: []string{"step_free_entrance"}, CoverURL: &url, Unknown: &unknown,
				Availability: &search.Availability{WheelchairSpaces: 2, CompanionSeats: 0, AsOf: ends}},
			{SummaryHead: search.SummaryHead{ID: 2, Title: ""}, Accessibility: nil},
		},
		AppliedConstraints: []string{},
	}
	event := search.Event{
		ID: 1, Title: odd, Description: odd, Venue: search.Venue{ID: 7, Name: odd, Lat: &lat},
		StartsAt: ends, Price: &search.Price{Min: &minPrice, Currency: &cur},
		Accessibility: search.Sheet{{Code: "step_free_entrance", Answer: "yes"}, {Code: "braille", Answer: "unknown"}},
		AccessibilityDetails: search.Details{{Code: "step_free_entrance", Value: "yes", From: "venue", Source: &src, VerifiedAt: &at},
			{Code: "braille", Value: "unknown", From: "none"}},
		Photos: []search.Photo{{URL: url, Width: 800, Height: 600, ContentType: "image/jpeg"}},
	}
	for name, v := range map[string]any{"page": page, "event": &event} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := jsoncodec.MarshalTrusted(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: jsoncodec wrote\n%s\nencoding/json writes\n%s", name, got, want)
		}
	}
}
