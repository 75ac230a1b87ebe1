// The documented API (shared/apidoc/openapi.yaml) at the gateway URL of config.js. Every
// call either returns the decoded answer or throws an ApiError that says what went wrong in
// terms the page can explain.
import config from '../config.js';

/** The API's base URL. */
export const apiBase = String(config.api || '').replace(/\/+$/, '') || location.origin;

/**
 * ApiError.kind: "blocked" (the server answers, but the browser refused to let the page read
 * it: this page's origin is not in its CORS_ALLOWED_ORIGINS), "offline" (no answer at all)
 * or "http" (an answer with the error envelope: status, code, message, field).
 */
export class ApiError extends Error {
  constructor(kind, { status = 0, code = '', message = '', field = '', retryAfter = 0 } = {}) {
    super(message || kind);
    Object.assign(this, { kind, status, code, field, retryAfter });
  }
}

async function call(path, { method = 'GET', body, token, signal } = {}) {
  const url = apiBase + path;
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal, mode: 'cors', credentials: 'omit' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    // A refused cross-origin answer and no answer look the same to fetch. A no-cors request
    // tells them apart: it succeeds (with an unreadable answer) whenever the server answers.
    throw new ApiError((await answers(url)) ? 'blocked' : 'offline');
  }
  let data = null;
  try { data = await res.json(); } catch { /* an answer without a JSON body */ }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError('http', { status: res.status, code: e.code, message: e.message, field: e.field, retryAfter: Number(res.headers.get('Retry-After')) || 0 });
  }
  return data;
}

async function answers(url) {
  try {
    await fetch(url, { mode: 'no-cors', cache: 'no-store', credentials: 'omit' });
    return true;
  } catch {
    return false;
  }
}

/** The calls the page makes, one per documented operation it uses. */
export const api = {
  catalog: () => call('/function/search-events/constraints'),
  search: (query, { token, signal } = {}) => call(`/function/search-events?${query}`, { token, signal }),
  event: (id) => call(`/function/get-event/${encodeURIComponent(id)}`),
  register: (body) => call('/function/register', { method: 'POST', body }),
  login: (body) => call('/function/login', { method: 'POST', body }),
  saveNeeds: (needs, token) => call('/function/account/needs', { method: 'PUT', body: { needs }, token }),
  erase: (password, token) => call('/function/account', { method: 'DELETE', body: { password }, token }),
};
