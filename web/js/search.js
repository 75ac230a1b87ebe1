// The search view and its results. The search lives in the address (#/search?profile=...),
// so Back and Forward, a bookmark and a shared link show the same results; the answer is
// kept (lastSearch) so that coming back from an event shows the same pages, with focus on
// the event that was opened.
import { h, uid, focus } from './dom.js';
import { t, titleOf, placeName, list } from './i18n.js';
import { api } from './api.js';
import { catalog, session, setSession, localNeeds, lastSearch, announce, showProblem, describe } from './state.js';
import { needsChooser } from './needs.js';
import { summaryFields, needName } from './fields.js';

const PAGE = 20;
/** The form's fields that go into the address as they are typed. */
const TEXT_FIELDS = ['city', 'category', 'from', 'to', 'q', 'wheelchair_spaces', 'companion_seats'];
let marked = false; // the first results of this page load are marked for the browser tests

/** The API query for the search described by the address's params, and whether it is personal. */
function apiQuery(params, s) {
  const q = new URLSearchParams();
  for (const k of ['constraints', 'profile', 'city', 'category', 'q', 'wheelchair_spaces', 'companion_seats']) if (params.get(k)) q.set(k, params.get(k));
  if (params.get('match') === 'lenient') q.set('match', 'lenient');
  // Dates are days in the visitor's own time zone; "to" includes its whole day.
  const from = params.get('from');
  if (from) q.set('from', new Date(Math.max(Date.now(), new Date(`${from}T00:00`).getTime())).toISOString());
  const to = params.get('to');
  if (to) {
    const end = new Date(`${to}T00:00`);
    end.setDate(end.getDate() + 1);
    q.set('to', end.toISOString());
  }
  q.set('limit', String(PAGE));
  const personal = !!s && params.get('personalize') !== 'false';
  if (s && !personal) q.set('personalize', 'false');
  return { query: q.toString(), mine: personal && !params.get('constraints') && !params.get('profile') };
}

/** What identifies a search's answer: the address's search and who asks. */
const searchKey = (p, s) => `${p}|${s ? s.user.id : ''}`;

/** Starts the search of params, unless its answer is kept: {key, query, mine, abort, answer}. */
function begin(p) {
  const s = session();
  const { query, mine } = apiQuery(p, s);
  const key = searchKey(p, s);
  if (lastSearch.key === key) return { key, kept: true };
  const ctl = new AbortController();
  const answer = api.search(query, { token: s && s.token, signal: ctl.signal });
  answer.catch(() => {}); // handled where it is awaited; this only silences an early failure
  return { key, query, mine, answer, abort: () => ctl.abort() };
}

/** searchView(params): params null for the empty form (#/), else the address's search. */
export async function searchView(params) {
  // The search goes out with the catalog's request, not after it.
  let early = params ? begin(params) : null;
  const cat = await catalog();
  const s = session();
  const initial = params || new URLSearchParams(localNeeds().length ? { constraints: localNeeds().join(',') } : {});

  // The form.
  const profiles = h('fieldset', { class: 'profiles' },
    h('legend', null, t('profileLegend')),
    h('p', { class: 'hint', id: 'profile-hint' }, t('profileHint')),
    h('ul', { class: 'checks' }, [{ code: '', title: null }, ...cat.profiles].map((p) => {
      const id = uid('profile');
      return h('li', null,
        h('input', { type: 'radio', name: 'profile', id, value: p.code, 'aria-describedby': 'profile-hint' }), ' ',
        h('label', { for: id }, p.code ? titleOf(p) : t('profileNone')));
    })));
  const codesOf = (p) => (p.get('constraints') || '').split(',').filter((c) => cat.byCode.has(c));
  const chosen = codesOf(initial);
  const chooser = needsChooser(cat, chosen);
  const summary = h('summary', null, t('needsSummary', { n: chosen.length }));
  chooser.onchange(() => { summary.textContent = t('needsSummary', { n: chooser.values().length }); });
  const needs = h('details', { class: 'needs', open: chosen.length > 0 }, summary, h('p', { class: 'hint' }, t('needsHint')), chooser.el);

  const select = (name, label, anyLabel, places) => {
    const id = uid(name);
    return h('p', { class: 'field' }, h('label', { for: id }, label),
      h('select', { id, name }, h('option', { value: '' }, anyLabel), places.map((p) => h('option', { value: p.slug }, placeName(p)))));
  };
  const date = (name, label) => {
    const id = uid(name);
    return h('p', { class: 'field' }, h('label', { for: id }, label), h('input', { type: 'date', id, name }));
  };
  const atLeast = (name, label) => {
    const id = uid(name);
    return h('p', { class: 'field' }, h('label', { for: id }, label), h('input', { type: 'number', id, name, min: 1, max: 1000, step: 1, inputmode: 'numeric' }));
  };
  const qid = uid('q');
  const personalize = s ? h('p', { class: 'check' },
    h('input', { type: 'checkbox', id: 'personalize', name: 'personalize', checked: true }), ' ',
    h('label', { for: 'personalize' }, t('personalize'), s.user.needs.length ? ` (${list(s.user.needs.map((c) => needName(cat, c)))})` : '')) : null;
  const lenient = h('div', { class: 'check' },
    h('input', { type: 'checkbox', id: 'lenient', name: 'match', value: 'lenient', 'aria-describedby': 'lenient-hint' }),
    h('div', null, h('label', { for: 'lenient' }, t('lenient')), h('p', { class: 'hint', id: 'lenient-hint' }, t('lenientHint'))));
  const form = h('form', { class: 'search', role: 'search', 'aria-label': t('searchTitle'), novalidate: true },
    profiles, needs,
    h('div', { class: 'row' },
      select('city', t('city'), t('anyCity'), cat.cities),
      select('category', t('category'), t('anyCategory'), cat.categories)),
    h('fieldset', { class: 'dates row' }, h('legend', null, t('datesLegend')), date('from', t('dateFrom')), date('to', t('dateTo'))),
    h('fieldset', { class: 'dates row' }, h('legend', null, t('seatsLegend')), atLeast('wheelchair_spaces', t('minWheelchair')), atLeast('companion_seats', t('minCompanion'))),
    h('p', { class: 'field' }, h('label', { for: qid }, t('query')), h('input', { type: 'search', id: qid, name: 'q', autocomplete: 'off' })),
    lenient, personalize,
    h('p', { class: 'actions' }, h('button', { type: 'submit' }, t('find'))));

  const fill = (p) => {
    const profile = p.get('profile') || '';
    chooser.set(codesOf(p));
    for (const r of form.elements.profile) r.checked = r.value === profile;
    for (const k of TEXT_FIELDS) form.elements[k].value = p.get(k) || '';
    if (personalize) form.elements.personalize.checked = p.get('personalize') !== 'false';
    form.elements.match.checked = p.get('match') === 'lenient';
  };
  fill(initial);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    const profile = form.elements.profile.value;
    if (profile) p.set('profile', profile);
    if (chooser.values().length) p.set('constraints', chooser.values().join(','));
    for (const k of TEXT_FIELDS) if (form.elements[k].value.trim()) p.set(k, form.elements[k].value.trim());
    if (form.elements.match.checked) p.set('match', 'lenient');
    if (personalize && !form.elements.personalize.checked) p.set('personalize', 'false');
    const hash = `#/search?${p}`;
    if (location.hash === hash) run(p, true); else location.hash = hash; // the router calls update
  });

  // The results.
  const count = h('p', { class: 'count' });
  const applied = h('p', { class: 'applied' });
  const items = h('ol', { class: 'results' });
  const more = h('p', { class: 'more' });
  const results = h('section', { class: 'results', 'aria-labelledby': 'results-h', hidden: true },
    h('h2', { id: 'results-h' }, t('results')), count, applied, items, more);

  const card = (ev, appliedCodes) => h('li', null, h('article', { class: ev.unknown && ev.unknown.length ? 'card lenient' : 'card', 'aria-labelledby': `ev-${ev.id}` },
    h('h3', { id: `ev-${ev.id}` }, h('a', { href: `#/event/${ev.id}`, 'data-id': ev.id, onclick: () => { lastSearch.openedId = ev.id; } }, ev.title)),
    ev.cover_url ? h('img', { src: ev.cover_url, alt: '', loading: 'lazy', class: 'cover' }) : null,
    summaryFields.map((f) => f.render(ev, { cat, applied: appliedCodes }))));

  const render = () => {
    results.hidden = false;
    results.removeAttribute('aria-busy');
    const codes = lastSearch.applied;
    count.textContent = t('found', { n: lastSearch.items.length, more: !!lastSearch.next });
    applied.textContent = codes.length ? t(lastSearch.mine ? 'appliedMine' : lastSearch.lenient ? 'asked' : 'applied', { list: list(codes.map((c) => needName(cat, c))) }) + (lastSearch.lenient ? ` ${t('lenientShown')}` : '') : '';
    items.replaceChildren(...lastSearch.items.map((ev) => card(ev, codes)));
    more.replaceChildren(lastSearch.next ? h('button', { type: 'button', onclick: loadMore }, t('more')) : '');
  };

  let inflight = null;
  async function run(p, fresh) {
    let req = early;
    early = null;
    if (fresh || !req || req.key !== searchKey(p, session())) {
      if (req && req.abort) req.abort();
      if (fresh) lastSearch.key = null;
      req = begin(p);
    }
    if (req.kept) {
      render();
      return;
    }
    if (inflight) inflight.abort();
    inflight = req;
    const { key, query, mine } = req;
    const s = session();
    results.hidden = false;
    results.setAttribute('aria-busy', 'true');
    count.textContent = t('searching');
    applied.textContent = '';
    items.replaceChildren();
    more.replaceChildren();
    try {
      const page = await req.answer;
      if (inflight !== req) return; // a later search took over
      Object.assign(lastSearch, { key, address: p.toString(), query, items: page.items, next: page.next_cursor, applied: page.applied_constraints, mine, lenient: p.get('match') === 'lenient', openedId: null });
      showProblem('');
      render();
      if (!marked) {
        marked = true;
        performance.mark('dostupno:first-results');
      }
      announce(count.textContent);
    } catch (err) {
      if (err.name === 'AbortError') return;
      results.removeAttribute('aria-busy');
      count.textContent = '';
      if (err.status === 401 && s) { // the token is no longer accepted: search as a guest
        setSession(null);
        showProblem(t('sessionExpired'));
        return;
      }
      showProblem(describe(err), () => run(p, true));
    }
  }

  async function loadMore(e) {
    const button = e.currentTarget;
    button.disabled = true;
    const before = lastSearch.items.length;
    try {
      const q = new URLSearchParams(lastSearch.query);
      q.set('cursor', lastSearch.next);
      const s = session();
      const page = await api.search(q.toString(), { token: s && s.token });
      lastSearch.items = lastSearch.items.concat(page.items);
      lastSearch.next = page.next_cursor;
      render();
      // Focus goes to the first new event, so the keyboard carries on where the list grew.
      focus(items.children[before] && items.children[before].querySelector('a'));
      announce(t('loadedMore', { n: page.items.length, total: lastSearch.items.length, more: !!page.next_cursor }));
    } catch (err) {
      button.disabled = false;
      showProblem(describe(err), () => button.click());
    }
  }

  const h1 = h('h1', { tabindex: '-1' }, t('searchTitle'));
  return {
    title: t('searchTitle'),
    el: h('div', null, h1, h('p', { class: 'intro' }, t('searchIntro')), form, results),
    /** Shows the search of the address (params null: none). */
    update: (p) => {
      if (!p) return;
      fill(p);
      run(p, false);
    },
    /** Where focus goes when the view is shown: the event the visitor came back from. */
    focusTarget: () => (lastSearch.openedId && items.querySelector(`a[data-id="${lastSearch.openedId}"]`)) || h1,
  };
}
