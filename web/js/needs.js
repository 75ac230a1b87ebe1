// Needs as the catalog groups them: one fieldset per МГН group (legend: the group's profile),
// a checkbox per constraint. A constraint that serves several groups appears in each of them,
// and its boxes stay ticked together. Also the needs view.
import { h, uid } from './dom.js';
import { t, titleOf, list } from './i18n.js';
import { catalog, session, setSession, localNeeds, setLocalNeeds, announce, showProblem, describe } from './state.js';
import { api } from './api.js';
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

/**
 * The needs view: a logged-in person's needs saved with the account (PUT /account/needs, and
 * the way to erase the account), or a visitor's kept in this browser.
 */
export async function needsView() {
  const cat = await catalog();
  const s = session();
  const h1 = h('h1', { tabindex: '-1' }, t('needsTitle'));
  const chooser = needsChooser(cat, s ? s.user.needs : localNeeds());
  const said = h('p', { class: 'notice', hidden: true });
  const named = (codes) => (codes.length ? list(codes.map((c) => needName(cat, c))) : t('needsNone'));
  // Both links take the ticked needs along (kept first, as "Remember" keeps them); an
  // account's search with nothing chosen applies its saved needs.
  const searchOf = (codes) => (codes.length && !s ? `#/search?constraints=${codes.join(',')}` : '#/search');
  const keep = () => {
    const codes = chooser.values();
    if (!s) setLocalNeeds(codes);
    find.href = searchOf(codes);
    return codes;
  };
  const find = h('a', { class: 'button secondary', href: searchOf(chooser.values()), onclick: s ? null : keep }, t('needsSearch'));
  const button = h('button', { type: 'submit' }, t(s ? 'needsSaveAccount' : 'needsSave'));
  const form = h('form', { class: 'needs', novalidate: true },
    chooser.el,
    h('p', { class: 'actions' }, button, ' ', find,
      s ? null : [' ', h('a', { class: 'button secondary', href: '#/register', onclick: keep }, t('needsRegister'))]),
    said);
  const done = (text) => {
    said.hidden = false;
    said.textContent = text;
    announce(text);
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const codes = keep();
    if (!s) {
      done(t('needsSaved', { list: named(codes) }));
      return;
    }
    button.disabled = true;
    try {
      const user = await api.saveNeeds(codes, s.token);
      setSession({ ...s, user }); // the next search applies them
      showProblem('');
      done(t('needsSavedAccount', { list: named(user.needs) }));
    } catch (err) {
      if (err.status === 401) {
        setSession(null);
        showProblem(t('sessionExpired'));
      } else showProblem(describe(err), () => form.requestSubmit());
    } finally {
      button.disabled = false;
    }
  });
  return {
    title: t('needsTitle'),
    el: h('div', null, h1, h('p', null, t(s ? 'needsIntroUser' : 'needsIntroGuest')), form,
      s ? h('p', { class: 'erase' }, h('a', { href: '#/erase' }, t('eraseLink'))) : null),
  };
}
