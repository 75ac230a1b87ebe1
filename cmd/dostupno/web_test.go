package main

// The web page in real Chromium (README, "The web page"): `up` serves the API on 127.0.0.1
// and the page on 127.0.0.2, another origin, over seeded events; the tests search, sign up
// and log in across the origins, watch the browser block a page whose origin the API does not
// allow, run axe-core on every view, walk a keyboard-only journey, and check the narrow
// layout, reduced motion, the languages, time zones and the page's weight.

import (
	"bytes"
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
		b.wait("the photo", `document.querySelector('.photos img')?.complete`)
		alts := evalJS[[]string](b, `[...document.querySelectorAll('.photos img')].map(i => i.alt)`)
		if len(alts) != 1 || !strings.Contains(alts[0], sys.photoName) {
			t.Errorf("got photo alternative texts %q, want one naming %q", alts, sys.photoName)
		}
		axeRun(b, "event")
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
		if got := evalJS[[]string](b, `[...document.querySelectorAll('ul.saved li')].map(l => l.textContent)`); len(got) != 2 {
			t.Errorf("got saved needs %q, want the two chosen", got)
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
