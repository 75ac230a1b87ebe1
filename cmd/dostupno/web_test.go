package main

// The web page in real Chromium (README, "The web page"): `up` serves the API on 127.0.0.1
// and the page on 127.0.0.2, another origin, over seeded events; the tests search, sign up
// and log in across the origins, watch the browser block a page whose origin the API does not
// allow, run axe-core on every view, walk a keyboard-only journey, and check the narrow
// layout, reduced motion, the languages, time zones and the page's weight.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/uuid"

	"github.com/dostupno/dostupno/cmd/dostupno/internal/seed"
	"github.com/dostupno/dostupno/cmd/dostupno/internal/webpage"
	"github.com/dostupno/dostupno/shared/apitest"
	"github.com/dostupno/dostupno/shared/config"
	"github.com/dostupno/dostupno/shared/photo/phototest"
)

const (
	webFolder     = "../../web"
	webScreenshot = "../../docs/screenshot-results.png" // README, "The web page"
	webBudget     = 100_000                             // bytes over the wire, photos aside
	webQuestion   = "/search?profile=wheelchair&city=moscow"
)

// webSystem is `up` serving seeded events: the API's and the page's base URLs.
type webSystem struct {
	api, page string
	cfg       config.Config
	first     []webSummary // the first page of webQuestion, as the API answers it
	photoID   int64        // the first event of the question's second page, which has a photo
	photoName string
}

type webSummary struct {
	ID       int64  `json:"id"`
	Title    string `json:"title"`
	StartsAt string `json:"starts_at"`
	Timezone string `json:"timezone"`
}

type webPage struct {
	Items      []webSummary `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

// startWebSystem runs up as a person would, on this test's own services, with the page on
// 127.0.0.2 and 1,500 seeded events starting next February (so the screenshot is the same
// all year).
func startWebSystem(t *testing.T) *webSystem {
	t.Helper()
	env := runnerEnv(t)
	cfg, err := config.Load(env.lookup)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	g, err := seed.New(seed.Options{Events: 1500, Seed: 17, Start: time.Date(now.Year()+1, 2, 1, 0, 0, 0, 0, time.UTC), Days: 28})
	if err != nil {
		t.Fatal(err)
	}
	if err := seedThroughLog(context.Background(), cfg, g); err != nil {
		t.Fatalf("seed: %v", err)
	}
	run := startUp(t, upOptions{Addr: "127.0.0.1:0", WebAddr: "127.0.0.2:0", WebDir: webFolder, Data: t.TempDir(),
		Stack: filepath.Join("..", "..", "stack.yml"), Lookup: env.lookup})
	t.Cleanup(func() {
		if err := run.stop(t); err != nil {
			t.Errorf("up: %v", err)
		}
	})
	s := &webSystem{cfg: cfg, api: run.API, page: run.Web}
	out := run.Out
	if !strings.Contains(out.String(), "web page: open "+s.page+"/") {
		t.Fatalf("got up's lines without the page's address %s:\n%s", s.page, out)
	}

	// What the page should show, as the API answers it.
	var p1, p2 webPage
	s.getJSON(t, "/function/search-events?profile=wheelchair&city=moscow", &p1)
	if len(p1.Items) != 20 || p1.NextCursor == "" {
		t.Fatalf("got %d events and cursor %q for the question, want a full page and more", len(p1.Items), p1.NextCursor)
	}
	s.getJSON(t, "/function/search-events?profile=wheelchair&city=moscow&cursor="+url.QueryEscape(p1.NextCursor), &p2)
	if len(p2.Items) == 0 {
		t.Fatal("got no second page for the question")
	}
	s.first, s.photoID, s.photoName = p1.Items, p2.Items[0].ID, p2.Items[0].Title

	// A photo on the first event of the second page, uploaded as an admin does: created with
	// the ops CLI, logged in, then uploading.
	admin := adminToken(t, cfg, s.api, "photos@example.ru")
	resp, body := apitest.Do(t, "POST", fmt.Sprintf("%s/function/upload-photo/%d", s.api, s.photoID), bytes.NewReader(phototest.PNG(t, 640, 400)),
		"Authorization", "Bearer "+admin, "Content-Type", "image/png")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload a photo: got %d %s, want 201", resp.StatusCode, body)
	}
	return s
}

func (s *webSystem) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, body := apitest.Do(t, "GET", s.api+path, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// servePage serves the page with another API URL on another loopback origin (host), as a
// deployment whose origin the API does not allow, or whose API is down.
func servePage(t *testing.T, host, apiURL string) string {
	t.Helper()
	h, err := webpage.Handler(webFolder, apiURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // it ends with ErrServerClosed at Close
	t.Cleanup(func() { srv.Close() })
	return webpage.URL(ln.Addr())
}

func TestWebPage(t *testing.T) {
	chromium, axe := browserOrSkip(t)
	t.Parallel()
	sys := startWebSystem(t)
	browser := startChromium(t, chromium)
	rules := map[string]bool{}
	views := map[string]bool{}
	axeRun := func(b *tab, view string) {
		b.t.Helper()
		views[view] = true
		b.axeRun(view, rules)
	}

	// First: a cold browser loads the newcomer's question, as a link to it would.
	t.Run("FirstResultsWeightAndScreenshot", func(t *testing.T) {
		b := newTab(t, browser, axe)
		b.do("size and cold cache", chromedp.EmulateViewport(1000, 1500),
			cdpCommand(network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}))
		b.open(sys.page, webQuestion, "search")
		b.waitResults()
		b.wait("the count in the live region", `document.getElementById('status').textContent === document.querySelector('section.results .count').textContent`)
		if got := evalJS[string](b, `document.getElementById('status').textContent`); got != "Показано 20 событий, есть ещё." {
			t.Errorf("got live region %q, want %q", got, "Показано 20 событий, есть ещё.")
		}
		titles := evalJS[[]string](b, `[...document.querySelectorAll('ol.results h3')].map(h => h.textContent)`)
		if len(titles) != 20 || titles[0] != sys.first[0].Title || titles[19] != sys.first[19].Title {
			t.Errorf("got titles %q, want the API's first page (%q ... %q)", titles, sys.first[0].Title, sys.first[19].Title)
		}
		if role := evalJS[string](b, `document.getElementById('status').getAttribute('role')`); role != "status" {
			t.Errorf("got live region role %q, want status", role)
		}

		var total float64
		var lines []string
		for _, r := range b.net.requests() {
			if r.Type == network.ResourceTypeImage || r.Bytes == 0 && r.Failed == "" && r.Status == 0 {
				continue
			}
			total += r.Bytes
			lines = append(lines, fmt.Sprintf("%6.0f B  %-9s %s %s -> %d", r.Bytes, r.Type, r.Method, r.URL, r.Status))
		}
		t.Logf("page weight without photos: %.0f bytes over the wire in %d requests:\n%s", total, len(lines), strings.Join(lines, "\n"))
		if total > webBudget {
			t.Errorf("got %.0f bytes over the wire, want at most %d", total, webBudget)
		}
		perf := evalJS[struct {
			First, Response, DOMReady, Load float64
			Resources                       []string
		}](b, `(() => { const n = performance.getEntriesByType('navigation')[0], m = performance.getEntriesByName('dostupno:first-results')[0];
			return {First: m ? m.startTime : -1, Response: n.responseEnd, DOMReady: n.domContentLoadedEventEnd, Load: n.loadEventEnd,
				Resources: performance.getEntriesByType('resource').map(r => Math.round(r.startTime) + '-' + Math.round(r.responseEnd) + ' ms ' + r.name.replace(/^https?:\/\/[^/]+/, ''))}; })()`)
		if perf.First < 0 {
			t.Error("got no dostupno:first-results mark")
		}
		t.Logf("first results shown %.0f ms after navigation start, %.0f ms after the load event (document %.0f ms, DOMContentLoaded %.0f ms, load %.0f ms); resources:\n%s",
			perf.First, perf.First-perf.Load, perf.Response, perf.DOMReady, perf.Load, strings.Join(perf.Resources, "\n"))

		png := b.screenshot()
		if err := os.MkdirAll(filepath.Dir(webScreenshot), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(webScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", webScreenshot, len(png))
		axeRun(b, "results")
	})

	t.Run("AxeOnEveryView", func(t *testing.T) {
		b := newTab(t, browser, axe)
		b.open(sys.page, "/", "search")
		axeRun(b, "search")
		b.do("open the needs", chromedp.Evaluate[chromedp.Void](`document.querySelector('details.needs').open = true`))
		axeRun(b, "search with every need shown")
		b.goTo(webQuestion, "search")
		b.waitResults()
		axeRun(b, "results")
		b.goTo(fmt.Sprintf("/event/%d", sys.photoID), "event")
		b.do("scroll to the photo (it loads lazily)", chromedp.Evaluate[chromedp.Void](`document.querySelector('.photos img').scrollIntoView()`))
		b.wait("the photo", `document.querySelector('.photos img')?.complete`)
		alts := evalJS[[]string](b, `[...document.querySelectorAll('.photos img')].map(i => i.alt)`)
		if len(alts) != 1 || !strings.Contains(alts[0], sys.photoName) {
			t.Errorf("got photo alternative texts %q, want one naming %q", alts, sys.photoName)
		}
		checkProvenance(t, b, sys, sys.photoID, sheetRU)
		axeRun(b, "event with provenance")
		b.goTo("/login", "login")
		axeRun(b, "login")
		b.do("submit an empty login", chromedp.Click(`form.account button[type=submit]`))
		b.wait("the error summary", `document.activeElement.classList.contains('error-summary')`)
		axeRun(b, "login with errors")
		b.goTo("/register", "register")
		axeRun(b, "register")
		b.goTo("/needs", "needs")
		axeRun(b, "needs")
		b.goTo("/event/999999999", "event")
		axeRun(b, "event not found")
	})

	t.Run("GuestNeedsGoToSearchAndSignUp", func(t *testing.T) {
		b := newTab(t, browser, axe)
		b.open(sys.page, "/needs", "needs")
		b.do("tick the elevator and find events", chromedp.Click(`input[name=need][value=elevator]`), chromedp.Click(`a.button[href^="#/search"]`))
		b.waitView("search")
		b.waitResults()
		if got := evalJS[[]string](b, `[location.hash, document.querySelector('section.results .applied').textContent]`); got[0] != "#/search?constraints=elevator" || !strings.Contains(got[1], "Лифт") {
			t.Errorf("got %q, want a search for the elevator", got)
		}
		b.goTo("/register", "register")
		if got := evalJS[[]string](b, `[...document.querySelectorAll('input[name=need]:checked')].map(i => i.value)`); len(got) == 0 || slices.ContainsFunc(got, func(v string) bool { return v != "elevator" }) {
			t.Errorf("got %q ticked on sign-up, want the elevator kept from the needs view", got)
		}
		b.do("forget", chromedp.Evaluate[chromedp.Void](`localStorage.removeItem('dostupno.needs')`))
	})

	t.Run("SignUpSearchAndLogInAcrossOrigins", func(t *testing.T) {
		b := newTab(t, browser, axe)
		email := "newcomer-" + uuid.NewString()[:8] + "@example.ru"
		const password = "колясками-по-городу"
		b.open(sys.page, "/register", "register")
		b.do("sign up",
			chromedp.SendKeys(`input[name=name]`, "Анна"),
			chromedp.SendKeys(`input[name=email]`, email),
			chromedp.SendKeys(`input[name=password]`, password),
			chromedp.Click(`input[name=need][value=wheelchair_seating]`),
			chromedp.Click(`input[name=need][value=step_free_entrance]`),
			chromedp.Click(`form.account button[type=submit]`))
		b.waitView("search")
		b.waitResults()
		applied := evalJS[string](b, `document.querySelector('section.results .applied').textContent`)
		if !strings.HasPrefix(applied, "Учтены ваши сохранённые потребности: Безбарьерный вход и Места для зрителей на креслах-колясках") {
			t.Errorf("got %q, want the saved needs applied", applied)
		}
		if who := evalJS[string](b, `document.querySelector('header .who').textContent`); !strings.Contains(who, "Анна") {
			t.Errorf("got header %q, want the user's name", who)
		}
		checkCalls(t, b.net.requests(), sys.api,
			call{"OPTIONS", "/function/register", 204}, call{"POST", "/function/register", 201},
			call{"OPTIONS", "/function/search-events", 204}, call{"GET", "/function/search-events", 200})
		axeRun(b, "results for a logged-in user")
		b.goTo("/needs", "needs")
		if got := evalJS[[]string](b, `[...new Set([...document.querySelectorAll('input[name=need]:checked')].map(i => i.value))].sort()`); !slices.Equal(got, []string{"step_free_entrance", "wheelchair_seating"}) {
			t.Errorf("got saved needs %q ticked, want the two chosen", got)
		}
		axeRun(b, "needs of a logged-in user")

		b.do("log out", chromedp.Click(`header button.link`))
		b.wait("logged out", `!document.querySelector('header .who') && location.hash === '#/'`)
		b.goTo("/login", "login")
		b.do("log in with a wrong password",
			chromedp.SendKeys(`input[name=email]`, email),
			chromedp.SendKeys(`input[name=password]`, "not the password"),
			chromedp.Click(`form.account button[type=submit]`))
		b.wait("the refusal", `document.activeElement.classList.contains('error-summary')`)
		if got := evalJS[string](b, `document.querySelector('.error-summary').innerText`); !strings.Contains(got, "Неверная почта или пароль") {
			t.Errorf("got %q, want the wrong credentials said", got)
		}
		b.do("log in",
			chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name=password]').value = ''`),
			chromedp.SendKeys(`input[name=password]`, password),
			chromedp.Click(`form.account button[type=submit]`))
		b.waitView("search")
		b.waitResults()
		if applied := evalJS[string](b, `document.querySelector('section.results .applied').textContent`); !strings.HasPrefix(applied, "Учтены ваши сохранённые потребности") {
			t.Errorf("got %q after login, want the saved needs applied", applied)
		}
		checkCalls(t, b.net.requests(), sys.api,
			call{"OPTIONS", "/function/login", 204}, call{"POST", "/function/login", 401}, call{"POST", "/function/login", 200},
			call{"GET", "/function/search-events", 200})

		// New needs saved with the account, then a search with nothing chosen applies them.
		b.goTo("/needs", "needs")
		b.do("choose the elevator alone and save",
			chromedp.Click(`input[name=need][value=wheelchair_seating]`), chromedp.Click(`input[name=need][value=step_free_entrance]`),
			chromedp.Click(`input[name=need][value=elevator]`), chromedp.Focus(`form.needs button[type=submit]`))
		b.press(kb.Enter) // below the fold: a click would race the smooth scroll
		const saved = "Сохранено в аккаунте: Лифт. Поиск без выбранных условий учитывает их."
		b.wait("the needs saved, said and shown", `document.getElementById('status').textContent === `+jsString(saved)+` && document.querySelector('form.needs .notice:not([hidden])')?.textContent === `+jsString(saved))
		checkCalls(t, b.net.requests(), sys.api, call{"OPTIONS", "/function/account/needs", 204}, call{"PUT", "/function/account/needs", 200})
		axeRun(b, "needs saved")
		b.do("to the search for them", chromedp.Focus(`form.needs a.button[href="#/search"]`))
		b.press(kb.Enter)
		b.waitView("search")
		b.waitResults()
		got := evalJS[struct {
			Applied string
			Facts   []string
		}](b, `({Applied: document.querySelector('section.results .applied').textContent, Facts: [...document.querySelectorAll('ol.results .facts')].map(p => p.textContent)})`)
		if got.Applied != "Учтены ваши сохранённые потребности: Лифт." || len(got.Facts) == 0 || slices.ContainsFunc(got.Facts, func(f string) bool { return !strings.Contains(f, "Лифт") }) {
			t.Errorf("got %q over %q, want the saved elevator applied to every result", got.Applied, got.Facts)
		}
		for _, r := range b.net.requests() {
			if strings.Contains(r.URL, "/function/search-events?") && (strings.Contains(r.URL, "constraints=") || strings.Contains(r.URL, "profile=")) {
				t.Errorf("got %s, want a search with nothing chosen (the account's needs apply on the server)", r.URL)
			}
		}

		// Erasing the account: a confirmation with the password, then logged out, and its login refused.
		b.goTo("/needs", "needs")
		b.do("to the way to erase", chromedp.Focus(`a[href="#/erase"]`))
		b.press(kb.Enter)
		b.waitView("erase")
		b.wait("focus on the confirmation's heading", `document.activeElement.tagName === 'H1'`)
		if got := evalJS[string](b, `document.querySelector('main .warning').textContent`); !strings.Contains(got, email) || !strings.Contains(got, "навсегда") {
			t.Errorf("got the warning %q, want the account named and the erasure said to be for good", got)
		}
		b.press(kb.Tab)
		b.is("the password to confirm with", `document.activeElement.name === 'password'`)
		b.tabUntil("the way back", `document.activeElement.getAttribute('href') === '#/needs'`, 2)
		axeRun(b, "erase confirmation")
		b.do("erase with a wrong password", chromedp.SendKeys(`input[name=password]`, "not the password"), chromedp.Click(`form.account button.danger`))
		b.wait("the refusal", `document.activeElement.classList.contains('error-summary') && document.activeElement.innerText.includes('Неверный пароль. Аккаунт не удалён.')`)
		b.do("erase",
			chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name=password]').value = ''`),
			chromedp.SendKeys(`input[name=password]`, password),
			chromedp.Click(`form.account button.danger`))
		const erased = "Аккаунт удалён. Вы вышли, и сведений о вас у нас не осталось."
		b.wait("logged out, the erasure said", `!document.querySelector('header .who') && document.querySelector('main').dataset.view === 'search' && document.querySelector('main .notice')?.textContent === `+jsString(erased)+` && document.getElementById('status').textContent === `+jsString(erased))
		checkCalls(t, b.net.requests(), sys.api,
			call{"OPTIONS", "/function/account", 204}, call{"DELETE", "/function/account", 401}, call{"DELETE", "/function/account", 204})
		if got := evalJS[[]any](b, `[sessionStorage.getItem('dostupno.session'), localStorage.getItem('dostupno.needs')]`); got[0] != nil || got[1] != "[]" {
			t.Errorf("got session and needs %q kept in the browser after the erasure, want none", got)
		}
		b.goTo("/login", "login")
		b.do("log in to the erased account",
			chromedp.SendKeys(`input[name=email]`, email),
			chromedp.SendKeys(`input[name=password]`, password),
			chromedp.Click(`form.account button[type=submit]`))
		b.wait("the refusal", `document.activeElement.classList.contains('error-summary') && document.activeElement.innerText.includes('Неверная почта или пароль')`)
		checkCalls(t, b.net.requests(), sys.api, call{"POST", "/function/login", 401})
	})

	t.Run("LenientMatchesMarked", func(t *testing.T) {
		// The first code whose lenient answer in Moscow has events with it unknown.
		var cat struct {
			Constraints []struct{ Code string } `json:"constraints"`
		}
		sys.getJSON(t, "/function/search-events/constraints", &cat)
		type lenientItem struct {
			ID      int64    `json:"id"`
			Unknown []string `json:"unknown"`
		}
		var code string
		var want []lenientItem
		for _, c := range cat.Constraints {
			var p struct{ Items []lenientItem }
			sys.getJSON(t, "/function/search-events?city=moscow&match=lenient&constraints="+c.Code, &p)
			if slices.ContainsFunc(p.Items, func(it lenientItem) bool { return len(it.Unknown) > 0 }) &&
				slices.ContainsFunc(p.Items, func(it lenientItem) bool { return len(it.Unknown) == 0 }) {
				code, want = c.Code, p.Items
				break
			}
		}
		if code == "" {
			t.Fatal("got no code whose lenient answer mixes confirmed and unknown events")
		}
		b := newTab(t, browser, axe)
		b.open(sys.page, "/search?city=moscow&constraints="+code, "search")
		b.waitResults()
		if n := evalJS[int](b, `document.querySelectorAll('ol.results .unknown').length`); n != 0 {
			t.Errorf("got %d results marked lenient in a strict search, want none", n)
		}
		b.do("to the lenient box", chromedp.Focus(`#lenient`))
		b.press(" ")
		b.is("the lenient box ticked with Space", `document.activeElement.id === 'lenient' && document.activeElement.checked`)
		b.tabUntil("the search button", `document.activeElement.type === 'submit'`, 3)
		b.press(kb.Enter)
		b.wait("the lenient results", `location.hash.includes('match=lenient') && document.querySelector('section.results .applied')?.textContent.includes('нет данных')`)
		b.waitResults()
		got := evalJS[[]struct {
			ID     int64 `json:"id,string"`
			Marked string
			Card   bool
		}](b, `[...document.querySelectorAll('ol.results article')].map(a => ({id: a.querySelector('a').dataset.id, Marked: a.querySelector('.unknown')?.textContent || '', Card: a.classList.contains('lenient')}))`)
		if len(got) != len(want) {
			t.Fatalf("got %d results, want the API's %d", len(got), len(want))
		}
		name := evalJS[string](b, `document.querySelector('input[name=need][value=`+code+`]').labels[0].textContent`)
		for i, w := range want {
			wantMark := ""
			if len(w.Unknown) > 0 {
				wantMark = "Подходит не наверняка: по части ваших потребностей нет данных. Нет данных, есть ли: " + name + "."
			}
			if got[i].ID != w.ID || got[i].Marked != wantMark || got[i].Card != (wantMark != "") {
				t.Errorf("result %d: got %+v, want event %d marked %q", i, got[i], w.ID, wantMark)
			}
		}
		axeRun(b, "lenient results")

		// Seats left (issue 16's availability) show when an answer carries them, and only then.
		seats := evalJS[[]any](b, `import('./js/fields.js').then(({summaryFields, detailFacts}) => {
			const s = summaryFields.find(f => f.field === 'availability'), d = detailFacts.find(f => f.label === 'seats');
			const ev = {timezone: 'Europe/Moscow', availability: {wheelchair_spaces: 3, companion_seats: 2, as_of: '2027-02-01T09:30:00Z'}};
			return [s.render(ev).textContent, d.render(ev), s.render({...ev, availability: null}), d.render({timezone: 'UTC'})];
		})`, chromedp.EvalAwaitPromise)
		const seatsWant = "Осталось мест для зрителей на креслах-колясках: 3, мест для сопровождающих: 2 (на "
		if line, _ := seats[0].(string); len(seats) != 4 || !strings.HasPrefix(line, seatsWant) || !strings.Contains(line, "1 февраля 2027 г.") ||
			!strings.Contains(line, "12:30") || seats[1] != line || seats[2] != nil || seats[3] != nil {
			t.Errorf("got seats left %q, want %q... as of 12:30 in Moscow on 1 February 2027, on a result and an event, then nothing without availability", seats, seatsWant)
		}
	})

	t.Run("KeyboardJourney", func(t *testing.T) {
		b := newTab(t, browser, axe)
		b.open(sys.page, "/", "search")
		b.press(kb.Tab)
		if f := b.focusVisible("first Tab"); !strings.HasPrefix(f.What, "a ") || !strings.Contains(f.What, "Перейти к содержанию") {
			t.Errorf("got focus on %s after the first Tab, want the skip link", f.What)
		}
		b.tabUntil("the profiles", `document.activeElement.name === 'profile'`, 12)
		b.press(kb.ArrowDown)
		b.is("the wheelchair profile chosen with an arrow", `document.activeElement.value === 'wheelchair' && document.activeElement.checked`)
		b.press(kb.Tab)
		b.is("the needs' summary", `document.activeElement.tagName === 'SUMMARY'`)
		b.press(" ")
		b.is("the needs opened with Space", `document.querySelector('details.needs').open`)
		b.press(kb.Tab)
		b.is("the first need", `document.activeElement.value === 'step_free_entrance'`)
		b.press(" ")
		b.is("the need ticked with Space", `document.activeElement.checked`)
		b.press(kb.Tab, chromedp.ModifierShift)
		b.is("back on the summary with Shift+Tab", `document.activeElement.tagName === 'SUMMARY'`)
		b.press(kb.Enter)
		b.is("the needs closed with Enter", `!document.querySelector('details.needs').open`)
		b.press(kb.Tab)
		b.is("the city", `document.activeElement.name === 'city'`)
		for i := 0; i < 15 && !evalJS[bool](b, `document.activeElement.value === 'moscow'`); i++ {
			b.press(kb.ArrowDown)
		}
		b.is("Moscow chosen with arrows", `document.activeElement.value === 'moscow'`)
		b.tabUntil("the search button", `document.activeElement.type === 'submit'`, 12)
		b.press(kb.Enter)
		b.waitResults()
		b.wait("the count announced", `document.getElementById('status').textContent.startsWith('Показано 20')`)
		b.focusVisible("after the search")
		first := sys.first[0]
		b.press(kb.Tab)
		b.is("the first result's link", fmt.Sprintf(`document.activeElement.dataset.id === '%d'`, first.ID))
		b.press(kb.Enter)
		b.waitView("event")
		b.wait("focus on the event's heading", `document.activeElement.tagName === 'H1' && document.activeElement.textContent === `+jsString(first.Title))
		b.focusVisible("on the event")
		b.press(kb.Tab, chromedp.ModifierShift)
		b.is("the way back", `document.activeElement.classList.contains('back')`)
		b.press(kb.Enter)
		b.waitView("search")
		b.wait("focus back on the event's link", fmt.Sprintf(`document.activeElement.dataset.id === '%d'`, first.ID))
		b.focusVisible("back on the results")
		b.tabUntil("show more", `document.activeElement.closest('p.more')`, 25)
		b.press(kb.Enter)
		b.wait("the second page, focus on its first event", fmt.Sprintf(`document.querySelectorAll('ol.results > li').length > 20 && document.activeElement.dataset.id === '%d'`, sys.photoID))
		b.focusVisible("after show more")
		b.wait("the second page announced", `document.getElementById('status').textContent.startsWith('Загружено ещё')`)
		b.press(kb.Enter)
		b.waitView("event")
		b.wait("the photo event", `document.activeElement.textContent === `+jsString(sys.photoName))
		b.press(kb.Tab, chromedp.ModifierShift)
		b.press(kb.Enter)
		b.waitView("search")
		b.wait("focus back on the 21st event", fmt.Sprintf(`document.activeElement.dataset.id === '%d' && document.querySelectorAll('ol.results > li').length > 20`, sys.photoID))
		b.focusVisible("back deep in the results")
	})

	t.Run("NoHorizontalScrollAt320px", func(t *testing.T) {
		b := newTab(t, browser, axe)
		for _, size := range []struct {
			name          string
			width, height int64
			scale         float64
		}{{"320 CSS px", 320, 640, 1}, {"1280x800 at 400%", 320, 200, 4}} {
			b.do("size "+size.name, cdpCommand(emulation.SetDeviceMetricsOverride,
				emulation.SetDeviceMetricsOverrideParams{Width: size.width, Height: size.height, DeviceScaleFactor: size.scale}))
			b.open(sys.page, "/", "search")
			b.do("open the needs", chromedp.Evaluate[chromedp.Void](`document.querySelector('details.needs').open = true`))
			for _, v := range []struct{ path, kind string }{
				{"/", "search"}, {webQuestion, "search"}, {fmt.Sprintf("/event/%d", sys.photoID), "event"},
				{"/login", "login"}, {"/register", "register"}, {"/needs", "needs"},
			} {
				if v.path != "/" {
					b.goTo(v.path, v.kind)
				}
				if v.path == webQuestion {
					b.waitResults()
				}
				over := evalJS[struct {
					Content, Width int
					Wide           []string
				}](b, `(() => { const d = document.documentElement;
					return {Content: d.scrollWidth, Width: d.clientWidth, Wide: [...document.querySelectorAll('body *')]
						.filter(e => e.getBoundingClientRect().right > d.clientWidth + 0.5).slice(0, 5)
						.map(e => e.tagName.toLowerCase() + '.' + e.className + ' right=' + Math.round(e.getBoundingClientRect().right))}; })()`)
				if over.Content > over.Width {
					t.Errorf("at %s, %s scrolls sideways: %d px of content in %d px; wide: %q", size.name, v.path, over.Content, over.Width, over.Wide)
				}
			}
		}
	})

	t.Run("ReducedMotion", func(t *testing.T) {
		b := newTab(t, browser, axe)
		b.open(sys.page, "/", "search")
		type motion struct{ Scroll, Spinner, Card string }
		for _, c := range []struct {
			pref string
			want motion
		}{{"reduce", motion{"auto", "none", "0s"}}, {"no-preference", motion{"smooth", "spin", "0.15s"}}} {
			b.do("prefers-reduced-motion: "+c.pref, cdpCommand(emulation.SetEmulatedMedia,
				emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: c.pref}}}))
			got := evalJS[motion](b, `(() => {
				const probe = document.createElement('section');
				probe.className = 'results'; probe.setAttribute('aria-busy', 'true');
				const count = probe.appendChild(document.createElement('p')); count.className = 'count';
				const card = probe.appendChild(document.createElement('article')); card.className = 'card';
				document.querySelector('main').append(probe);
				const r = {Scroll: getComputedStyle(document.documentElement).scrollBehavior,
					Spinner: getComputedStyle(count, '::before').animationName, Card: getComputedStyle(card).transitionDuration};
				probe.remove();
				return r;
			})()`)
			if got != c.want {
				t.Errorf("prefers-reduced-motion %s: got %+v, want %+v", c.pref, got, c.want)
			}
		}
	})

	t.Run("RussianByDefaultEnglishSwitchable", func(t *testing.T) {
		b := newTab(t, browser, axe)
		b.open(sys.page, webQuestion, "search")
		b.waitResults()
		if got := evalJS[[]string](b, `[document.documentElement.lang, document.querySelector('h1').textContent]`); got[0] != "ru" || got[1] != "Найти событие, на которое вы сможете прийти" {
			t.Errorf("got lang and heading %q, want Russian", got)
		}
		b.do("switch to English", chromedp.Focus(`button.lang`))
		b.press(kb.Enter)
		b.waitResults()
		b.wait("English", `document.documentElement.lang === 'en' && document.querySelector('h1').textContent === 'Find an event you can attend'`)
		if got := evalJS[[]string](b, `[document.activeElement.textContent, document.activeElement.lang, document.querySelector('ol.results .facts').textContent]`); got[0] != "Русский" || got[1] != "ru" || !strings.Contains(got[2], "Step-free entrance") {
			t.Errorf("got focused %q (lang %q) and facts %q, want the switch back to Russian focused and English titles", got[0], got[1], got[2])
		}
		axeRun(b, "results in English")
		b.goTo(fmt.Sprintf("/event/%d", sys.photoID), "event")
		checkProvenance(t, b, sys, sys.photoID, sheetEN)
		axeRun(b, "event in English")
		b.goTo(webQuestion, "search")
		b.do("reload", chromedp.Reload())
		b.waitResults()
		if lang := evalJS[string](b, `document.documentElement.lang`); lang != "en" {
			t.Errorf("got lang %q after a reload, want en kept", lang)
		}
		b.do("switch back", chromedp.Click(`button.lang`))
		b.wait("Russian again", `document.documentElement.lang === 'ru'`)
	})

	t.Run("TimesInTheEventsZone", func(t *testing.T) {
		b := newTab(t, browser, axe)
		b.do("a browser in New York", cdpCommand(emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"}))
		var p webPage
		sys.getJSON(t, "/function/search-events?city=novosibirsk&limit=1", &p)
		if len(p.Items) != 1 || p.Items[0].Timezone != "Asia/Novosibirsk" {
			t.Fatalf("got %+v, want an event in Asia/Novosibirsk", p.Items)
		}
		ev := p.Items[0]
		starts, err := time.Parse(time.RFC3339, ev.StartsAt)
		if err != nil {
			t.Fatal(err)
		}
		loc, err := time.LoadLocation(ev.Timezone)
		if err != nil {
			t.Fatal(err)
		}
		want := starts.In(loc).Format("15:04") + " GMT+7"
		b.open(sys.page, "/search?city=novosibirsk", "search")
		b.waitResults()
		if zone := evalJS[string](b, `Intl.DateTimeFormat().resolvedOptions().timeZone`); zone != "America/New_York" {
			t.Fatalf("got the browser in %s, want America/New_York", zone)
		}
		if got := evalJS[string](b, `document.querySelector('ol.results .when time').textContent`); !strings.Contains(got, want) {
			t.Errorf("got %q, want the time in Novosibirsk, %q", got, want)
		}
		b.goTo(fmt.Sprintf("/event/%d", ev.ID), "event")
		if got := evalJS[string](b, `document.querySelector('dl.facts time').textContent`); !strings.Contains(got, want) {
			t.Errorf("got %q on the event, want %q", got, want)
		}
	})

	t.Run("BlockedOriginSaidPlainly", func(t *testing.T) {
		page := servePage(t, "127.0.0.3", sys.api) // an origin up did not add to CORS_ALLOWED_ORIGINS
		b := newTab(t, browser, axe)
		b.open(page, webQuestion, "problem")
		want := "не разрешает запросы со страницы " + page
		if got := evalJS[string](b, `document.getElementById('problem').innerText`); !strings.Contains(got, want) || !strings.Contains(got, "CORS_ALLOWED_ORIGINS") {
			t.Errorf("got problem %q, want it to say %q and name CORS_ALLOWED_ORIGINS", got, want)
		}
		axeRun(b, "problem")
		b.goTo("/login", "login")
		b.do("log in", chromedp.SendKeys(`input[name=email]`, "someone@example.ru"), chromedp.SendKeys(`input[name=password]`, "whatever-it-is"),
			chromedp.Click(`form.account button[type=submit]`))
		b.wait("the refusal said", `document.getElementById('problem').innerText.includes(`+jsString(want)+`)`)
		blocked := map[string]string{} // path: what the browser blocked and why
		for _, r := range b.net.requests() {
			if r.CORS != "" {
				path := strings.TrimPrefix(strings.Split(r.URL, "?")[0], sys.api)
				blocked[path] = strings.TrimSpace(blocked[path] + " " + r.Method + " " + r.CORS)
			}
		}
		for _, path := range []string{"/function/search-events/constraints", "/function/login"} {
			if blocked[path] == "" {
				t.Errorf("got CORS blocks %v, want the browser to block %s", blocked, path)
			}
		}
		t.Logf("the browser blocked: %v", blocked)

		closed, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := webpage.URL(closed.Addr())
		closed.Close()
		b.open(servePage(t, "127.0.0.4", down), "/", "problem")
		if got := evalJS[string](b, `document.getElementById('problem').innerText`); !strings.Contains(got, "Не удалось связаться с сервером "+down) {
			t.Errorf("got problem %q with the API down, want it said", got)
		}
	})

	var names []string
	for id := range rules {
		names = append(names, id)
	}
	slices.Sort(names)
	var seen []string
	for v := range views {
		seen = append(seen, v)
	}
	slices.Sort(seen)
	t.Logf("axe-core (tags %s) ran %d rules on the views %q: %s", strings.Join(axeTags, ", "), len(names), seen, strings.Join(names, " "))
}

// call is one request the page made to the API and its answer's status.
type call struct {
	method, path string
	status       int64
}

// checkCalls wants each call among the requests to api (a preflight is reported after the
// request it clears, so order is not checked).
func checkCalls(t *testing.T, reqs []netRequest, api string, want ...call) {
	t.Helper()
	var got []call
	for _, r := range reqs {
		if path, ok := strings.CutPrefix(strings.Split(r.URL, "?")[0], api); ok {
			got = append(got, call{r.Method, path, r.Status})
		}
	}
	left := slices.Clone(got)
	for _, w := range want {
		i := slices.Index(left, w)
		if i < 0 {
			t.Errorf("got calls to the API %v, want %v among them", got, w)
			continue
		}
		left = slices.Delete(left, i, i+1)
	}
}

// tabUntil presses Tab until cond holds (at most n times), with focus visible at each step.
func (b *tab) tabUntil(what, cond string, n int) {
	b.t.Helper()
	for range n {
		b.press(kb.Tab)
		b.focusVisible("tabbing to " + what)
		if evalJS[bool](b, `!!(`+cond+`)`) {
			return
		}
	}
	b.t.Fatalf("no %s after %d presses of Tab\n%s", what, n, b.state())
}

// is wants cond to hold now, with focus visible.
func (b *tab) is(what, cond string) {
	b.t.Helper()
	if !evalJS[bool](b, `!!(`+cond+`)`) {
		b.t.Fatalf("want %s, got focus on %s\n%s", what, b.focusVisible(what).What, b.state())
	}
	b.focusVisible(what)
}

// screenshot is a PNG of the viewport.
func (b *tab) screenshot() []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	return png
}

// sheetWords are the words of an event's accessibility sheet in one language.
type sheetWords struct {
	answers, from, sources   map[string]string
	nobody, source, verified string
	day                      func(time.Time) string
}

var (
	sheetRU = sheetWords{
		answers: map[string]string{"yes": "Есть", "no": "Нет", "not_applicable": "Не применимо", "unknown": "Нет данных"},
		from:    map[string]string{"venue": "Сведения о площадке", "event": "Сведения о событии"},
		sources: map[string]string{"organiser": "организатор", "venue_survey": "обследование площадки", "visitor_report": "отзыв посетителя", "import_a11yjson": "импорт A11yJSON"},
		nobody:  "Никто не сообщал", source: "; источник: ", verified: "; проверено ",
		day: func(d time.Time) string {
			months := []string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
			return fmt.Sprintf("%d %s %d г.", d.Day(), months[d.Month()-1], d.Year())
		},
	}
	sheetEN = sheetWords{
		answers: map[string]string{"yes": "Yes", "no": "No", "not_applicable": "Not applicable", "unknown": "Not known"},
		from:    map[string]string{"venue": "Venue fact", "event": "Event fact"},
		sources: map[string]string{"organiser": "the organiser", "venue_survey": "a venue survey", "visitor_report": "a visitor’s report", "import_a11yjson": "an A11yJSON import"},
		nobody:  "Nobody has said", source: "; source: ", verified: "; verified ",
		day: func(d time.Time) string { return d.Format("2 January 2006") },
	}
)

// checkProvenance wants the event view (open in b) to show, for every code of the API's
// accessibility_details of event id, the answer in words and where it came from: the venue or
// the event, its source and the day it was verified.
func checkProvenance(t *testing.T, b *tab, sys *webSystem, id int64, w sheetWords) {
	t.Helper()
	var ev struct {
		Details map[string]struct {
			Value, From string
			Source      *string
			VerifiedAt  *string `json:"verified_at"`
		} `json:"accessibility_details"`
	}
	sys.getJSON(t, fmt.Sprintf("/function/get-event/%d", id), &ev)
	rows := evalJS[map[string][]string](b, `Object.fromEntries([...document.querySelectorAll('table.sheet tbody tr')].map(r => [r.dataset.code, [...r.cells].map(c => c.textContent)]))`)
	if len(rows) != len(ev.Details) {
		t.Errorf("got %d rows in the sheet, want one per code of the API's %d", len(rows), len(ev.Details))
	}
	seen := map[string]int{}
	for code, d := range ev.Details {
		row := rows[code]
		if len(row) != 3 {
			t.Errorf("%s: got row %q, want the need, its answer and where it comes from", code, row)
			continue
		}
		if _, answer, _ := strings.Cut(row[1], " "); answer != w.answers[d.Value] {
			t.Errorf("%s: got answer %q, want %q for %s", code, row[1], w.answers[d.Value], d.Value)
		}
		want := w.nobody
		if w.from[d.From] != "" {
			want = w.from[d.From]
			if d.Source != nil {
				want += w.source + cmp.Or(w.sources[*d.Source], strings.ReplaceAll(*d.Source, "_", " "))
			}
			if d.VerifiedAt != nil {
				day, err := time.Parse(time.DateOnly, *d.VerifiedAt)
				if err != nil {
					t.Fatalf("%s: verified_at %q is not a day (the seed's are)", code, *d.VerifiedAt)
				}
				want += w.verified + w.day(day)
			}
			if d.Source != nil && d.VerifiedAt != nil {
				seen[d.From]++
			}
		}
		if row[2] != want {
			t.Errorf("%s: got %q, want %q", code, row[2], want)
		}
	}
	if seen["venue"] == 0 {
		t.Errorf("got no venue fact with its source and day on event %d (%v), want the seed's", id, seen)
	}
	t.Logf("event %d: %d answers, with source and day: %v", id, len(ev.Details), seen)
}
