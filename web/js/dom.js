// Building the page's elements. Text always goes in as text nodes, never as HTML, so nothing
// the API returns can inject markup.

/**
 * h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child, [more]) builds an element.
 * Attributes that are null, undefined or false are left out, true sets an empty one; on*
 * keys add listeners. Children: strings and numbers become text, arrays are flattened,
 * null and false are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Whether the visitor asked for less motion. */
export const reducedMotion = () => matchMedia('(prefers-reduced-motion: reduce)').matches;

/** Moves focus to el, scrolling it into view as the visitor's motion setting allows. */
export function focus(el) {
  if (!el) return;
  el.focus({ preventScroll: true });
  el.scrollIntoView({ block: 'nearest', behavior: reducedMotion() ? 'auto' : 'smooth' });
}

let seq = 0;
/** A fresh id for label/aria wiring. */
export const uid = (prefix) => `${prefix}-${++seq}`;
