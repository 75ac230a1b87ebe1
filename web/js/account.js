// Logging in and signing up. Each field has a visible label, its hint and its error tied to it
// (aria-describedby); on a refused submit a summary lists the problems, takes focus, and links
// to each field.
import { h, uid, focus } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { catalog, session, setSession, localNeeds, setLocalNeeds, announce, notify, showProblem, describe } from './state.js';
import { needsChooser } from './needs.js';

function field(name, label, attrs, hint) {
  const id = uid(name);
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  const err = h('p', { class: 'error', id: `${id}-err` });
  const input = h('input', { id, name, required: true, 'aria-describedby': [hint ? `${id}-hint` : '', `${id}-err`].join(' ').trim(), ...attrs });
  return {
    name, label, input,
    el: h('div', { class: 'field' }, h('label', { for: id }, label), hintEl, input, err),
    set(msg) {
      err.textContent = msg || '';
      if (msg) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
    },
  };
}

/**
 * A form of fields whose submit checks them, then calls send(values); see loginView. refused:
 * what a 401 means; after: more actions beside the submit button.
 */
function accountForm({ fields, extra, submit, check, send, refused = t('wrongCredentials'), after = null, danger = false }) {
  const summary = h('div', { class: 'error-summary', tabindex: '-1', hidden: true });
  const button = h('button', { type: 'submit', class: danger ? 'danger' : null }, submit);
  const form = h('form', { class: 'account', novalidate: true }, summary, fields.map((f) => f.el), extra, h('p', { class: 'actions' }, button, after ? [' ', after] : null));
  const report = (problems) => {
    for (const f of fields) f.set(problems.find((p) => p.field === f)?.message);
    summary.hidden = problems.length === 0;
    summary.replaceChildren(h('h2', null, t('fixErrors')), h('ul', null, problems.map((p) => h('li', null, p.field
      ? h('a', { href: `#${p.field.input.id}`, onclick: (e) => { e.preventDefault(); focus(p.field.input); } }, p.message)
      : p.message))));
    if (problems.length) focus(summary);
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = Object.fromEntries(fields.map((f) => [f.name, f.input.value]));
    const problems = [];
    for (const f of fields) {
      const msg = !values[f.name].trim() ? t('required', { label: f.label }) : check(f.name, values[f.name]);
      if (msg) problems.push({ field: f, message: msg });
    }
    report(problems);
    if (problems.length) return;
    button.disabled = true;
    try {
      await send(values);
    } catch (err) {
      if (err.kind !== 'http' || err.status >= 500) {
        report([]);
        showProblem(describe(err));
        return;
      }
      const f = fields.find((x) => x.name === err.field);
      if (err.status === 401) report([{ message: refused }]);
      else if (err.status === 409) report([{ field: fields.find((x) => x.name === 'email'), message: t('emailTaken') }]);
      else if (err.status === 429) report([{ message: describe(err) }]);
      else if (f) report([{ field: f, message: t('fieldProblem', { label: f.label, message: err.message }) }]);
      else report([{ message: describe(err) }]);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

const emailOK = (v) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.trim());

function signedIn(res) {
  setSession(res);
  showProblem('');
  announce(t('welcome', { name: res.user.name }));
  location.hash = '#/search';
}

export async function loginView() {
  const fields = [
    field('email', t('email'), { type: 'email', autocomplete: 'email', inputmode: 'email' }),
    field('password', t('password'), { type: 'password', autocomplete: 'current-password' }),
  ];
  const form = accountForm({
    fields, submit: t('loginSubmit'),
    check: (name, v) => (name === 'email' && !emailOK(v) ? t('badEmail') : ''),
    send: async (v) => signedIn(await api.login({ email: v.email.trim(), password: v.password })),
  });
  return {
    title: t('loginTitle'),
    el: h('div', { class: 'narrow' }, h('h1', { tabindex: '-1' }, t('loginTitle')), form,
      h('p', null, t('noAccount'), ' ', h('a', { href: '#/register' }, t('navRegister')))),
  };
}

export async function registerView() {
  const cat = await catalog();
  const fields = [
    field('name', t('name'), { type: 'text', autocomplete: 'name' }),
    field('email', t('email'), { type: 'email', autocomplete: 'email', inputmode: 'email' }),
    field('password', t('password'), { type: 'password', autocomplete: 'new-password', minlength: 8, maxlength: 128 }, t('passwordHint')),
  ];
  const chooser = needsChooser(cat, localNeeds());
  const needs = h('fieldset', { class: 'needs' }, h('legend', null, t('registerNeedsLegend')), h('p', { class: 'hint' }, t('registerNeedsHint')), chooser.el);
  const form = accountForm({
    fields, extra: needs, submit: t('registerSubmit'),
    check: (name, v) => {
      if (name === 'email' && !emailOK(v)) return t('badEmail');
      if (name === 'password' && (v.length < 8 || v.length > 128)) return t('badPassword');
      return '';
    },
    send: async (v) => signedIn(await api.register({ name: v.name.trim(), email: v.email.trim(), password: v.password, needs: chooser.values() })),
  });
  return {
    title: t('registerTitle'),
    el: h('div', { class: 'narrow' }, h('h1', { tabindex: '-1' }, t('registerTitle')), form,
      h('p', null, t('haveAccount'), ' ', h('a', { href: '#/login' }, t('navLogin')))),
  };
}

/** Erasing the account: a confirmation with the password, as the API asks for it. */
export async function eraseView() {
  const s = session();
  const h1 = h('h1', { tabindex: '-1' }, t('eraseTitle'));
  if (!s) return { title: t('eraseTitle'), el: h('div', { class: 'narrow' }, h1, h('p', null, h('a', { href: '#/login' }, t('navLogin')))) };
  const fields = [field('password', t('password'), { type: 'password', autocomplete: 'current-password' })];
  const form = accountForm({
    fields, submit: t('eraseSubmit'), refused: t('wrongPassword'), danger: true, check: () => '',
    after: h('a', { class: 'button secondary', href: '#/needs' }, t('eraseCancel')),
    send: async (v) => {
      await api.erase(v.password, s.token);
      setLocalNeeds([]); // nothing of the person stays in this browser either
      setSession(null);
      notify(t('erased'));
      location.hash = '#/';
    },
  });
  return {
    title: t('eraseTitle'),
    el: h('div', { class: 'narrow' }, h1, h('p', { class: 'warning' }, t('eraseIntro', { email: s.user.email })), form),
  };
}
