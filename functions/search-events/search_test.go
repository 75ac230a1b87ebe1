package function

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dostupno/dostupno/migrations"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/catalog"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/hotcache"
	"github.com/dostupno/dostupno/shared/instance"
)

// base is the start of the test catalog; "now" of the tests is one day earlier.
var base = time.Date(2030, 3, 1, 10, 0, 0, 0, time.UTC)

type fixture struct {
	*apitest.Env
	s    *Server
	auth string // Authorization of every request ("" for none)
}

// withCache gives the function a cache of 1000 entries kept a minute, and public photo URLs.
var withCache = apitest.WithConfig(func(c *config.Config) {
	c.CacheEntries, c.CacheTTL, c.PublicPhotoBase = 1000, time.Minute, "https://photos.example.org"
})

func newFixture(t *testing.T, events []catalog.Event) *fixture {
	t.Helper()
	f := &fixture{}
	f.Env = apitest.New(t, Name, func(d *instance.Deps) (http.Handler, error) {
		s, err := NewServer(d)
		if err != nil {
			return nil, err
		}
		s.now = func() time.Time { return base.Add(-24 * time.Hour) }
		f.s = s
		return s.Handler(), nil
	}, withCache)
	ctx := context.Background()
	vocab, err := catalog.LoadVocabulary(ctx, f.Pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) > 0 {
		if _, err := catalog.UpsertEvents(ctx, f.Pool, vocab, 1, base.Add(-48*time.Hour), events); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// event makes a test event: id, hours after base, city, category, yes codes.
func event(id int64, hours int, city, category, title string, yes ...string) catalog.Event {
	lat, lon := 55.75, 37.61
	acc := map[string]string{"braille": "no"}
	for _, c := range yes {
		acc[c] = "yes"
	}
	return catalog.Event{
		ID: id, Title: title, Description: "Описание события " + title, Category: category, City: city,
		Venue:    catalog.Venue{ID: 100 + id%3, Name: fmt.Sprintf("Площадка %d", id%3), Address: "ул. Тверская, 1", Lat: &lat, Lon: &lon},
		StartsAt: base.Add(time.Duration(hours) * time.Hour), Timezone: "Europe/Moscow", Accessibility: catalog.Answers(acc),
	}
}

type summary struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	Category string `json:"category"`
	City     string `json:"city"`
	Venue    struct {
		ID   int64
		Name string
	}
	StartsAt      string   `json:"starts_at"`
	Timezone      string   `json:"timezone"`
	Accessibility []string `json:"accessibility"`
	CoverURL      *string  `json:"cover_url"`
}

type page struct {
	Items              []summary `json:"items"`
	NextCursor         *string   `json:"next_cursor"`
	AppliedConstraints []string  `json:"applied_constraints"`
}

func (f *fixture) get(t *testing.T, query string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return f.Do(t, http.MethodGet, "/?"+query, nil, append([]string{"Authorization", f.auth}, header...)...)
}

func (f *fixture) page(t *testing.T, query string) page {
	t.Helper()
	resp, body := f.get(t, query)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET ?%s: got %d %s, want 200", query, resp.StatusCode, body)
	}
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return p
}

func ids(p page) []int64 {
	out := []int64{}
	for _, it := range p.Items {
		out = append(out, it.ID)
	}
	return out
}

func testCatalog() []catalog.Event {
	return []catalog.Event{
		event(1, 1, "moscow", "concert", "Концерт органной музыки", "step_free_entrance", "wheelchair_seating", "accessible_toilet"),
		event(2, 2, "moscow", "theatre", "Щелкунчик", "sign_language", "step_free_entrance"),
		event(3, 3, "kazan", "concert", "Jazz evening", "step_free_entrance", "braille"),
		event(4, 3, "moscow", "exhibition", "Выставка импрессионистов", "tactile_exhibits", "audio_description", "guide_dog_allowed"),
		event(5, 24*10, "moscow", "concert", "Рок-концерт", "hearing_loop"),
		event(6, -30, "moscow", "concert", "Прошедший концерт", "step_free_entrance"),
		event(7, 24*40, "saint-petersburg", "show", "Шоу иллюзионистов", "step_free_entrance", "elevator"),
	}
}

func TestSearchFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testCatalog())
	tests := []struct {
		name    string
		query   string
		want    []int64
		applied []string
	}{
		{"OKAllUpcomingInOrder", "", []int64{1, 2, 3, 4, 5, 7}, []string{}},
		{"OKFromIncludesPast", "from=" + url.QueryEscape(base.Add(-48*time.Hour).Format(time.RFC3339)), []int64{6, 1, 2, 3, 4, 5, 7}, []string{}},
		{"OKConstraint", "constraints=step_free_entrance", []int64{1, 2, 3, 7}, []string{"step_free_entrance"}},
		{"OKConstraintsAllRequired", "constraints=sign_language,step_free_entrance", []int64{2}, []string{"step_free_entrance", "sign_language"}},
		{"OKConstraintsRepeatedParam", "constraints=step_free_entrance&constraints=braille", []int64{3}, []string{"step_free_entrance", "braille"}},
		{"OKConstraintsCaseAndBlanks", "constraints=%20Step_Free_Entrance%20,,", []int64{1, 2, 3, 7}, []string{"step_free_entrance"}},
		{"OKProfile", "profile=wheelchair", []int64{1}, []string{"step_free_entrance", "wheelchair_seating", "accessible_toilet"}},
		{"OKProfilePlusConstraint", "profile=mobility&constraints=step_free_entrance", []int64{7}, []string{"step_free_entrance", "elevator"}},
		{"OKNoAnswerIsNotYes", "constraints=braille&city=moscow", []int64{}, []string{"braille"}},
		{"OKCity", "city=moscow", []int64{1, 2, 4, 5}, []string{}},
		{"OKCityUnknown", "city=atlantis", []int64{}, []string{}},
		{"OKCategoryAny", "category=theatre,show", []int64{2, 7}, []string{}},
		{"OKCategoryOne", "category=concert&city=moscow", []int64{1, 5}, []string{}},
		{"OKWindow", "from=" + url.QueryEscape(base.Format(time.RFC3339)) + "&to=" + url.QueryEscape(base.Add(3*time.Hour).Format(time.RFC3339)), []int64{1, 2}, []string{}},
		{"OKTextRussianStemming", "q=" + url.QueryEscape("концерты"), []int64{1, 5}, []string{}},
		{"OKTextEnglishStemming", "q=evenings", []int64{3}, []string{}},
		{"OKTextVenue", "q=" + url.QueryEscape("площадка") + "&city=kazan", []int64{3}, []string{}},
		{"OKTextSQLMetacharacters", "q=" + url.QueryEscape(`'; DROP TABLE events; -- "x" OR 1=1 \ %_`), []int64{}, []string{}},
		{"OKTextOnlyPunctuation", "q=" + url.QueryEscape(`!!! &&& |||`), []int64{}, []string{}},
		{"OKLimit", "limit=2", []int64{1, 2}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := f.page(t, tt.query)
			if got := ids(p); !slices.Equal(got, tt.want) {
				t.Fatalf("got ids %v, want %v", got, tt.want)
			}
			if !slices.Equal(p.AppliedConstraints, tt.applied) {
				t.Fatalf("got applied %v, want %v", p.AppliedConstraints, tt.applied)
			}
		})
	}
}

func TestSearchSummary(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testCatalog())
	if _, err := f.Pool.Exec(context.Background(), `INSERT INTO event_photos (event_id, object_key, content_type, width, height, bytes, position, version)
		VALUES (1, 'b/second.jpg', 'image/jpeg', 10, 10, 100, 2, 1), (1, 'a/first.jpg', 'image/jpeg', 10, 10, 100, 1, 1)`); err != nil {
		t.Fatal(err)
	}
	_, body := f.get(t, "limit=2")
	var raw struct {
		Items      []map[string]any `json:"items"`
		NextCursor any              `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "title", "category", "city", "venue", "starts_at", "ends_at", "timezone", "accessibility", "cover_url"} {
		if _, ok := raw.Items[0][k]; !ok {
			t.Fatalf("got summary %v, want field %q", raw.Items[0], k)
		}
	}
	p := f.page(t, "limit=2")
	first, second := p.Items[0], p.Items[1]
	if first.StartsAt != "2030-03-01T11:00:00Z" || first.Timezone != "Europe/Moscow" || first.Venue.Name != "Площадка 1" {
		t.Fatalf("got %+v, want starts_at 2030-03-01T11:00:00Z in UTC, Europe/Moscow, venue Площадка 1", first)
	}
	if want := []string{"step_free_entrance", "wheelchair_seating", "accessible_toilet"}; !slices.Equal(first.Accessibility, want) {
		t.Fatalf("got accessibility %v, want %v", first.Accessibility, want)
	}
	if first.CoverURL == nil || !strings.HasSuffix(*first.CoverURL, "/a/first.jpg") {
		t.Fatalf("got cover_url %v, want the photo at position 1", first.CoverURL)
	}
	if second.CoverURL != nil {
		t.Fatalf("got cover_url %q for an event without photos, want null", *second.CoverURL)
	}
}

func TestSearchPagesNeitherSkipNorRepeat(t *testing.T) {
	t.Parallel()
	var events []catalog.Event
	for i := int64(1); i <= 53; i++ {
		codes := []string{"step_free_entrance"}
		if i%4 == 0 {
			codes = append(codes, "hearing_loop")
		}
		// Several events share a start, so the order must fall back to the id.
		events = append(events, event(i, int(i%9), []string{"moscow", "kazan"}[i%2], "concert", fmt.Sprint("Event ", i), codes...))
	}
	f := newFixture(t, events)
	for _, tt := range []struct {
		name, query string
		want        int
	}{
		{"OKAll", "limit=7", 53},
		{"OKFiltered", "limit=3&constraints=hearing_loop", 13},
		{"OKFilteredCity", "limit=5&city=kazan", 27},
		{"OKText", "limit=5&q=events", 53},
		{"OKTextFiltered", "limit=4&q=event&constraints=hearing_loop", 13},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []summary
			query, pages := tt.query, 0
			for {
				p := f.page(t, query)
				pages++
				got = append(got, p.Items...)
				if p.NextCursor == nil {
					break
				}
				if pages > 100 {
					t.Fatal("got more than 100 pages, want the walk to end")
				}
				query = tt.query + "&cursor=" + url.QueryEscape(*p.NextCursor)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d events over %d pages, want %d", len(got), pages, tt.want)
			}
			seen := map[int64]bool{}
			for i, s := range got {
				if seen[s.ID] {
					t.Fatalf("got event %d twice", s.ID)
				}
				seen[s.ID] = true
				if i > 0 && (s.StartsAt < got[i-1].StartsAt || s.StartsAt == got[i-1].StartsAt && s.ID < got[i-1].ID) {
					t.Fatalf("got %d (%s) after %d (%s), want starts_at then id order", s.ID, s.StartsAt, got[i-1].ID, got[i-1].StartsAt)
				}
			}
		})
	}
}

func TestSearchErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testCatalog())
	first := f.page(t, "limit=1&city=moscow")
	cursor := *first.NextCursor
	tampered := []byte(cursor)
	tampered[5] ^= 1
	if tampered[5] == '-' || tampered[5] == '_' || tampered[5] > 'z' {
		tampered[5] = 'A'
	}
	all19 := strings.Join(append(slices.Clone(catalog.Codes), "step_free_entrance"), ",")
	cats51 := strings.TrimSuffix(strings.Repeat("concert,", 51), ",")
	tests := []struct {
		name, query, field string
	}{
		{"ErrUnknownConstraint", "constraints=teleport", "constraints"},
		{"ErrConstraintSQL", "constraints=" + url.QueryEscape("step_free_entrance'; DROP TABLE events; --"), "constraints"},
		{"ErrTooManyConstraints", "constraints=" + all19, "constraints"},
		{"ErrUnknownProfile", "profile=superhero", "profile"},
		{"ErrCitySlug", "city=" + url.QueryEscape("Moscow' OR 1=1"), "city"},
		{"ErrCategorySlug", "category=" + url.QueryEscape("con cert"), "category"},
		{"ErrTooManyCategories", "category=" + cats51, "category"},
		{"ErrFrom", "from=tomorrow", "from"},
		{"ErrToNotRFC3339", "to=2030-01-01", "to"},
		{"ErrToBeforeFrom", "from=2030-03-02T00:00:00Z&to=2030-03-01T00:00:00Z", "to"},
		{"ErrLimitZero", "limit=0", "limit"},
		{"ErrLimitLarge", "limit=101", "limit"},
		{"ErrLimitText", "limit=ten", "limit"},
		{"ErrLongText", "q=" + strings.Repeat("я", 5000), "q"},
		{"ErrTextUTF8", "q=%ff%fe", "q"},
		{"ErrCityUTF8", "city=%c3%28", "city"},
		{"ErrCursorGarbage", "cursor=hello", "cursor"},
		{"ErrCursorTampered", "city=moscow&limit=1&cursor=" + url.QueryEscape(string(tampered)), "cursor"},
		{"ErrCursorOtherQuestion", "city=kazan&limit=1&cursor=" + url.QueryEscape(cursor), "cursor"},
		{"ErrCursorLong", "cursor=" + strings.Repeat("A", 3000), "cursor"},
		{"ErrRepeatedCity", "city=moscow&city=kazan", "city"},
		{"ErrPersonalize", "personalize=maybe", "personalize"},
		{"ErrMalformedQuery", "q=%zz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.get(t, tt.query)
			if e := apitest.WantError(t, resp, body, http.StatusBadRequest, "invalid_argument"); e.Field != tt.field {
				t.Fatalf("got %+v, want invalid_argument on field %q", e, tt.field)
			}
			if resp.Header.Get("X-Cache") != "miss" {
				t.Fatalf("got X-Cache %q, want miss on an error", resp.Header.Get("X-Cache"))
			}
		})
	}
	t.Run("OKCursorWithOtherLimit", func(t *testing.T) {
		p := f.page(t, "limit=10&city=moscow&cursor="+url.QueryEscape(cursor))
		if got, want := ids(p), []int64{2, 4, 5}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

func TestSearchCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testCatalog())
	steps := []struct {
		name, query string
		header      []string
		want        string
	}{
		{"MissFirst", "city=moscow", nil, "miss"},
		{"HitSecond", "city=moscow", nil, "hit"},
		{"HitNormalisedKey", "city=MOSCOW&constraints=", nil, "hit"},
		{"MissNoCache", "city=moscow", []string{"Cache-Control", "no-cache"}, "miss"},
		{"MissOtherQuestion", "city=kazan", nil, "miss"},
		{"HitCodesInAnyOrder1", "constraints=braille,step_free_entrance", nil, "miss"},
		{"HitCodesInAnyOrder2", "constraints=step_free_entrance,braille", nil, "hit"},
	}
	var bodies [][]byte
	for _, st := range steps {
		resp, body := f.get(t, st.query, st.header...)
		if resp.StatusCode != 200 || resp.Header.Get("X-Cache") != st.want {
			t.Fatalf("%s: got %d X-Cache %q, want 200 %q", st.name, resp.StatusCode, resp.Header.Get("X-Cache"), st.want)
		}
		bodies = append(bodies, body)
	}
	if string(bodies[0]) != string(bodies[1]) || string(bodies[0]) != string(bodies[3]) {
		t.Fatalf("got different bodies for a hit and a miss:\n%s\n%s", bodies[0], bodies[1])
	}
	if n := f.s.Cache.(*hotcache.Local).Len(); n != 3 {
		t.Fatalf("got %d cache entries, want 3 (no-cache answers are not stored)", n)
	}
}

type needs struct {
	codes []string
	ok    bool
	err   error
	calls int
	users []string // the users asked for
}

func (n *needs) Needs(_ context.Context, userID string) ([]string, bool, error) {
	n.calls++
	n.users = append(n.users, userID)
	return n.codes, n.ok, n.err
}

func TestSearchPersonalisation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testCatalog())
	n := &needs{codes: []string{"sign_language"}, ok: true}
	f.s.Needs = n
	f.auth = apitest.Bearer(f.User)
	tests := []struct {
		name, query string
		want        []int64
		wantCalls   int
	}{
		{"OKSavedNeedsApply", "", []int64{2}, 1},
		{"OKConstraintsWin", "constraints=braille", []int64{3}, 0},
		{"OKProfileWins", "profile=wheelchair", []int64{1}, 0},
		{"OKPersonalizeFalse", "personalize=false", []int64{1, 2, 3, 4, 5, 7}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.calls = 0
			if got := ids(f.page(t, tt.query)); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if n.calls != tt.wantCalls {
				t.Fatalf("got %d calls of the needs source, want %d", n.calls, tt.wantCalls)
			}
		})
	}
	for _, u := range n.users {
		if u != apitest.UserID {
			t.Fatalf("got the needs of %q asked for, want the token's user %s", u, apitest.UserID)
		}
	}
	t.Run("OKAnonymousHasNoNeeds", func(t *testing.T) {
		f.auth, n.calls = "", 0
		if got, want := ids(f.page(t, "")), []int64{1, 2, 3, 4, 5, 7}; !slices.Equal(got, want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		if n.calls != 0 {
			t.Fatalf("got %d calls of the needs source without a token, want 0", n.calls)
		}
	})
}

func TestSearchRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, tt := range []struct {
		name, method, path string
		want               int
	}{
		{"ErrMethod", http.MethodPost, "/", http.StatusMethodNotAllowed},
		{"ErrPath", http.MethodGet, "/nope", http.StatusNotFound},
		{"OKEmptyCatalog", http.MethodGet, "/", http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := f.Do(t, tt.method, tt.path, nil)
			if resp.StatusCode != tt.want || resp.Header.Get("X-Cache") == "" {
				t.Fatalf("got %d X-Cache %q, want %d and an X-Cache header", resp.StatusCode, resp.Header.Get("X-Cache"), tt.want)
			}
		})
	}
}

// A lenient search returns the events whose answer to every asked code is yes or unknown, each
// with the asked codes still unknown; not_applicable and no rule an event out, whether the
// event or its venue says so.
func TestSearchLenient(t *testing.T) {
	t.Parallel()
	at := func(id int64, venue int64, own map[string]string) catalog.Event {
		e := event(id, int(id), "moscow", "concert", fmt.Sprint("Вечер ", id))
		e.Accessibility = catalog.Answers(own)
		e.Venue.ID = venue
		return e
	}
	e1 := at(1, 201, nil)
	e1.Venue.Accessibility = &catalog.Facts{"step_free_entrance": {Value: "yes", Source: "venue_survey"}, "accessible_toilet": {Value: "not_applicable"}}
	f := newFixture(t, []catalog.Event{e1, at(2, 201, map[string]string{"step_free_entrance": "no"}),
		at(3, 202, nil), at(4, 202, map[string]string{"elevator": "yes", "sign_language": "not_applicable"})})
	type item struct {
		ID      int64     `json:"id"`
		Unknown *[]string `json:"unknown"`
	}
	search := func(t *testing.T, query string) ([]item, *string) {
		t.Helper()
		resp, body := f.get(t, query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET ?%s: got %d %s", query, resp.StatusCode, body)
		}
		var p struct {
			Items      []item  `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		return p.Items, p.NextCursor
	}
	for _, tt := range []struct {
		name, query string
		want        map[int64][]string // id -> unknown (nil: strict, no field)
		order       []int64
	}{
		{"StrictYesOnly", "constraints=step_free_entrance", map[int64][]string{1: nil}, []int64{1}},
		{"LenientYesOrUnknown", "constraints=step_free_entrance&match=lenient",
			map[int64][]string{1: {}, 3: {"step_free_entrance"}, 4: {"step_free_entrance"}}, []int64{1, 3, 4}},
		{"LenientNotApplicableRulesOut", "constraints=accessible_toilet&match=lenient",
			map[int64][]string{3: {"accessible_toilet"}, 4: {"accessible_toilet"}}, []int64{3, 4}}, // 1 and 2 inherit not_applicable
		{"LenientOwnNotApplicable", "constraints=sign_language,elevator&match=lenient",
			map[int64][]string{1: {"elevator", "sign_language"}, 2: {"elevator", "sign_language"}, 3: {"elevator", "sign_language"}}, []int64{1, 2, 3}},
		{"LenientProfile", "profile=mobility&match=lenient",
			map[int64][]string{1: {"elevator"}, 3: {"step_free_entrance", "elevator"}, 4: {"step_free_entrance"}}, []int64{1, 3, 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			items, _ := search(t, tt.query)
			var got []int64
			for _, it := range items {
				got = append(got, it.ID)
				want := tt.want[it.ID]
				switch {
				case want == nil && it.Unknown != nil:
					t.Errorf("event %d: got unknown %v in a strict answer, want no field", it.ID, *it.Unknown)
				case want != nil && (it.Unknown == nil || !slices.Equal(*it.Unknown, want)):
					t.Errorf("event %d: got unknown %v, want %v", it.ID, it.Unknown, want)
				}
			}
			if !slices.Equal(got, tt.order) {
				t.Fatalf("got %v, want %v", got, tt.order)
			}
		})
	}
	t.Run("PagesAndTheirCursorBindTheMode", func(t *testing.T) {
		var got []int64
		query := "constraints=step_free_entrance&match=lenient&limit=1"
		for pages := 0; ; pages++ {
			items, next := search(t, query)
			for _, it := range items {
				got = append(got, it.ID)
			}
			if next == nil || pages > 10 {
				if pages > 0 && next != nil {
					t.Fatal("got more pages than events")
				}
				break
			}
			resp, body := f.get(t, "constraints=step_free_entrance&limit=1&cursor="+url.QueryEscape(*next))
			if e := apitest.WantError(t, resp, body, http.StatusBadRequest, "invalid_argument"); e.Field != "cursor" {
				t.Fatalf("got %+v for a lenient cursor in a strict search, want invalid_argument on cursor", e)
			}
			query = "constraints=step_free_entrance&match=lenient&limit=1&cursor=" + url.QueryEscape(*next)
		}
		if !slices.Equal(got, []int64{1, 3, 4}) {
			t.Fatalf("got %v over the pages, want [1 3 4]", got)
		}
	})
	t.Run("ErrMatch", func(t *testing.T) {
		resp, body := f.get(t, "constraints=elevator&match=loose")
		if e := apitest.WantError(t, resp, body, http.StatusBadRequest, "invalid_argument"); e.Field != "match" {
			t.Fatalf("got %+v, want invalid_argument on match", e)
		}
	})
}

// search-events reads as the read-only role, whose statements end after 2 s: a search that
// waits that long (here on a lock) is 503 with Retry-After, never 500.
func TestSearchStatementTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testCatalog())
	if got := f.DatabaseUser(t); got != migrations.ReaderRole {
		t.Fatalf("got search-events connected as %s, want %s", got, migrations.ReaderRole)
	}
	release := f.Lock(t, "event_accessibility", "events")
	resp, b := f.get(t, "constraints=sign_language", "Cache-Control", "no-cache")
	apitest.WantError(t, resp, b, http.StatusServiceUnavailable, "unavailable")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("got no Retry-After, want one")
	}
	release()
	if resp, b := f.get(t, "constraints=sign_language", "Cache-Control", "no-cache"); resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %s once the lock is gone, want 200", resp.StatusCode, b)
	}
}
