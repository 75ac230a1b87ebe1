// The page: header (menu, account, language), the router over the address's #/... part, and
// focus: each new view puts focus on its heading (or, back on the results, on the event that
// was opened), so keyboard and screen reader users always know where they are.
import { h } from './dom.js';
import { t, setLang } from './i18n.js';
import { session, setSession, notify, takeNotice, showProblem, describe } from './state.js';
import { searchView } from './search.js';
import { eventView } from './event.js';
import { loginView, registerView, eraseView } from './account.js';
import { needsView } from './needs.js';

const LANG = 'dostupno.lang';

const routes = [
  { re: /^\/?$/, kind: 'search', make: () => searchView(null) },
  { re: /^\/search$/, kind: 'search', make: (m, q) => searchView(q) },
  { re: /^\/event\/(\d+)$/, kind: 'event', make: (m) => eventView(m[1]) },
  { re: /^\/login$/, kind: 'login', make: () => loginView() },
  { re: /^\/register$/, kind: 'register', make: () => registerView() },
  { re: /^\/needs$/, kind: 'needs', make: () => needsView() },
  { re: /^\/erase$/, kind: 'erase', make: () => eraseView() },
];

let mounted = null; // {path, view}
let renders = 0;

function header() {
  const s = session();
  const here = (location.hash.slice(1).split('?')[0] || '/').replace(/^\/search$/, '/');
  const link = (href, text) => h('li', null, h('a', { href, 'aria-current': here === href.slice(1) ? 'page' : null }, text));
  const other = t('switchToLang');
  document.getElementById('header').replaceChildren(
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); document.getElementById('main').focus(); } }, t('skip')),
    h('div', { class: 'bar' },
      h('p', { class: 'brand' }, h('a', { href: '#/' }, t('siteName')), h('span', { class: 'tagline' }, t('tagline'))),
      h('nav', { 'aria-label': t('navLabel') }, h('ul', null,
        link('#/', t('navSearch')),
        link('#/needs', t('navNeeds')),
        s ? null : link('#/login', t('navLogin')),
        s ? null : link('#/register', t('navRegister')),
        s ? h('li', { class: 'who' }, t('signedInAs', { name: s.user.name }), ' ',
          h('button', { type: 'button', class: 'link', onclick: logout }, t('logout'))) : null)),
      h('button', { type: 'button', class: 'lang', lang: other, onclick: () => switchLang(other) }, t('switchTo'))));
  document.getElementById('footer').replaceChildren(h('p', null, t('footer')));
}

function logout() {
  setSession(null);
  notify(t('loggedOut'));
  if (['', '#', '#/'].includes(location.hash)) route(); else location.hash = '#/';
}

function switchLang(l) {
  setLang(l);
  localStorage.setItem(LANG, l);
  mounted = null; // every view is drawn again in the new language
  route().then(() => document.querySelector('#header .lang').focus());
}

async function route() {
  const raw = location.hash.slice(1);
  if (raw && !raw.startsWith('/')) return; // an in-page anchor, not a view
  showProblem(''); // each view says its own problems
  const [path, qs] = raw.split('?');
  const params = qs !== undefined || path === '/search' ? new URLSearchParams(qs || '') : null;
  header();
  const n = ++renders;
  const r = routes.find((x) => x.re.test(path)) || routes[0];
  const main = document.getElementById('main');
  if (mounted && mounted.kind === 'search' && r.kind === 'search' && params) {
    mounted.view.update(params); // same form, new search: focus stays where it is
    return;
  }
  try {
    const view = await r.make(path.match(r.re), params);
    if (n !== renders) return; // a later navigation won
    mounted = { kind: r.kind, view };
    document.title = `${view.title} — ${t('siteName')}`;
    main.replaceChildren(view.el);
    main.dataset.view = r.kind;
    const notice = takeNotice();
    if (notice) main.querySelector('h1').after(h('p', { class: 'notice' }, notice));
    if (view.update) view.update(params);
    // The first view of a visit leaves focus at the top of the page, as any page would.
    if (n > 1) (view.focusTarget ? view.focusTarget() : main.querySelector('h1')).focus();
  } catch (err) {
    if (n !== renders) return;
    mounted = null;
    const h1 = h('h1', { tabindex: '-1' }, t('siteName'));
    main.replaceChildren(h1);
    main.dataset.view = 'problem';
    document.title = t('siteName');
    showProblem(describe(err), () => route());
    if (n > 1) h1.focus();
  }
}

setLang(localStorage.getItem(LANG) || 'ru');
document.addEventListener('dostupno:session', () => header());
window.addEventListener('hashchange', () => route());
route();
