// Audit log: filters (actor, action, resource_type), paging with total.
import { h, timeEl, shortId } from '../dom.js';
import { api } from '../api.js';
import { pageHeader, pagedTable } from '../components.js';
import { field } from '../forms.js';
import { setQuery } from '../router.js';

const LINKS = { project: '#/projects/', pipeline: '#/pipelines/', execution: '#/executions/' };

function resourceCell(a) {
  const id = a.resource_id;
  const base = LINKS[a.resource_type];
  return h('span', null, h('span', { class: 'tag' }, a.resource_type || '—'), ' ',
    id ? (base ? h('a', { href: base + id, class: 'mono small' }, shortId(id)) : h('span', { class: 'mono small', title: id }, shortId(id))) : null);
}

function detailCell(a) {
  const d = a.detail ?? a.details;
  const extra = { ...(d && typeof d === 'object' ? d : d ? { detail: d } : {}) };
  if (a.user_agent) extra.user_agent = a.user_agent;
  if (!Object.keys(extra).length) return '';
  return h('details', { class: 'audit-detail' }, h('summary', null, 'details'), h('pre', { class: 'code small' }, JSON.stringify(extra, null, 2)));
}

export default function auditView(root, ctx) {
  document.title = 'Audit log · AnsFlow';
  const q = ctx.query;
  const actor = h('input', { name: 'actor', value: q.actor || '', placeholder: 'username' });
  const action = h('input', { name: 'action', value: q.action || '', placeholder: 'e.g. execution.cancel', list: 'audit-actions' });
  const rtype = h('input', { name: 'resource_type', value: q.resource_type || '', placeholder: 'e.g. project', list: 'audit-types' });
  const actions = ['auth.login', 'auth.login_failed', 'auth.logout', 'project.create', 'project.update', 'project.delete', 'pipeline.create', 'pipeline.update', 'pipeline.delete', 'execution.create', 'execution.cancel', 'execution.retry', 'step.approve', 'step.reject', 'secret.set', 'secret.delete', 'member.set', 'member.remove', 'user.create', 'user.update', 'user.delete', 'settings.update'];
  const types = ['auth', 'user', 'token', 'project', 'member', 'secret', 'pipeline', 'execution', 'step', 'webhook', 'settings'];
  const filters = () => ({ actor: actor.value.trim(), action: action.value.trim(), resource_type: rtype.value.trim() });
  const sync = (state) => setQuery({ ...filters(), offset: state.offset || '', limit: state.limit !== 50 ? state.limit : '' });

  const list = pagedTable({
    signal: ctx.signal,
    limit: Number(q.limit) || 50,
    offset: Number(q.offset) || 0,
    onPage: sync,
    load: (p) => api.get('/audit-logs', { ...p, ...filters() }, { signal: ctx.signal }),
    emptyText: 'No audit entries match.',
    rowClass: (a) => (a.result && a.result !== 'success' ? 'row-warn' : null),
    columns: [
      { title: 'Time', render: (a) => timeEl(a.created_at || a.timestamp || a.ts) },
      { title: 'Actor', render: (a) => (typeof a.actor === 'object' && a.actor ? a.actor.username : a.actor) || h('span', { class: 'muted' }, 'anonymous') },
      { title: 'Action', render: (a) => h('code', null, a.action) },
      { title: 'Resource', render: resourceCell },
      { title: 'IP', render: (a) => h('span', { class: 'mono small' }, a.ip || a.ip_address || '—') },
      { title: 'Result', render: (a) => h('span', { class: `result result-${a.result || 'success'}` }, a.result || '—') },
      { title: '', render: detailCell },
    ],
  });

  const form = h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); list.state.offset = 0; sync(list.state); list.reload(); } },
    field('Actor', actor), field('Action', action), field('Resource type', rtype),
    h('datalist', { id: 'audit-actions' }, actions.map((a) => h('option', { value: a }))),
    h('datalist', { id: 'audit-types' }, types.map((a) => h('option', { value: a }))),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Filter'),
      h('button', { type: 'button', class: 'btn', onclick: () => { form.reset(); actor.value = action.value = rtype.value = ''; list.state.offset = 0; sync(list.state); list.reload(); } }, 'Reset')));

  root.append(pageHeader('Audit log'), h('section', { class: 'card' }, form, list.el));
}
