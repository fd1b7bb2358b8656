// Reusable pieces: error boxes, pager, paged tables, tabs, execution tables.
import { h, clear, badge, timeEl, fmtDuration, liveDuration, shortId } from './dom.js';
import { asList } from './api.js';

export function errorBox(err, { retry } = {}) {
  const status = err?.status;
  let title = err?.title || 'Something went wrong';
  if (status === 404) title = 'Not found';
  if (status === 403) title = 'Not allowed';
  const detail = err?.detail || (status === 403 ? 'Your role does not allow this.' : status === 404 ? 'It does not exist or you cannot see it.' : err?.message || '');
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('strong', null, title), detail ? h('div', null, detail) : null,
    (err?.errors || []).length ? h('ul', null, err.errors.map((e) => h('li', null, `${e.field ? `${e.field}: ` : ''}${e.message}`))) : null,
    retry ? h('button', { class: 'btn btn-sm', type: 'button', onclick: retry }, 'Retry') : null);
}

export const loading = (text = 'Loading…') => h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
export const empty = (text) => h('div', { class: 'empty' }, text);

export function pageHeader(title, { crumbs = [], actions = [], sub = null } = {}) {
  return h('div', { class: 'page-head' },
    crumbs.length ? h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      crumbs.map(([label, href], i) => [i ? h('span', { class: 'sep', 'aria-hidden': 'true' }, '/') : null, href ? h('a', { href }, label) : h('span', null, label)])) : null,
    h('div', { class: 'page-title-row' },
      h('h1', null, title),
      actions.length ? h('div', { class: 'page-actions' }, actions) : null),
    sub);
}

export function section(title, body, { actions = [], id } = {}) {
  return h('section', { class: 'card', id },
    h('div', { class: 'card-head' }, h('h2', null, title), actions.length ? h('div', { class: 'card-actions' }, actions) : null),
    body);
}

/** Pager for {total, limit, offset}. onChange(offset, limit). */
export function pager({ total, limit, offset }, onChange, sizes = [20, 50, 100, 200]) {
  const from = total ? offset + 1 : 0;
  const to = Math.min(offset + limit, total);
  const size = h('select', { 'aria-label': 'Rows per page', onchange: () => onChange(0, Number(size.value)) },
    [...new Set([...sizes, limit])].sort((a, b) => a - b).map((n) => h('option', { value: n }, `${n} / page`)));
  size.value = String(limit);
  return h('nav', { class: 'pager', 'aria-label': 'Pagination' },
    h('button', { class: 'btn btn-sm', type: 'button', disabled: offset <= 0, onclick: () => onChange(0, limit), 'aria-label': 'First page' }, '«'),
    h('button', { class: 'btn btn-sm', type: 'button', disabled: offset <= 0, onclick: () => onChange(Math.max(0, offset - limit), limit) }, '‹ Prev'),
    h('span', { class: 'pager-info' }, `${from.toLocaleString()}–${to.toLocaleString()} of ${Number(total).toLocaleString()}`),
    h('button', { class: 'btn btn-sm', type: 'button', disabled: offset + limit >= total, onclick: () => onChange(offset + limit, limit) }, 'Next ›'),
    h('button', { class: 'btn btn-sm', type: 'button', disabled: offset + limit >= total, onclick: () => onChange(Math.max(0, Math.floor((total - 1) / limit) * limit), limit), 'aria-label': 'Last page' }, '»'),
    size);
}

export function table(columns, items, { rowClass } = {}) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.title)))),
    h('tbody', null, items.map((it) => h('tr', { class: rowClass ? rowClass(it) : null },
      columns.map((c) => h('td', { class: c.class, 'data-label': c.title }, c.render(it))))))));
}

/**
 * A table backed by a paged endpoint. load({limit, offset}) -> envelope.
 * Returns {el, reload(), setOffset(n)}.
 */
export function pagedTable({ load, columns, emptyText = 'Nothing here yet.', limit = 20, signal, onPage, offset = 0, rowClass }) {
  const el = h('div', { class: 'paged' });
  let state = { limit, offset };
  let seq = 0;
  async function reload() {
    const my = ++seq;
    if (!el.firstChild) el.append(loading());
    el.setAttribute('aria-busy', 'true');
    try {
      const page = asList(await load({ limit: state.limit, offset: state.offset }));
      if (my !== seq) return;
      if (!page.items.length && state.offset > 0 && page.total > 0) { state.offset = Math.max(0, page.total - state.limit); reload(); return; }
      clear(el, 
        page.items.length ? table(columns, page.items, { rowClass }) : empty(emptyText),
        page.total > Math.min(page.limit || state.limit, 20) || state.offset > 0
          ? pager({ total: page.total, limit: state.limit, offset: state.offset }, (o, l) => { state = { offset: o, limit: l }; if (onPage) onPage(state); reload(); })
          : null);
    } catch (e) {
      if (e.name === 'AbortError' || my !== seq) return;
      clear(el, errorBox(e, { retry: reload }));
    } finally {
      if (my === seq) el.removeAttribute('aria-busy');
    }
  }
  if (signal) signal.addEventListener('abort', () => { seq++; });
  reload();
  return { el, reload, get state() { return state; } };
}

/** Accessible tabs. tabs: [{id, label, render(panel)}]. */
export function tabs(list, activeId, onSwitch) {
  const bar = h('div', { class: 'tabs', role: 'tablist' });
  const panelId = `tabpanel-${list.map((t) => t.id).join('-')}`;
  const panel = h('div', { class: 'tab-panel', role: 'tabpanel', tabindex: '-1', id: panelId });
  const buttons = list.map((t) => h('button', {
    type: 'button', role: 'tab', id: `tab-${t.id}`, class: 'tab', 'aria-controls': panelId,
    onclick: () => activate(t.id, true),
    onkeydown: (e) => {
      const i = list.findIndex((x) => x.id === t.id);
      let j = null;
      if (e.key === 'ArrowRight') j = (i + 1) % list.length;
      if (e.key === 'ArrowLeft') j = (i - 1 + list.length) % list.length;
      if (e.key === 'Home') j = 0;
      if (e.key === 'End') j = list.length - 1;
      if (j !== null) { e.preventDefault(); activate(list[j].id, true); buttons[j].focus(); }
    },
  }, t.label));
  bar.append(...buttons);
  function activate(id, user) {
    const t = list.find((x) => x.id === id) || list[0];
    buttons.forEach((b, i) => {
      const on = list[i].id === t.id;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    });
    panel.setAttribute('aria-labelledby', `tab-${t.id}`);
    clear(panel);
    t.render(panel);
    if (user && onSwitch) onSwitch(t.id);
  }
  activate(activeId, false);
  return h('div', { class: 'tabset' }, bar, panel);
}

/** Columns for an executions list; pipelineNames: optional Map id -> name. */
export function executionColumns(pipelineNames) {
  const cols = [
    { title: 'Run', render: (e) => h('a', { href: `#/executions/${e.id}`, class: 'mono' }, `#${e.number ?? shortId(e.id)}`) },
    { title: 'Status', render: (e) => badge(e.status) },
  ];
  if (pipelineNames !== false) {
    cols.push({ title: 'Pipeline', render: (e) => h('a', { href: `#/pipelines/${e.pipeline_id}` }, e.pipeline_name || pipelineNames?.get?.(e.pipeline_id) || shortId(e.pipeline_id)) });
  }
  cols.push(
    { title: 'Trigger', render: (e) => e.trigger || '—' },
    { title: 'Priority', render: (e) => e.priority || '—' },
    { title: 'Created', render: (e) => timeEl(e.created_at) },
    { title: 'Duration', class: 'num', render: (e) => fmtDuration(liveDuration(e)) },
  );
  return cols;
}

/** Label/value list. */
export function dl(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]));
}
