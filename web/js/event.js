// One event: when and where (in the event's own time zone), its full accessibility sheet as a
// table of words, its description and photos.
import { h } from './dom.js';
import { t, formatDate } from './i18n.js';
import { api } from './api.js';
import { catalog, lastSearch } from './state.js';
import { detailFacts, sheetColumns, valueOf } from './fields.js';

export async function eventView(id) {
  const back = lastSearch.key
    ? h('a', { href: `#/search?${lastSearch.address}`, class: 'back' }, t('backToResults'))
    : h('a', { href: '#/', class: 'back' }, t('backToSearch'));
  const crumbs = h('nav', { 'aria-label': t('breadcrumbs') }, h('p', null, back));
  const [cat, ev] = await Promise.all([catalog(), api.event(id).catch((err) => {
    if (err.status === 404 || err.status === 400) return null;
    throw err;
  })]);
  if (!ev) {
    return { title: t('eventTitle'), el: h('div', null, crumbs, h('h1', { tabindex: '-1' }, t('eventTitle')), h('p', null, t('notFound'))) };
  }
  lastSearch.openedId = ev.id;
  const ctx = { cat };
  const facts = h('dl', { class: 'facts' }, detailFacts.map((f) => {
    const v = f.render(ev, ctx);
    return v == null ? null : [h('dt', null, t(f.label)), h('dd', null, v)];
  }));
  const codes = [...cat.constraints.map((c) => c.code), ...Object.keys(ev.accessibility).filter((c) => !cat.byCode.has(c))];
  const tally = { yes: 0, no: 0, not_applicable: 0, unknown: 0 };
  for (const c of codes) {
    const v = valueOf(c, ev);
    if (v in tally) tally[v]++;
  }
  const sheet = h('table', { class: 'sheet' },
    h('caption', null, t('sheetCaption')),
    h('thead', null, h('tr', null, sheetColumns.map((col) => h('th', { scope: 'col' }, t(col.head))))),
    h('tbody', null, codes.map((code) => h('tr', { 'data-code': code }, sheetColumns.map((col) => h(col.rowHeader ? 'th' : 'td', col.rowHeader ? { scope: 'row' } : null, col.cell(code, ev, ctx)))))));
  const photos = ev.photos.length ? [
    h('h2', null, t('photos')),
    h('ul', { class: 'photos' }, ev.photos.map((p, i) => h('li', null, h('img', {
      src: p.url, width: p.width, height: p.height, loading: 'lazy',
      alt: p.alt || t('photoAlt', { n: i + 1, total: ev.photos.length, title: ev.title }),
    })))),
  ] : null;
  return {
    title: ev.title,
    el: h('article', { class: 'event' },
      crumbs,
      h('h1', { tabindex: '-1' }, ev.title),
      facts,
      h('h2', null, t('accessibility')),
      h('p', null, t('sheetSummary', tally)),
      h('p', { class: 'hint' }, t('sheetFromHint')),
      sheet,
      ev.description ? [h('h2', null, t('description')), h('p', { class: 'description' }, ev.description)] : null,
      photos,
      h('p', { class: 'updated' }, t('updated', { date: formatDate(ev.updated_at) }))),
  };
}
