// Needs as the catalog groups them: one fieldset per МГН group (legend: the group's profile),
// a checkbox per constraint. A constraint that serves several groups appears in each of them,
// and its boxes stay ticked together. Also the needs view.
import { h, uid } from './dom.js';
import { t, titleOf, list } from './i18n.js';
import { catalog, session, localNeeds, setLocalNeeds, announce } from './state.js';
import { needName } from './fields.js';

/**
 * needsChooser(cat, selected) → {el, values(), set(codes), onchange(fn)}: the fieldsets, ticked
 * for the codes in selected.
 */
export function needsChooser(cat, selected = []) {
  const chosen = new Set(selected);
  const boxes = [];
  const listeners = [];
  const groups = cat.profiles.map((p) => {
    const codes = cat.constraints.filter((c) => c.groups.includes(p.mgn));
    return h('fieldset', { class: 'group' },
      h('legend', null, t('groupLegend', { title: titleOf(p), mgn: p.mgn })),
      h('ul', { class: 'checks' }, codes.map((c) => {
        const id = uid(`need-${c.code}`);
        const box = h('input', { type: 'checkbox', id, name: 'need', value: c.code, checked: chosen.has(c.code) });
        boxes.push(box);
        box.addEventListener('change', () => {
          if (box.checked) chosen.add(c.code); else chosen.delete(c.code);
          for (const b of boxes) if (b.value === c.code) b.checked = box.checked;
          listeners.forEach((fn) => fn());
        });
        return h('li', null, box, ' ', h('label', { for: id }, titleOf(c)));
      })));
  });
  return {
    el: h('div', { class: 'groups' }, groups),
    values: () => cat.constraints.map((c) => c.code).filter((code) => chosen.has(code)),
    set: (codes) => {
      chosen.clear();
      codes.forEach((c) => chosen.add(c));
      for (const b of boxes) b.checked = chosen.has(b.value);
      listeners.forEach((fn) => fn());
    },
    onchange: (fn) => listeners.push(fn),
  };
}

/** The needs view: the account's saved needs, or a visitor's needs kept in this browser. */
export async function needsView() {
  const cat = await catalog();
  const s = session();
  const h1 = h('h1', { tabindex: '-1' }, t('needsTitle'));
  if (s) {
    const needs = s.user.needs || [];
    return {
      title: t('needsTitle'),
      el: h('div', null, h1, h('p', null, t('needsIntroUser')),
        needs.length ? h('ul', { class: 'saved' }, needs.map((c) => h('li', null, needName(cat, c)))) : h('p', null, t('needsNone')),
        h('p', null, h('a', { class: 'button', href: '#/search' }, t('needsSearch')))),
    };
  }
  // Saving to the account is one call away once the API has it: then this form, shown to
  // logged-in visitors too, sends chooser.values() instead of keeping them here.
  const chooser = needsChooser(cat, localNeeds());
  // Both links take the ticked needs along (kept first, as "Remember" keeps them).
  const searchOf = (codes) => (codes.length ? `#/search?constraints=${codes.join(',')}` : '#/search');
  const keep = () => {
    const codes = chooser.values();
    setLocalNeeds(codes);
    find.href = searchOf(codes);
    return codes;
  };
  const find = h('a', { class: 'button secondary', href: searchOf(chooser.values()), onclick: keep }, t('needsSearch'));
  const form = h('form', { class: 'needs', novalidate: true },
    chooser.el,
    h('p', { class: 'actions' },
      h('button', { type: 'submit' }, t('needsSave')), ' ', find, ' ',
      h('a', { class: 'button secondary', href: '#/register', onclick: keep }, t('needsRegister'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const codes = keep();
    announce(t('needsSaved', { list: codes.length ? list(codes.map((c) => needName(cat, c))) : t('needsNone') }));
  });
  return { title: t('needsTitle'), el: h('div', null, h1, h('p', null, t('needsIntroGuest')), form) };
}
