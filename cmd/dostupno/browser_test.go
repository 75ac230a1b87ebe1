package main

// What the web page's browser tests (web_test.go) drive: the system Chromium through
// chromedp, one tab per test, axe-core injected into the page, a record of the tab's network.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/dostupno/dostupno/shared/pgtest"
)

// axeTags are the axe-core rule tags run on every view: WCAG 2.0, 2.1 and 2.2, levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// browserOrSkip finds Chromium and axe-core. Only the image build (DOSTUPNO_SERVICES_OPTIONAL=1)
// skips; elsewhere a missing one fails, saying how to install it.
func browserOrSkip(t *testing.T) (chromium, axe string) {
	t.Helper()
	if pgtest.ServicesOptional() {
		t.Skip("DOSTUPNO_SERVICES_OPTIONAL=1: the browser tests need Chromium, axe-core and the services")
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Fatal("Chromium is not installed: apt-get install chromium (bash .ci/test installs it)")
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is not installed (%v): run npm ci at the repository's root (bash .ci/test does)", err)
	}
	return chromium, string(src)
}

// startChromium starts a headless Chromium with a fresh profile; it stops when t ends.
func startChromium(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("lang", "ru-RU"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := chromedp.Cancel(bctx); err != nil {
			t.Logf("close Chromium: %v", err)
		}
		bcancel()
		acancel()
	})
	return bctx
}

// tab is one browser tab of a test.
type tab struct {
	t   *testing.T
	ctx context.Context
	axe string // axe-core's source
	net *netLog
}

// newTab opens a tab that records its network; it closes when t ends.
func newTab(t *testing.T, browser context.Context, axe string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx, axe: axe, net: &netLog{reqs: map[network.RequestID]*netRequest{}}}
	if err := chromedp.Listen(ctx, b.net.record); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("record the network: %v", err)
	}
	return b
}

// cdpCommand is an action that sends one DevTools protocol command to the tab.
func cdpCommand[P, R any](cmd cdp.Command[P, R], params P) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cmd, params)
		return err
	})
}

// do runs actions with a deadline.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\n%s", what, err, b.state())
	}
}

// evalJS evaluates a JavaScript expression in the tab and decodes its value.
func evalJS[T any](b *tab, expr string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		b.t.Fatalf("evaluate %.120q: %v", expr, err)
	}
	return v
}

// state describes the page for a failure message.
func (b *tab) state() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + '\nproblem: ' + document.getElementById('problem')?.innerText + '\nmain: ' + document.querySelector('main')?.innerText.slice(0, 600)`))
	if err != nil {
		return "(page state unknown: " + err.Error() + ")"
	}
	return s
}

// wait waits until the expression is true.
func (b *tab) wait(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!(`+expr+`)`, chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		b.t.Fatalf("waiting for %s: %v\n%s", what, err, b.state())
	}
}

// open loads the page at base#path (a new document) and waits for the view kind.
func (b *tab) open(base, path, kind string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(base+"/#"+path))
	b.waitView(kind)
}

// go moves to #path in the page already loaded, as a link would.
func (b *tab) goTo(path, kind string) {
	b.t.Helper()
	b.do("go to "+path, chromedp.Evaluate[chromedp.Void](`location.hash = `+jsString("#"+path)))
	b.waitView(kind)
}

func (b *tab) waitView(kind string) {
	b.t.Helper()
	b.wait("the "+kind+" view", `document.querySelector('main').dataset.view === `+jsString(kind))
}

// waitResults waits until a search has answered and its results are shown.
func (b *tab) waitResults() {
	b.t.Helper()
	b.wait("results", `document.querySelector('section.results:not([hidden]):not([aria-busy]) .count')?.textContent.length > 0`)
}

// press sends one key (with modifiers) to the focused element.
func (b *tab) press(key string, mods ...chromedp.Modifier) {
	b.t.Helper()
	b.do(fmt.Sprintf("press %q", key), chromedp.KeyEvent(key, chromedp.KeyModifiers(mods...)))
}

// focused describes the focused element and whether its focus can be seen: a ring of at
// least 2 px (the outline) on an element inside the viewport.
type focused struct {
	What, Outline string
	Ring, InView  bool
}

func (b *tab) focusVisible(step string) focused {
	b.t.Helper()
	// A smooth scroll may still be bringing the element into view: wait for it to arrive.
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const r = document.activeElement.getBoundingClientRect();
		return r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth; })()`,
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(2*time.Second)))
	cancel()
	if err != nil && !errors.Is(err, chromedp.ErrPollingTimeout) {
		b.t.Fatalf("%s: %v", step, err)
	}
	f := evalJS[focused](b, `(() => {
		const el = document.activeElement;
		if (!el || el === document.body || el === document.documentElement) return {What: 'nothing', Outline: '', Ring: false, InView: false};
		const cs = getComputedStyle(el), r = el.getBoundingClientRect();
		const what = el.tagName.toLowerCase() + (el.name ? '[name=' + el.name + ']' : '') + (el.value && el.tagName === 'INPUT' ? '[value=' + el.value + ']' : '') + ' "' + (el.innerText || '').trim().slice(0, 50) + '"';
		return {What: what, Outline: cs.outlineStyle + ' ' + cs.outlineWidth + ' ' + cs.outlineColor,
			Ring: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2,
			InView: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth};
	})()`)
	if !f.Ring || !f.InView {
		b.t.Errorf("%s: focus on %s is not visible (outline %q, in view %v)", step, f.What, f.Outline, f.InView)
	}
	return f
}

// axeRun runs axe-core on the page with axeTags and fails t for every violation; the ids of
// the rules that ran go into rules.
func (b *tab) axeRun(view string, rules map[string]bool) {
	b.t.Helper()
	if !evalJS[bool](b, `typeof axe !== 'undefined'`) {
		evalJS[chromedp.Void](b, b.axe)
	}
	tags, err := json.Marshal(axeTags)
	if err != nil {
		b.t.Fatal(err)
	}
	type node struct {
		Target         []any  `json:"target"`
		FailureSummary string `json:"failureSummary"`
	}
	type rule struct {
		ID, Impact, Help string
		Nodes            []node `json:"nodes"`
	}
	res := evalJS[struct {
		Violations                       []rule
		Passes, Incomplete, Inapplicable []string
	}](b, `axe.run(document, {runOnly: {type: 'tag', values: `+string(tags)+`}, resultTypes: ['violations']}).then(r => ({
		Violations: r.violations.map(v => ({ID: v.id, Impact: v.impact, Help: v.help, nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary}))})),
		Passes: r.passes.map(x => x.id), Incomplete: r.incomplete.map(x => x.id), Inapplicable: r.inapplicable.map(x => x.id)}))`, chromedp.EvalAwaitPromise)
	for _, v := range res.Violations {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmtJSON(n.Target)+": "+strings.ReplaceAll(n.FailureSummary, "\n", " "))
		}
		b.t.Errorf("axe on the %s view: %s (%s): %s\n\t%s", view, v.ID, v.Impact, v.Help, strings.Join(where, "\n\t"))
	}
	for _, list := range [][]string{res.Passes, res.Incomplete} {
		for _, id := range list {
			rules[id] = true
		}
	}
	for _, v := range res.Violations {
		rules[v.ID] = true
	}
}

func fmtJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string { return fmtJSON(s) }

// netLog records a tab's requests: what was asked, the answer's status, the bytes over the
// wire and, for a failure, whether CORS blocked it.
type netLog struct {
	mu   sync.Mutex
	reqs map[network.RequestID]*netRequest
	ids  []network.RequestID
}

type netRequest struct {
	URL, Method string
	Type        network.ResourceType
	Status      int64
	Bytes       float64
	Failed      string // the error text of a failed request
	CORS        string // the CORS error that blocked it
}

// record is the tab's event listener: it must return at once (chromedp.Listen).
func (l *netLog) record(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	get := func(id network.RequestID) *netRequest {
		r := l.reqs[id]
		if r == nil {
			r = &netRequest{}
			l.reqs[id] = r
			l.ids = append(l.ids, id)
		}
		return r
	}
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		r := get(e.RequestID)
		r.URL, r.Method, r.Type = e.Request.URL, e.Request.Method, e.Type
	case *network.EventResponseReceived:
		r := get(e.RequestID)
		r.Status = e.Response.Status
		if r.Type == "" {
			r.Type = e.Type
		}
	case *network.EventLoadingFinished:
		get(e.RequestID).Bytes = e.EncodedDataLength
	case *network.EventLoadingFailed:
		r := get(e.RequestID)
		r.Failed = e.ErrorText
		if e.CorsErrorStatus != nil {
			r.CORS = string(e.CorsErrorStatus.CorsError)
		}
	}
}

// requests returns a copy of what was recorded, in order, and forgets it.
func (l *netLog) requests() []netRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]netRequest, 0, len(l.ids))
	for _, id := range l.ids {
		out = append(out, *l.reqs[id])
	}
	l.reqs, l.ids = map[network.RequestID]*netRequest{}, nil
	return out
}
