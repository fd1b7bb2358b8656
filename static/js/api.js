// fetch wrapper: cookie session, CSRF header on writes, RFC 9457 problem details as ApiError.

const BASE = '/api/v1';
const CSRF_KEY = 'ansflow.csrf_token';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const csrf = {
  get() {
    const t = sessionStorage.getItem(CSRF_KEY);
    if (t) return t;
    // Fallback: a JS-readable double-submit cookie, if the server uses one.
    const m = document.cookie.match(/(?:^|;\s*)(?:csrf_token|csrftoken|XSRF-TOKEN)=([^;]+)/i);
    return m ? decodeURIComponent(m[1]) : null;
  },
  set(t) { if (t) sessionStorage.setItem(CSRF_KEY, t); else sessionStorage.removeItem(CSRF_KEY); },
  has() { return Boolean(this.get()); },
};

export class ApiError extends Error {
  constructor(status, problem) {
    const p = problem && typeof problem === 'object' ? problem : {};
    super(p.detail || p.title || (status ? `HTTP ${status}` : 'Network error'));
    this.status = status;
    this.problem = p;
    this.title = p.title || (status ? `Request failed (${status})` : 'Network error');
    this.detail = p.detail || '';
    this.errors = Array.isArray(p.errors) ? p.errors : [];
  }
}

let unauthorizedHandler = () => {};
export function onUnauthorized(fn) { unauthorizedHandler = fn; }
export function notifyUnauthorized() { unauthorizedHandler(); }

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** Encode one path segment (step names like "unit[PY=3.11]"). */
export const seg = (s) => encodeURIComponent(String(s));

export async function request(method, path, { body, query, signal, quiet401 = false } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (UNSAFE.has(method)) {
    const t = csrf.get();
    if (t) headers['X-CSRF-Token'] = t;
  }
  let res;
  try {
    res = await fetch(BASE + path + qs(query), init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Network error', detail: 'The server could not be reached. Check your connection and try again.' });
  }
  const fresh = res.headers.get('X-CSRF-Token');
  if (fresh) csrf.set(fresh);
  if (res.status === 204 || res.status === 205) return null;
  const ct = res.headers.get('Content-Type') || '';
  let data = null;
  if (ct.includes('json')) {
    try { data = await res.json(); } catch { data = null; }
  } else {
    const text = await res.text();
    data = res.ok ? text : { title: res.statusText || `HTTP ${res.status}`, detail: text.slice(0, 500) };
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && !quiet401) unauthorizedHandler();
    if (res.status === 403 && UNSAFE.has(method) && !csrf.has()) {
      err.detail = `${err.detail ? `${err.detail} ` : ''}(This tab has no CSRF token: sign in again to make changes.)`;
    }
    throw err;
  }
  return data;
}

export const api = {
  get: (p, query, opts) => request('GET', p, { ...opts, query }),
  post: (p, body, opts) => request('POST', p, { ...opts, body }),
  put: (p, body, opts) => request('PUT', p, { ...opts, body }),
  patch: (p, body, opts) => request('PATCH', p, { ...opts, body }),
  del: (p, opts) => request('DELETE', p, opts),
};

/** Normalise list answers: the contract's envelope, or a bare array from a lenient endpoint. */
export function asList(data) {
  if (Array.isArray(data)) return { items: data, total: data.length, limit: data.length, offset: 0 };
  const items = Array.isArray(data?.items) ? data.items : [];
  return { items, total: data?.total ?? items.length, limit: data?.limit ?? items.length, offset: data?.offset ?? 0 };
}

/** Fetch every page of a list (for small lists such as members or a project's pipelines). */
export async function fetchAll(path, query = {}, opts = {}, max = 2000) {
  const out = [];
  let offset = 0;
  for (;;) {
    const page = asList(await api.get(path, { ...query, limit: 200, offset }, opts));
    out.push(...page.items);
    offset += page.items.length;
    if (!page.items.length || offset >= page.total || offset >= max) break;
  }
  return out;
}
