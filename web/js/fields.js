// How each field of the API's answers is shown. Three tables: the lines of a search result
// (Summary), the facts of an event (EventDetail), and the columns of an event's accessibility
// table. A field the API adds later is one more entry in one of them, plus its words in
// i18n.js; a renderer returns null when an answer lacks its field, so older answers still show.
import { h } from './dom.js';
import { t, titleOf, placeName, list, formatWhen, formatTime, sameDay, formatPrice, formatDate } from './i18n.js';

/** The name of a constraint code in the current language (the code itself if unknown). */
export const needName = (cat, code) => (cat.byCode.get(code) ? titleOf(cat.byCode.get(code)) : code);
const place = (places, slug) => placeName(places.find((p) => p.slug === slug) || { slug, name: slug });

function when(ev, short) {
  const start = h('time', { datetime: ev.starts_at }, formatWhen(ev.starts_at, ev.timezone, { short }));
  if (!ev.ends_at) return [start];
  const end = sameDay(ev.starts_at, ev.ends_at, ev.timezone) ? formatTime(ev.ends_at, ev.timezone) : formatWhen(ev.ends_at, ev.timezone, { short });
  return [start, ' – ', h('time', { datetime: ev.ends_at }, end)];
}

/** A value of the accessibility sheet as words (with a mark that adds nothing to them). */
export function answer(value) {
  const marks = { yes: '✓', no: '✗', unknown: '?', not_applicable: '–' };
  const words = t('answers')[value] || value;
  return h('span', { class: `answer answer-${marks[value] ? value : 'other'}` },
    h('span', { class: 'mark', 'aria-hidden': 'true' }, marks[value] || '·'), ' ', words);
}

/** Wheelchair spaces and companion seats left, when the answer carries them (else null). */
function seatsLeft(ev) {
  const a = ev.availability;
  if (!a || (a.wheelchair_spaces == null && a.companion_seats == null)) return null;
  return t('seatsLeft', { wheelchair: a.wheelchair_spaces, companion: a.companion_seats, asOf: formatWhen(a.as_of, ev.timezone, { short: true }) });
}

/** Where an answer of the sheet comes from: the event or its venue, who said it and when it was verified. */
function provenance(d) {
  if (!d || d.from === 'none' || !t('from')[d.from]) return t('from').none;
  return [t('from')[d.from], d.source ? `; ${t('source', { source: t('sources')[d.source] || d.source.replaceAll('_', ' ') })}` : null,
    d.verified_at ? ['; ', t('verified', { date: '' }), h('time', { datetime: d.verified_at }, formatDate(d.verified_at))] : null];
}

/**
 * Lines of a search result, in order. ctx: {cat, applied: codes the search required}.
 */
export const summaryFields = [
  { field: 'starts_at', render: (ev) => h('p', { class: 'when' }, when(ev, true)) },
  {
    field: 'venue',
    render: (ev, { cat }) => h('p', { class: 'where' }, ev.venue.name, ', ', place(cat.cities, ev.city)),
  },
  { field: 'category', render: (ev, { cat }) => h('p', { class: 'kind' }, place(cat.categories, ev.category)) },
  {
    field: 'accessibility',
    render: (ev, { cat, applied }) => {
      if (!ev.accessibility.length) return h('p', { class: 'facts' }, t('noFacts'));
      const first = ev.accessibility.filter((c) => applied.includes(c));
      const rest = ev.accessibility.filter((c) => !applied.includes(c));
      return h('p', { class: 'facts' }, t('accessible', { list: list([...first, ...rest].map((c) => needName(cat, c))) }));
    },
  },
  {
    // A lenient search's match: the codes whose answer is not known for this event.
    field: 'unknown',
    render: (ev, { cat }) => (ev.unknown && ev.unknown.length
      ? h('p', { class: 'unknown' }, h('strong', null, t('lenientMatch')), ' ', t('unconfirmed', { list: list(ev.unknown.map((c) => needName(cat, c))) }))
      : null),
  },
  { field: 'availability', render: (ev) => { const seats = seatsLeft(ev); return seats ? h('p', { class: 'seats' }, seats) : null; } },
];

/** Facts of an event, as term and description. */
export const detailFacts = [
  { label: 'when', render: (ev) => when(ev, false) },
  {
    label: 'where',
    render: (ev, { cat }) => [ev.venue.name, ev.venue.address ? [h('br'), ev.venue.address] : null, h('br'), place(cat.cities, ev.city)],
  },
  { label: 'what', render: (ev, { cat }) => place(cat.categories, ev.category) },
  { label: 'age', render: (ev) => ev.age_rating || null },
  { label: 'price', render: (ev) => formatPrice(ev.price) },
  { label: 'seats', render: seatsLeft },
];

/** Columns of the accessibility table; one row per code of the catalog. */
export const sheetColumns = [
  {
    head: 'sheetNeed',
    rowHeader: true,
    cell: (code, ev, { cat }) => {
      const c = cat.byCode.get(code);
      return [needName(cat, code), c && c.groups.length ? h('span', { class: 'groups' }, t('groups', { list: c.groups.join(', ') })) : null];
    },
  },
  { head: 'sheetAnswer', cell: (code, ev) => answer(valueOf(code, ev)) },
  { head: 'sheetSource', cell: (code, ev) => provenance(ev.accessibility_details && ev.accessibility_details[code]) },
];

/** An event's answer for code: its details' value, else its accessibility's, else unknown. */
export const valueOf = (code, ev) => (ev.accessibility_details && ev.accessibility_details[code] || {}).value || ev.accessibility[code] || 'unknown';
