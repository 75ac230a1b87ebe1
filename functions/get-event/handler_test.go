package function

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/httpjson"
)

const sample = `{"id":123,"title":"Щелкунчик","description":"Балет в двух действиях","category":"theatre","city":"moscow",
"venue":{"id":45,"name":"Большой театр","address":"Театральная пл., 1","lat":55.76,"lon":37.62},
"starts_at":"2030-12-01T19:00:00+03:00","ends_at":"2030-12-01T22:00:00+03:00","timezone":"Europe/Moscow",
"age_rating":"12+","price":{"min":1500,"max":5000,"currency":"RUB"},
"accessibility":{"wheelchair_seating":"yes","sign_language":"no","elevator":"unknown"}}`

// newFixture serves get-event with a cache of 100 entries kept a minute, photo URLs under
// publicBase ("": no photo store), and the events of sample and a bare one; opts edit that.
func newFixture(t *testing.T, publicBase string, opts ...apitest.Option) *apitest.Env {
	t.Helper()
	f := apitest.New(t, Name, New, append([]apitest.Option{apitest.WithConfig(func(c *config.Config) {
		c.CacheEntries, c.CacheTTL, c.PublicPhotoBase = 100, time.Minute, publicBase
	})}, opts...)...)
	pool := f.Pool
	ctx := context.Background()
	vocab, err := catalog.LoadVocabulary(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	var e catalog.Event
	if err := httpjson.DecodeBytes([]byte(sample), &e); err != nil {
		t.Fatal(err)
	}
	e.Normalize()
	bare := catalog.Event{ID: 7, Title: "Без фото", Category: "show", City: "kazan", Venue: catalog.Venue{ID: 8, Name: "Пирамида"},
		StartsAt: time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow"}
	if _, err := catalog.UpsertEvents(ctx, pool, vocab, 3, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), []catalog.Event{e, bare}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO event_photos (event_id, object_key, content_type, width, height, bytes, position, version)
		VALUES (123, 'ph/b.webp', 'image/webp', 800, 600, 1000, 2, 3), (123, 'ph/a.jpg', 'image/jpeg', 1024, 768, 2000, 1, 3)`); err != nil {
		t.Fatal(err)
	}
	return f
}

func get(t *testing.T, f *apitest.Env, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return f.Do(t, http.MethodGet, path, nil, header...)
}

type eventBody struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Venue       struct {
		ID      int64    `json:"id"`
		Name    string   `json:"name"`
		Address string   `json:"address"`
		Lat     *float64 `json:"lat"`
		Lon     *float64 `json:"lon"`
	} `json:"venue"`
	StartsAt  string `json:"starts_at"`
	EndsAt    string `json:"ends_at"`
	AgeRating string `json:"age_rating"`
	Price     *struct {
		Min      float64 `json:"min"`
		Max      float64 `json:"max"`
		Currency string  `json:"currency"`
	} `json:"price"`
	Accessibility map[string]string `json:"accessibility"`
	Photos        []struct {
		URL         string `json:"url"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
		ContentType string `json:"content_type"`
	} `json:"photos"`
	UpdatedAt string `json:"updated_at"`
}

func TestGetEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "https://photos.example.org/base/")
	for _, path := range []string{"/123", "/?id=123"} {
		t.Run("OK"+path, func(t *testing.T) {
			resp, body := get(t, f, path, "Cache-Control", "no-cache")
			if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" || resp.Header.Get("X-Cache") != "miss" {
				t.Fatalf("got %d ETag %q X-Cache %q, want 200 with an ETag, miss", resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("X-Cache"))
			}
			var e eventBody
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatal(err)
			}
			if e.ID != 123 || e.Title != "Щелкунчик" || e.Description == "" || e.StartsAt != "2030-12-01T16:00:00Z" || e.EndsAt != "2030-12-01T19:00:00Z" || e.AgeRating != "12+" {
				t.Fatalf("got %+v, want event 123 with times in UTC", e)
			}
			if e.Venue.ID != 45 || e.Venue.Address != "Театральная пл., 1" || e.Venue.Lat == nil || *e.Venue.Lat != 55.76 || *e.Venue.Lon != 37.62 {
				t.Fatalf("got venue %+v, want 45 with address and coordinates", e.Venue)
			}
			if e.Price == nil || e.Price.Min != 1500 || e.Price.Max != 5000 || e.Price.Currency != "RUB" {
				t.Fatalf("got price %+v, want 1500..5000 RUB", e.Price)
			}
			if len(e.Accessibility) != len(catalog.Codes) {
				t.Fatalf("got %d codes in the sheet, want every one of %d", len(e.Accessibility), len(catalog.Codes))
			}
			for code, want := range map[string]string{"wheelchair_seating": "yes", "sign_language": "no", "elevator": "unknown", "braille": "unknown"} {
				if got := e.Accessibility[code]; got != want {
					t.Fatalf("got %s=%q, want %q", code, got, want)
				}
			}
			if len(e.Photos) != 2 || e.Photos[0].URL != "https://photos.example.org/base/ph/a.jpg" || e.Photos[0].Width != 1024 || e.Photos[1].ContentType != "image/webp" {
				t.Fatalf("got photos %+v, want a.jpg then b.webp under the public base", e.Photos)
			}
			if e.UpdatedAt != "2030-01-01T00:00:00Z" {
				t.Fatalf("got updated_at %q, want 2030-01-01T00:00:00Z", e.UpdatedAt)
			}
		})
	}
	t.Run("OKNoPhotosNoPrice", func(t *testing.T) {
		_, body := get(t, f, "/7")
		var raw map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		if photos, ok := raw["photos"].([]any); !ok || len(photos) != 0 {
			t.Fatalf("got photos %v, want []", raw["photos"])
		}
		if raw["price"] != nil || raw["ends_at"] != nil {
			t.Fatalf("got price %v ends_at %v, want null", raw["price"], raw["ends_at"])
		}
	})
}

func TestGetEventConditionalAndCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	resp, body := get(t, f, "/123")
	etag := resp.Header.Get("ETag")
	steps := []struct {
		name       string
		path       string
		header     []string
		wantStatus int
		wantCache  string
	}{
		{"OKHit", "/123", nil, 200, "hit"},
		{"OKHitOtherForm", "/?id=123", nil, 200, "hit"},
		{"NotModified", "/123", []string{"If-None-Match", etag}, 304, "hit"},
		{"NotModifiedWeakInList", "/123", []string{"If-None-Match", `"zzz", W/` + etag}, 304, "hit"},
		{"NotModifiedBypass", "/123", []string{"If-None-Match", etag, "Cache-Control", "no-cache"}, 304, "miss"},
		{"OKOtherETag", "/123", []string{"If-None-Match", `"other"`}, 200, "hit"},
	}
	for _, st := range steps {
		r, b := get(t, f, st.path, st.header...)
		if r.StatusCode != st.wantStatus || r.Header.Get("X-Cache") != st.wantCache || r.Header.Get("ETag") != etag {
			t.Fatalf("%s: got %d X-Cache %q ETag %q, want %d %q %q", st.name, r.StatusCode, r.Header.Get("X-Cache"), r.Header.Get("ETag"), st.wantStatus, st.wantCache, etag)
		}
		if st.wantStatus == 200 && string(b) != string(body) {
			t.Fatalf("%s: got a different body", st.name)
		}
	}
	var e eventBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Photos[0].URL != "" {
		t.Fatalf("got photo url %q with no photo store configured (no PUBLIC_PHOTO_BASE_URL, no S3_ENDPOINT), want \"\"", e.Photos[0].URL)
	}
}

func TestGetEventErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	tests := []struct {
		name, method, path string
		status             int
		code, field        string
	}{
		{"ErrNotInteger", "GET", "/abc", 400, "invalid_argument", "id"},
		{"ErrNegative", "GET", "/-5", 400, "invalid_argument", "id"},
		{"ErrOverflow", "GET", "/99999999999999999999", 400, "invalid_argument", "id"},
		{"ErrQueryNotInteger", "GET", "/?id=1.5", 400, "invalid_argument", "id"},
		{"ErrSQL", "GET", "/?id=1%27%20OR%201=1", 400, "invalid_argument", "id"},
		{"ErrMissing", "GET", "/", 400, "invalid_argument", "id"},
		{"ErrUnknown", "GET", "/999", 404, "not_found", ""},
		{"ErrMethod", "DELETE", "/123", 405, "method_not_allowed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := f.Do(t, tt.method, tt.path, nil)
			e := apitest.WantError(t, resp, b, tt.status, tt.code)
			if e.Field != tt.field || resp.Header.Get("X-Cache") != "miss" {
				t.Fatalf("got %d %+v X-Cache %q, want %d %s field %q, miss", resp.StatusCode, e, resp.Header.Get("X-Cache"), tt.status, tt.code, tt.field)
			}
		})
	}
}

// Every code says where its answer comes from: the event's own statement, its venue's, or
// nobody; with the fact's provenance where it has one.
func TestGetEventDetails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "")
	ctx := context.Background()
	vocab, err := catalog.LoadVocabulary(ctx, f.Pool)
	if err != nil {
		t.Fatal(err)
	}
	e := catalog.Event{ID: 9, Title: "Вечер", Category: "concert", City: "moscow",
		Venue: catalog.Venue{ID: 45, Name: "Большой театр", Accessibility: &catalog.Facts{
			"step_free_entrance": {Value: "yes", Source: "venue_survey", VerifiedAt: "2026-05-01"},
			"accessible_parking": {Value: "not_applicable"}, "sign_language": {Value: "no"}}},
		StartsAt: time.Date(2030, 2, 1, 16, 0, 0, 0, time.UTC), Timezone: "Europe/Moscow",
		Accessibility: catalog.Facts{"sign_language": {Value: "yes", Source: "organiser", VerifiedAt: "2030-01-20T10:00:00Z"}}}
	if _, err := catalog.UpsertEvents(ctx, f.Pool, vocab, 4, time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), []catalog.Event{e}); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, f, "/9")
	var got struct {
		Accessibility map[string]string `json:"accessibility"`
		Details       map[string]struct {
			Value, From string
			RawSource   *string `json:"source"`
			RawVerified *string `json:"verified_at"`
		} `json:"accessibility_details"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Details) != len(catalog.Codes) {
		t.Fatalf("got %d details, want every one of %d codes", len(got.Details), len(catalog.Codes))
	}
	str := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	for code, want := range map[string][4]string{
		"sign_language":      {"yes", "event", "organiser", "2030-01-20T10:00:00Z"}, // the session's own answer wins
		"step_free_entrance": {"yes", "venue", "venue_survey", "2026-05-01"},
		"accessible_parking": {"not_applicable", "venue", "null", "null"},
		"braille":            {"unknown", "none", "null", "null"},
	} {
		d := got.Details[code]
		if d.Value != want[0] || d.From != want[1] || str(d.RawSource) != want[2] || str(d.RawVerified) != want[3] {
			t.Errorf("%s: got %s from %s (%s, %s), want %v", code, d.Value, d.From, str(d.RawSource), str(d.RawVerified), want)
		}
		if got.Accessibility[code] != want[0] {
			t.Errorf("%s: got accessibility %q, want the effective %q", code, got.Accessibility[code], want[0])
		}
	}
}

func TestGetEventJSONLD(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "https://photos.example.org/base/")
	resp, plain := get(t, f, "/123")
	plainTag := resp.Header.Get("ETag")
	ld := []string{"Accept", "application/ld+json"}
	resp, body := get(t, f, "/123", ld...)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/ld+json; charset=utf-8" || resp.Header.Get("X-Cache") != "miss" {
		t.Fatalf("got %d %q X-Cache %q, want 200 application/ld+json, miss", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Cache"))
	}
	tag := resp.Header.Get("ETag")
	if tag == "" || tag == plainTag || resp.Header.Get("Vary") != "Accept" {
		t.Fatalf("got ETag %q (JSON's %q) and Vary %q, want an ETag of its own and Vary: Accept", tag, plainTag, resp.Header.Get("Vary"))
	}
	var doc struct {
		Context  string   `json:"@context"`
		Type     string   `json:"@type"`
		Name     string   `json:"name"`
		Image    []string `json:"image"`
		Location struct {
			Name           string `json:"name"`
			AmenityFeature []struct {
				PropertyID string `json:"propertyID"`
				Value      bool   `json:"value"`
			} `json:"amenityFeature"`
		} `json:"location"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Context != "https://schema.org" || doc.Type != "TheaterEvent" || doc.Name != "Щелкунчик" || doc.Location.Name != "Большой театр" ||
		len(doc.Image) != 2 || len(doc.Location.AmenityFeature) != 2 {
		t.Fatalf("got %+v, want the theatre event with its place, 2 images and its 2 stated answers", doc)
	}
	for _, step := range []struct {
		name   string
		header []string
		status int
		cache  string
		etag   string
		body   []byte
	}{
		{"OKHit", ld, 200, "hit", tag, body},
		{"OKJSONStillItsOwn", nil, 200, "hit", plainTag, plain},
		{"NotModified", []string{"Accept", "application/ld+json", "If-None-Match", tag}, 304, "hit", tag, nil},
		{"OKJSONPreferred", []string{"Accept", "application/ld+json;q=0.5, application/json"}, 200, "hit", plainTag, plain},
		{"OKAnything", []string{"Accept", "*/*"}, 200, "hit", plainTag, plain},
	} {
		r, b := get(t, f, "/123", step.header...)
		if r.StatusCode != step.status || r.Header.Get("X-Cache") != step.cache || r.Header.Get("ETag") != step.etag ||
			(step.body != nil && string(b) != string(step.body)) {
			t.Fatalf("%s: got %d X-Cache %q ETag %q, want %d %q %q and its body", step.name, r.StatusCode, r.Header.Get("X-Cache"), r.Header.Get("ETag"), step.status, step.cache, step.etag)
		}
	}
}

func TestWantsLD(t *testing.T) {
	for _, tt := range []struct {
		accept []string
		want   bool
	}{
		{nil, false},
		{[]string{"application/ld+json"}, true},
		{[]string{"application/json"}, false},
		{[]string{"application/ld+json, application/json"}, true},
		{[]string{"application/json", "application/ld+json;q=0.9"}, false},
		{[]string{"application/ld+json;q=0"}, false},
		{[]string{"text/html, application/ld+json;q=0.8, */*;q=0.1"}, true},
		{[]string{"*/*"}, false},
		{[]string{"application/ld+json; profile=\"https://www.w3.org/ns/json-ld#compacted\""}, true},
	} {
		if got := wantsLD(tt.accept); got != tt.want {
			t.Errorf("Accept %q: got %v, want %v", tt.accept, got, tt.want)
		}
	}
}

// get-event reads as the read-only role, whose statements end after 2 s: one that waits that
// long (here on a lock) is 503 with Retry-After, never 500, unless the cache holds the event
// past its age bound: then that is the answer, marked X-Cache: stale. Once the lock is gone
// the next one is served from the database.
func TestStatementTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	const ttl = 100 * time.Millisecond
	f := newFixture(t, "", apitest.WithConfig(func(c *config.Config) { c.CacheTTL = ttl }))
	if got := f.DatabaseUser(t); got != migrations.ReaderRole {
		t.Fatalf("got get-event connected as %s, want %s", got, migrations.ReaderRole)
	}
	cached, fresh := get(t, f, "/123")
	cachedBy := time.Now()
	if cached.StatusCode != http.StatusOK || cached.Header.Get("X-Cache") != "miss" {
		t.Fatalf("got %d X-Cache %q, want 200 miss", cached.StatusCode, cached.Header.Get("X-Cache"))
	}
	<-time.After(time.Until(cachedBy.Add(ttl))) // the cached answer is past its age bound
	release := f.Lock(t, "events")
	for _, tt := range []struct {
		name, path string
		header     []string
	}{{"Uncached", "/123", []string{"Cache-Control", "no-cache"}}, {"NotInCache", "/7", nil}} {
		resp, b := get(t, f, tt.path, tt.header...)
		apitest.WantError(t, resp, b, http.StatusServiceUnavailable, "unavailable")
		if resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: got no Retry-After, want one", tt.name)
		}
	}
	resp, b := get(t, f, "/123")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cache") != "stale" || string(b) != string(fresh) {
		t.Fatalf("got %d X-Cache %q %s, want 200 stale with the cached event", resp.StatusCode, resp.Header.Get("X-Cache"), b)
	}
	release()
	if resp, b := get(t, f, "/123"); resp.StatusCode != http.StatusOK || resp.Header.Get("X-Cache") != "miss" {
		t.Fatalf("got %d X-Cache %q %s once the lock is gone, want 200 from the database", resp.StatusCode, resp.Header.Get("X-Cache"), b)
	}
}
