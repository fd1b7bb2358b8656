// Tiny DOM helpers. Everything goes through textContent / setAttribute: never innerHTML.

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'multiple', 'indeterminate', 'hidden', 'open']);

/** h('a', {href, class, onclick}, ...children) -> Element. Strings become text nodes. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === 'innerHTML' || k === 'outerHTML') throw new Error('innerHTML is not allowed');
      else if (k === 'value' && (tag === 'input' || tag === 'textarea')) { el.defaultValue = String(v); el.value = String(v); }
      else if (k === 'checked') { el.defaultChecked = Boolean(v); el.checked = Boolean(v); }
      else if (PROPS.has(k)) el[k] = v;
      else if (k === 'href' || k === 'src') el.setAttribute(k, safeHref(v));
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false || c === true) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
  return el;
}

/** Empty el, then append children (null/false skipped, like h()). */
export function clear(el, ...children) { el.replaceChildren(); return append(el, children); }

/** Only same-document, relative, http(s) and mailto links survive; anything else becomes '#'. */
export function safeHref(u) {
  const s = String(u ?? '').trim();
  if (s.startsWith('#') || s.startsWith('/') || /^(https?:|mailto:)/i.test(s)) return s;
  return '#';
}

export function isHttpUrl(u) { return /^https?:\/\//i.test(String(u ?? '')); }

// ---------- formatting ----------

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  ms = Math.max(0, Number(ms));
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return hh ? `${hh}h ${mm}m ${ss}s` : `${mm}m ${ss}s`;
}

/** Duration of something with started/finished timestamps; live if not finished. */
export function liveDuration(obj) {
  if (!obj) return null;
  if (obj.duration_ms !== null && obj.duration_ms !== undefined && obj.finished_at) return obj.duration_ms;
  if (!obj.started_at) return obj.duration_ms ?? null;
  const start = Date.parse(obj.started_at);
  const end = obj.finished_at ? Date.parse(obj.finished_at) : Date.now();
  return Number.isNaN(start) ? null : end - start;
}

export function fmtDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function relTime(iso) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const s = Math.round((Date.now() - t) / 1000);
  const a = Math.abs(s);
  const f = (n, u) => `${n} ${u}${n === 1 ? '' : 's'}`;
  let out;
  if (a < 45) out = 'just now';
  else if (a < 3600) out = f(Math.round(a / 60), 'min');
  else if (a < 86400) out = f(Math.round(a / 3600), 'hour');
  else out = f(Math.round(a / 86400), 'day');
  return out === 'just now' ? out : s >= 0 ? `${out} ago` : `in ${out}`;
}

/** <time> element showing relative time with the full timestamp as tooltip. */
export function timeEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: fmtDateTime(iso) }, relTime(iso));
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0; n = Number(n);
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function fmtNum(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  const x = Number(n);
  return Number.isInteger(x) ? x.toLocaleString() : x.toFixed(digits);
}

export function shortId(id) { return id ? String(id).slice(0, 8) : '—'; }

export const FINAL = new Set(['success', 'failed', 'cancelled', 'timed_out', 'skipped']);
export const isFinal = (s) => FINAL.has(s);

export function badge(status) {
  const s = String(status ?? 'unknown');
  return h('span', { class: `badge st-${s.replace(/[^a-z_]/gi, '')}` }, s.replace(/_/g, ' '));
}

export function debounce(fn, ms) {
  let t = 0;
  const d = (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
  d.cancel = () => clearTimeout(t);
  return d;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let uid = 0;
export const nextId = (p = 'id') => `${p}-${++uid}`;
