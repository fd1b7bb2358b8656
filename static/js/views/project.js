// Project page: tabs for pipelines, runs, members, secrets, webhook and settings.
import { h, clear, timeEl, badge } from '../dom.js';
import { api, seg, fetchAll } from '../api.js';
import { pageHeader, pagedTable, tabs, executionColumns, loading, dl } from '../components.js';
import { setQuery } from '../router.js';
import { state } from '../state.js';
import { repoLink } from './projects.js';
import { runPipeline } from './pipeline_actions.js';
import { membersTab } from './project_members.js';
import { secretsTab, webhookTab, settingsTab } from './project_admin.js';

export const ROLES = ['guest', 'reporter', 'developer', 'maintainer', 'owner'];

export function latestStatusCell(pipelineId, signal) {
  const cell = h('span', { class: 'muted small' }, '…');
  api.get(`/pipelines/${seg(pipelineId)}/status`, null, { signal }).then((s) => {
    clear(cell);
    const execId = s?.execution_id;
    if (!s || !s.status) { cell.append('never run'); return; }
    cell.className = '';
    cell.append(execId ? h('a', { href: `#/executions/${execId}`, class: 'status-link' }, badge(s.status), s.number ? ` #${s.number}` : '') : badge(s.status));
    if (s.finished_at || s.created_at) cell.append(' ', h('span', { class: 'muted small' }, timeEl(s.finished_at || s.created_at)));
  }).catch((e) => { if (e.name !== 'AbortError') cell.textContent = e.status === 404 ? 'never run' : '—'; });
  return cell;
}

export default async function projectView(root, ctx) {
  const id = ctx.params.id;
  root.append(loading());
  const project = await api.get(`/projects/${seg(id)}`, null, { signal: ctx.signal });
  document.title = `${project.name} · AnsFlow`;

  // Work out the viewer's role to hide actions they cannot take (the server enforces it anyway).
  // ProjectOut carries the viewer's `role`; admins may do everything.
  const myRole = state.user?.is_admin ? 'owner' : project.role || null;
  const can = (role) => myRole === null || ROLES.indexOf(myRole) >= ROLES.indexOf(role);
  const shared = { project, id, ctx, can };

  const tabList = [
    { id: 'pipelines', label: 'Pipelines', render: (p) => pipelinesTab(p, shared) },
    { id: 'runs', label: 'Runs', render: (p) => runsTab(p, shared) },
    { id: 'members', label: 'Members', render: (p) => membersTab(p, shared) },
    { id: 'secrets', label: 'Secrets', render: (p) => secretsTab(p, shared) },
    { id: 'webhook', label: 'Webhook', render: (p) => webhookTab(p, shared) },
    { id: 'settings', label: 'Settings', render: (p) => settingsTab(p, shared) },
  ];
  clear(root, 
    pageHeader(project.name, {
      crumbs: [['Projects', '#/projects'], [project.name]],
      sub: h('div', { class: 'page-sub' },
        project.description ? h('p', null, project.description) : null,
        dl([['Repository', repoLink(project.repository_url)], ['Default branch', h('span', { class: 'mono' }, project.default_branch || '—')], ['Your role', project.role || (state.user?.is_admin ? 'admin' : '—')]])),
    }),
    tabs(tabList, ctx.query.tab || 'pipelines', (t) => setQuery({ tab: t })));
}

function pipelinesTab(panel, { id, ctx, can }) {
  const list = pagedTable({
    signal: ctx.signal,
    load: (q) => api.get(`/projects/${seg(id)}/pipelines`, q, { signal: ctx.signal }),
    emptyText: 'No pipelines yet.',
    columns: [
      { title: 'Pipeline', render: (p) => h('a', { href: `#/pipelines/${p.id}`, class: 'strong' }, p.name) },
      { title: 'Latest run', render: (p) => latestStatusCell(p.id, ctx.signal) },
      { title: 'Version', class: 'num', render: (p) => (p.version != null ? `v${p.version}` : '—') },
      { title: 'Priority', render: (p) => p.priority || '—' },
      { title: 'Updated', render: (p) => timeEl(p.updated_at || p.created_at) },
      {
        title: 'Actions', class: 'row-actions', render: (p) => [
          can('developer') ? h('button', { type: 'button', class: 'btn btn-sm btn-primary', onclick: (e) => runPipeline(p, e.currentTarget) }, '▶ Run') : null,
          can('maintainer') ? h('a', { class: 'btn btn-sm', href: `#/pipelines/${p.id}/edit` }, 'Edit') : null,
        ],
      },
    ],
  });
  panel.append(
    h('div', { class: 'panel-actions' },
      can('maintainer') ? h('a', { class: 'btn btn-primary', href: `#/projects/${id}/pipelines/new` }, 'New pipeline') : null),
    list.el);
}

function runsTab(panel, { id, ctx }) {
  const names = new Map();
  const statusSel = h('select', { 'aria-label': 'Filter by status', onchange: () => list.reload() },
    ['', 'queued', 'running', 'waiting_approval', 'success', 'failed', 'cancelled', 'timed_out'].map((s) => h('option', { value: s }, s ? s.replace('_', ' ') : 'Any status')));
  const list = pagedTable({
    signal: ctx.signal,
    load: async (q) => {
      if (!names.size) {
        try { for (const p of await fetchAll(`/projects/${seg(id)}/pipelines`, {}, { signal: ctx.signal })) names.set(p.id, p.name); } catch { /* names are cosmetic */ }
      }
      return api.get('/executions', { ...q, project_id: id, status: statusSel.value }, { signal: ctx.signal });
    },
    emptyText: 'No runs yet.',
    columns: executionColumns(names),
  });
  const timer = setInterval(() => { if (!document.hidden && list.el.isConnected && list.state.offset === 0) list.reload(); }, 10000);
  ctx.onCleanup(() => clearInterval(timer));
  panel.append(h('div', { class: 'panel-actions' }, h('label', { class: 'inline' }, 'Status ', statusSel),
    h('button', { type: 'button', class: 'btn btn-sm', onclick: () => list.reload() }, 'Refresh')), list.el);
}

