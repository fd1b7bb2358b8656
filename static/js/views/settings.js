// System settings form generated from the JSON object's keys and value types; API endpoint stats.
import { h, clear, fmtNum } from '../dom.js';
import { api, asList, fetchAll } from '../api.js';
import { pageHeader, section, loading, errorBox, empty } from '../components.js';
import { field, checkboxField, onSubmit } from '../forms.js';
import { isAdmin } from '../state.js';
import { toast } from '../ui.js';

const humanize = (k) => k.replace(/[._]/g, ' ').replace(/^\w/, (c) => c.toUpperCase());

/** Settings may come as {key: value} or as [{key, value}]; normalise to an object. */
function toObject(data) {
  if (Array.isArray(data) || Array.isArray(data?.items)) {
    const items = Array.isArray(data) ? data : data.items;
    return { obj: Object.fromEntries(items.map((i) => [i.key, i.value])), shape: 'list' };
  }
  return { obj: data && typeof data === 'object' ? data : {}, shape: 'object' };
}

function control(key, value, readOnly) {
  const common = { name: key, disabled: readOnly, 'data-type': value === null ? 'null' : Array.isArray(value) ? 'json' : typeof value };
  if (typeof value === 'boolean') return checkboxField(humanize(key), h('input', { ...common, type: 'checkbox', checked: value }), h('code', null, key));
  if (typeof value === 'number') return field(humanize(key), h('input', { ...common, type: 'number', step: Number.isInteger(value) ? '1' : 'any', value: String(value) }), h('code', null, key));
  if (value !== null && typeof value === 'object') {
    return field(humanize(key), h('textarea', { ...common, class: 'mono', rows: Math.min(12, JSON.stringify(value, null, 2).split('\n').length + 1), value: JSON.stringify(value, null, 2), spellcheck: 'false' }), [h('code', null, key), ' · JSON']);
  }
  const long = typeof value === 'string' && (value.length > 80 || value.includes('\n'));
  return field(humanize(key), long ? h('textarea', { ...common, rows: 3, value: value ?? '' }) : h('input', { ...common, type: 'text', value: value ?? '', placeholder: value === null ? 'not set' : '' }), h('code', null, key));
}

function readForm(form, original) {
  const out = {};
  const errors = [];
  for (const el of form.elements) {
    if (!el.name || !(el.name in original)) continue;
    const t = el.dataset.type;
    if (t === 'boolean') out[el.name] = el.checked;
    else if (t === 'number') {
      if (el.value === '' || Number.isNaN(Number(el.value))) errors.push({ field: el.name, message: 'Enter a number.' });
      else out[el.name] = Number(el.value);
    } else if (t === 'json' || t === 'object') {
      try { out[el.name] = JSON.parse(el.value); } catch (e) { errors.push({ field: el.name, message: `Invalid JSON: ${e.message}` }); }
    } else if (t === 'null') out[el.name] = el.value === '' ? null : el.value;
    else out[el.name] = el.value;
  }
  if (errors.length) throw Object.assign(new Error(''), { title: 'Some values are invalid', errors });
  return out;
}

export default async function settingsView(root, ctx) {
  document.title = 'Settings · AnsFlow';
  const sysBox = h('div', null, loading());
  const epBox = h('div', null, loading());
  root.append(pageHeader('Settings'), section('System settings', sysBox), section('API endpoints', epBox));
  loadSystem(sysBox, ctx);
  loadEndpoints(epBox, ctx);
}

async function loadSystem(box, ctx) {
  let data;
  try { data = await api.get('/settings/system', null, { signal: ctx.signal }); } catch (e) {
    if (e.name !== 'AbortError') clear(box, errorBox(e, { retry: () => loadSystem(box, ctx) }));
    return;
  }
  const { obj, shape } = toObject(data);
  const readOnly = !isAdmin();
  const keys = Object.keys(obj).sort();
  if (!keys.length) { clear(box, empty('No system settings.')); return; }
  const form = h('form', { class: 'form-grid settings-form' },
    readOnly ? h('div', { class: 'alert alert-info' }, 'Only administrators can change system settings.') : null,
    keys.map((k) => control(k, obj[k], readOnly)),
    readOnly ? null : h('div', { class: 'actions' },
      h('button', { type: 'reset', class: 'btn' }, 'Revert'),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save settings')));
  onSubmit(form, async () => {
    const next = { ...obj, ...readForm(form, obj) };
    const body = shape === 'list' ? Object.entries(next).map(([key, value]) => ({ key, value })) : next;
    const saved = await api.put('/settings/system', body);
    toast('Settings saved.', { kind: 'success' });
    Object.assign(obj, toObject(saved || next).obj);
  });
  clear(box, form);
}

async function loadEndpoints(box, ctx) {
  let rows;
  try {
    const first = await api.get('/settings/api-endpoints', { limit: 200 }, { signal: ctx.signal });
    const page = asList(first);
    rows = !Array.isArray(first) && page.total > page.items.length ? await fetchAll('/settings/api-endpoints', {}, { signal: ctx.signal }, 5000) : page.items;
  } catch (e) {
    if (e.name !== 'AbortError') clear(box, errorBox(e, { retry: () => loadEndpoints(box, ctx) }));
    return;
  }
  let sortKey = 'path';
  let dir = 1;
  const filter = h('input', { type: 'search', placeholder: 'Filter by path or method', 'aria-label': 'Filter endpoints', oninput: () => render() });
  const tableBox = h('div', { class: 'table-wrap' });
  const cols = [['method', 'Method'], ['path', 'Path'], ['call_count', 'Calls'], ['avg_response_ms', 'Avg response']];
  function render() {
    const f = filter.value.trim().toLowerCase();
    const list = rows.filter((r) => !f || `${r.method} ${r.path}`.toLowerCase().includes(f))
      .sort((a, b) => {
        const x = a[sortKey], y = b[sortKey];
        return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''))) * dir;
      });
    clear(tableBox, h('table', { class: 'table' },
      h('thead', null, h('tr', null, cols.map(([k, t]) => h('th', { scope: 'col', class: k === 'path' || k === 'method' ? '' : 'num', 'aria-sort': sortKey === k ? (dir > 0 ? 'ascending' : 'descending') : 'none' },
        h('button', { type: 'button', class: 'sort-btn', onclick: () => { dir = sortKey === k ? -dir : (k === 'path' || k === 'method' ? 1 : -1); sortKey = k; render(); } }, t, sortKey === k ? (dir > 0 ? ' ▲' : ' ▼') : ''))))),
      h('tbody', null, list.map((r) => h('tr', null,
        h('td', null, h('span', { class: `method m-${String(r.method).toLowerCase()}` }, r.method)),
        h('td', null, h('code', null, r.path)),
        h('td', { class: 'num' }, fmtNum(r.call_count)),
        h('td', { class: 'num' }, r.avg_response_ms === null || r.avg_response_ms === undefined ? '—' : `${fmtNum(r.avg_response_ms, 2)} ms`))))));
  }
  clear(box, h('div', { class: 'panel-actions' }, filter, h('span', { class: 'muted small' }, `${rows.length} routes`)), tableBox);
  render();
}
