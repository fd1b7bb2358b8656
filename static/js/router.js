// Hash router: "#/path/segments?query". Each view is render(root, ctx) and may register cleanups.

const routes = [];
let current = null; // {abort, cleanups}
let notFound = null;
let beforeEach = null;

/** Register a route pattern like "/projects/:id" with an async loader returning a view function. */
export function route(pattern, loader, opts = {}) {
  const keys = [];
  const re = new RegExp(`^${pattern.replace(/:[a-z_]+/gi, (m) => { keys.push(m.slice(1)); return '([^/]+)'; })}/?$`);
  routes.push({ pattern, re, keys, loader, opts });
}

export function setNotFound(fn) { notFound = fn; }
export function setGuard(fn) { beforeEach = fn; }

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const i = raw.indexOf('?');
  const path = i >= 0 ? raw.slice(0, i) : raw;
  const query = Object.fromEntries(new URLSearchParams(i >= 0 ? raw.slice(i + 1) : ''));
  return { path: path || '/', query, raw };
}

export function navigate(to, { replace = false } = {}) {
  const target = to.startsWith('#') ? to : `#${to}`;
  if (replace) {
    history.replaceState(null, '', target);
    dispatch();
  } else if (location.hash === target) {
    dispatch();
  } else {
    location.hash = target;
  }
}

/** Update the hash query without re-rendering the view (for shareable filters/paging). */
export function setQuery(query) {
  const { path } = parseHash();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  history.replaceState(null, '', `#${path}${s ? `?${s}` : ''}`);
}

export const currentPath = () => parseHash().raw;

function teardown() {
  if (!current) return;
  current.abort.abort();
  for (const fn of current.cleanups.splice(0)) {
    try { fn(); } catch (e) { console.error(e); }
  }
  current = null;
}

export async function dispatch() {
  const { path, query, raw } = parseHash();
  if (!raw.startsWith('/')) return; // in-page anchors are not routes
  teardown();
  const main = document.getElementById('main');
  const root = document.createElement('div');
  root.className = 'view';
  main.replaceChildren(root);

  const abort = new AbortController();
  const cleanups = [];
  const me = { abort, cleanups };
  current = me;
  const ctx = {
    query, path,
    signal: abort.signal,
    alive: () => current === me,
    onCleanup(fn) { if (current === me) cleanups.push(fn); else fn(); },
  };

  let match = null;
  for (const r of routes) {
    const m = r.re.exec(path);
    if (m) { match = { r, params: Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])])) }; break; }
  }
  if (beforeEach) {
    const redirect = beforeEach(match ? match.r : null, path, raw);
    if (redirect) { navigate(redirect, { replace: true }); return; }
  }
  document.dispatchEvent(new CustomEvent('routechange', { detail: { path } }));
  if (!match) { if (notFound) notFound(root, ctx); return; }
  ctx.params = match.params;
  try {
    const mod = await match.r.loader();
    if (!ctx.alive()) return;
    await mod.default(root, ctx);
  } catch (e) {
    if (e && e.name === 'AbortError') return;
    console.error(e);
    if (ctx.alive()) {
      const { errorBox } = await import('./components.js');
      root.replaceChildren(errorBox(e));
    }
  }
}

export function startRouter() {
  window.addEventListener('hashchange', dispatch);
  dispatch();
}
