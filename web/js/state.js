// What the views share: the catalog, the session (token and user), needs kept in this browser,
// the last search (so coming back from an event shows it again), and the two regions a
// screen reader hears: the status line and the problem alert.
import { api, apiBase } from './api.js';
import { t } from './i18n.js';
import { h } from './dom.js';

const SESSION = 'dostupno.session';
const NEEDS = 'dostupno.needs';

let catalogPromise = null;
/** The catalog of /constraints (codes, profiles, cities, categories), fetched once. */
export function catalog() {
  if (!catalogPromise) {
    catalogPromise = api.catalog().then((c) => {
      c.byCode = new Map(c.constraints.map((x) => [x.code, x]));
      return c;
    });
    catalogPromise.catch(() => { catalogPromise = null; }); // a later view tries again
  }
  return catalogPromise;
}

/** The logged-in session {token, expires_at, user}, or null. Kept for this tab only. */
export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION));
    if (s && s.token && Date.parse(s.expires_at) > Date.now()) return s;
  } catch { /* none or unreadable */ }
  sessionStorage.removeItem(SESSION);
  return null;
}

export function setSession(s) {
  lastSearch.key = null; // another person's (or nobody's) saved needs: search afresh
  if (s) sessionStorage.setItem(SESSION, JSON.stringify({ token: s.token, expires_at: s.expires_at, user: s.user }));
  else sessionStorage.removeItem(SESSION);
  document.dispatchEvent(new Event('dostupno:session'));
}

/** Needs chosen on the needs view by a visitor without an account (codes). */
export function localNeeds() {
  try {
    const v = JSON.parse(localStorage.getItem(NEEDS));
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export const setLocalNeeds = (codes) => localStorage.setItem(NEEDS, JSON.stringify(codes));

/** The last search's answer and where the visitor was in it; see search.js. */
export const lastSearch = { key: null, address: '', query: '', items: [], next: null, applied: [], mine: false, lenient: false, openedId: null };

/** Says text through the status live region (polite). */
export function announce(text) {
  const el = document.getElementById('status');
  el.textContent = '';
  // A fresh text node in a later task is announced even when the words repeat.
  setTimeout(() => { el.textContent = text; }, 50);
}

let notice = '';
/** Says text through the status region and shows it at the top of the next view, once. */
export function notify(text) {
  notice = text;
  announce(text);
}

/** The notice of notify, forgotten once taken. */
export function takeNotice() {
  const n = notice;
  notice = '';
  return n;
}

/** Shows a problem in the alert region at the top of the page (nothing clears it). */
export function showProblem(text, retry) {
  const el = document.getElementById('problem');
  el.replaceChildren(h('p', null, text), retry ? h('button', { type: 'button', onclick: () => { showProblem(''); retry(); } }, t('retry')) : null);
  if (!text) el.replaceChildren();
}

/** The words for an ApiError (or anything thrown) that the page shows a visitor. */
export function describe(err) {
  if (!err || !err.kind) return t('errOther', { message: String(err && err.message || err) });
  switch (err.kind) {
    case 'blocked': return t('errBlocked', { api: apiBase, origin: location.origin });
    case 'offline': return t('errOffline', { api: apiBase });
    default:
      if (err.status === 429) return t('rateLimited', { minutes: Math.max(1, Math.ceil(err.retryAfter / 60)) });
      if (err.status >= 500) return t('errServer');
      return t('errOther', { message: err.message });
  }
}
