package function

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	getevent "github.com/dostupno/dostupno/functions/get-event"
	searchevents "github.com/dostupno/dostupno/functions/search-events"
	upsertevent "github.com/dostupno/dostupno/functions/upsert-event"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
)

// deployment is the functions of one deployment on one copy and NATS namespace:
// seat-availability (the fixture), upsert-event, and two instances each of get-event and
// search-events with their own caches.
type deployment struct {
	*fixture
	events      *apitest.Env
	get, search [2]*apitest.Env
}

func newDeployment(t testing.TB) *deployment {
	t.Helper()
	f := newFixture(t)
	cached := apitest.WithConfig(func(c *config.Config) { c.CacheEntries, c.CacheTTL = 1000, time.Minute })
	d := &deployment{fixture: f, events: apitest.New(t, upsertevent.Name, upsertevent.New, apitest.WithConfigOf(f.Env))}
	for i := range 2 {
		d.get[i] = apitest.New(t, getevent.Name, getevent.New, apitest.WithConfigOf(f.Env), cached)
		d.search[i] = apitest.New(t, searchevents.Name, searchevents.New, apitest.WithConfigOf(f.Env), cached)
	}
	return d
}

// event is an NDJSON line of an event in city on December day 2030, with a wheelchair place.
func event(id int64, city string, day int) string {
	return fmt.Sprintf(`{"id":%d,"title":"Концерт %d","category":"concert","city":%q,"venue":{"id":%d,"name":"Зал %d"},`+
		`"starts_at":"2030-12-%02dT19:00:00+03:00","timezone":"Europe/Moscow","accessibility":{"wheelchair_seating":"yes"}}`, id, id, city, id, id, day)
}

type seats struct {
	WheelchairSpaces int       `json:"wheelchair_spaces"`
	CompanionSeats   int       `json:"companion_seats"`
	AsOf             time.Time `json:"as_of"`
}

// ids asks search-events instance i (through its cache) and returns the ids, each item's
// availability and X-Cache.
func (d *deployment) ids(t testing.TB, i int, query string) ([]int64, map[int64]*seats, string) {
	t.Helper()
	resp, b := d.search[i].Do(t, http.MethodGet, "/?from=2030-11-01T00:00:00Z&"+query, nil)
	var p struct {
		Items []struct {
			ID           int64  `json:"id"`
			Availability *seats `json:"availability"`
		} `json:"items"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &p) != nil {
		t.Fatalf("search ?%s: got %d %s", query, resp.StatusCode, b)
	}
	ids, av := []int64{}, map[int64]*seats{}
	for _, it := range p.Items {
		ids, av[it.ID] = append(ids, it.ID), it.Availability
	}
	return ids, av, resp.Header.Get("X-Cache")
}

// availability asks get-event instance i (through its cache) for event id's availability.
func (d *deployment) availability(t testing.TB, i int, id int64) (*seats, string) {
	t.Helper()
	resp, b := d.get[i].Do(t, http.MethodGet, fmt.Sprintf("/%d", id), nil)
	var e struct {
		Availability *seats `json:"availability"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &e) != nil || !strings.Contains(string(b), `"availability":`) {
		t.Fatalf("get-event %d: got %d %s, want the event with availability (null or not)", id, resp.StatusCode, b)
	}
	return e.Availability, resp.Header.Get("X-Cache")
}

// An update reaches the cached answers of every instance within a second of the writer's
// answer, search filters and items and the event's page alike; the cached answers it cannot
// affect stay cached (hits), even those of searches its event could join but for the seats.
func TestAvailabilityReachesEveryCacheAndNothingElse(t *testing.T) {
	t.Parallel()
	d := newDeployment(t)
	resp, b := d.events.Do(t, http.MethodPut, "/", strings.Join([]string{event(1, "moscow", 2), event(2, "moscow", 1), event(3, "kazan", 3)}, "\n"),
		"Content-Type", "application/x-ndjson", "Authorization", d.admin)
	if resp.StatusCode != 200 {
		t.Fatalf("upsert events: got %d %s", resp.StatusCode, b)
	}
	d.put(t, "application/json", update(1, 0, 0, 1)) // sold out: reported, no space
	const (
		seated    = "wheelchair_spaces=1&companion_seats=1"
		firstOnly = "city=moscow&limit=1" // holds event 2 alone; event 1 fits it but for its start
		kazan     = "city=kazan"
	)
	ask := func() {
		for i := range 2 {
			for _, q := range []string{seated, firstOnly, kazan} {
				d.ids(t, i, q)
			}
			d.availability(t, i, 1)
			d.availability(t, i, 3)
		}
	}
	ask() // cached from now on
	for i := range 2 {
		if ids, _, cache := d.ids(t, i, seated); len(ids) != 0 || cache != "hit" {
			t.Fatalf("instance %d: got %v (%s), want no event with a free space, from the cache", i, ids, cache)
		}
		if av, cache := d.availability(t, i, 1); av == nil || av.WheelchairSpaces != 0 || cache != "hit" {
			t.Fatalf("instance %d: got %+v (%s), want event 1 sold out, from the cache", i, av, cache)
		}
	}

	// A wheelchair space and a companion seat come back: a returned ticket.
	d.put(t, "application/json", update(1, 1, 2, 2))
	answered := time.Now()
	for i := range 2 {
		apitest.Eventually(t, time.Second, fmt.Sprintf("instance %d's cached search for a free space", i), func() (bool, string) {
			ids, av, cache := d.ids(t, i, seated)
			return slices.Equal(ids, []int64{1}) && av[1] != nil && av[1].CompanionSeats == 2, fmt.Sprintf("%v (%s)", ids, cache)
		})
		apitest.Eventually(t, time.Second, fmt.Sprintf("instance %d's cached page of event 1", i), func() (bool, string) {
			av, cache := d.availability(t, i, 1)
			return av != nil && av.WheelchairSpaces == 1 && av.AsOf.Equal(base.Add(2*time.Second)), fmt.Sprintf("%+v (%s)", av, cache)
		})
	}
	t.Logf("every instance's cached answers show the update %v after the writer's answer", time.Since(answered).Round(time.Millisecond))
	// Nothing else was dropped.
	for i := range 2 {
		if ids, _, cache := d.ids(t, i, firstOnly); !slices.Equal(ids, []int64{2}) || cache != "hit" {
			t.Errorf("instance %d: got %v (%s) for %s, want [2] still from the cache", i, ids, cache, firstOnly)
		}
		if ids, _, cache := d.ids(t, i, kazan); !slices.Equal(ids, []int64{3}) || cache != "hit" {
			t.Errorf("instance %d: got %v (%s) for %s, want [3] still from the cache", i, ids, cache, kazan)
		}
		if av, cache := d.availability(t, i, 3); av != nil || cache != "hit" {
			t.Errorf("instance %d: got %+v (%s) for event 3, want null still from the cache", i, av, cache)
		}
	}
	// A stale update changes nothing and drops nothing.
	if w := d.put(t, "application/json", update(1, 0, 0, 1)); w.Ignored != 1 {
		t.Fatalf("got %+v, want the older count ignored", w)
	}
	for i := range 2 {
		if ids, _, cache := d.ids(t, i, seated); !slices.Equal(ids, []int64{1}) || cache != "hit" {
			t.Errorf("instance %d: got %v (%s), want [1] still from the cache after an ignored update", i, ids, cache)
		}
	}
	// Lenient questions take the filter too.
	if ids, _, _ := d.ids(t, 0, seated+"&constraints=wheelchair_seating,elevator&match=lenient"); !slices.Equal(ids, []int64{1}) {
		t.Errorf("got %v for a lenient question with seats, want [1]", ids)
	}
}
