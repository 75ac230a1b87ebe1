package function

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dostupno/dostupno/shared/apperr"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/httpjson"
)

// FuzzUpdates reads any body as the function does, as JSON and as NDJSON: it never panics,
// refuses with a contract error (400 or 413, never an internal one), and every update it
// accepts is one a copy can store.
func FuzzUpdates(f *testing.F) {
	for _, s := range []string{
		update(1, 3, 2, 10),
		update(1, 3, 2, 10) + "\n\n" + update(2, 0, 0, 0) + "\n",
		`{"event_id":1,"wheelchair_spaces":1,"companion_seats":1,"as_of":"2026-11-20T12:00:00.123456789+03:00"}`,
		`{"event_id":1,"wheelchair_spaces":1e3,"companion_seats":1,"as_of":"2026-11-20T12:00:00Z"}`,
		`{"event_id":-1,"wheelchair_spaces":null,"companion_seats":"1","as_of":1}`,
		`{"event_id":1,"event_id":2}`, `[]`, `null`, "{\"as_of\":\"\\u0000\"}", "\xff",
	} {
		f.Add([]byte(s))
	}
	b := httpjson.Batch{Noun: "update", MaxOne: MaxUpdateBody, MaxMany: MaxNDJSONBody, MaxLines: 100, TooMany: "split"}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{"application/json", "application/x-ndjson"} {
			r := httptest.NewRequest(http.MethodPut, "/", bytes.NewReader(body))
			r.Header.Set("Content-Type", ct)
			updates, _, err := httpjson.ReadBatch(httptest.NewRecorder(), r, b, check)
			if err != nil {
				if c := apperr.CodeOf(err); c != apperr.InvalidArgument && c != apperr.PayloadTooLarge {
					t.Fatalf("%s %q: got %v (%s), want invalid_argument or payload_too_large", ct, body, err, c)
				}
				continue
			}
			for _, u := range updates {
				if u.EventID <= 0 || u.WheelchairSpaces < 0 || u.WheelchairSpaces > catalog.MaxSeats ||
					u.CompanionSeats < 0 || u.CompanionSeats > catalog.MaxSeats || u.AsOf.IsZero() || u.AsOf.Location() != time.UTC {
					t.Fatalf("%s %q: accepted %+v", ct, body, u)
				}
			}
		}
	})
}
