// Pipeline page: latest status, runs, definition, versions.
import { h, clear, timeEl, badge, shortId, fmtDuration, liveDuration } from '../dom.js';
import { api, seg } from '../api.js';
import { pageHeader, pagedTable, tabs, executionColumns, loading, errorBox, section, dl } from '../components.js';
import { navigate, setQuery } from '../router.js';
import { toast, toastError, confirmDialog, modal } from '../ui.js';
import { runPipeline, runWithOptions } from './pipeline_actions.js';

export function codeBlock(text, { errorLines = new Set() } = {}) {
  const pre = h('pre', { class: 'code numbered' });
  String(text ?? '').split('\n').forEach((line, i) => {
    pre.append(h('span', { class: `line${errorLines.has(i + 1) ? ' err' : ''}` }, line), '\n');
  });
  return pre;
}

export default async function pipelineView(root, ctx) {
  const id = ctx.params.id;
  root.append(loading());
  const p = await api.get(`/pipelines/${seg(id)}`, null, { signal: ctx.signal });
  const project = await api.get(`/projects/${seg(p.project_id)}`, null, { signal: ctx.signal }).catch(() => null);
  document.title = `${p.name} · AnsFlow`;

  const statusBox = h('div', null, loading());
  async function loadStatus() {
    try {
      const s = await api.get(`/pipelines/${seg(id)}/status`, null, { signal: ctx.signal });
      const execId = s?.execution_id;
      clear(statusBox, s && s.status ? dl([
        ['Status', execId ? h('a', { href: `#/executions/${execId}` }, badge(s.status), s.number ? ` #${s.number}` : '') : badge(s.status)],
        ['Started', timeEl(s.started_at || s.created_at)],
        ['Finished', timeEl(s.finished_at)],
        ['Duration', fmtDuration(liveDuration(s))],
      ]) : h('p', { class: 'muted' }, 'This pipeline has not run yet.'));
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(statusBox, e.status === 404 ? h('p', { class: 'muted' }, 'This pipeline has not run yet.') : errorBox(e));
    }
  }
  loadStatus();
  const timer = setInterval(() => { if (!document.hidden) loadStatus(); }, 10000);
  ctx.onCleanup(() => clearInterval(timer));

  const del = async () => {
    if (!(await confirmDialog(`Its run history and logs go with it.`, { title: `Delete pipeline ${p.name}?`, okText: 'Delete', danger: true }))) return;
    try { await api.del(`/pipelines/${seg(id)}`); toast(`${p.name} deleted.`, { kind: 'success' }); navigate(`/projects/${p.project_id}`); } catch (e) { toastError(e, 'Could not delete'); }
  };

  clear(root, 
    pageHeader(p.name, {
      crumbs: [['Projects', '#/projects'], [project?.name || shortId(p.project_id), `#/projects/${p.project_id}`], [p.name]],
      actions: [
        h('button', { type: 'button', class: 'btn btn-primary', onclick: (e) => runPipeline(p, e.currentTarget) }, '▶ Run'),
        h('button', { type: 'button', class: 'btn', onclick: () => runWithOptions(p, project?.default_branch) }, 'Run with options…'),
        h('a', { class: 'btn', href: `#/pipelines/${id}/edit` }, 'Edit'),
        h('button', { type: 'button', class: 'btn btn-danger', onclick: del }, 'Delete'),
      ],
      sub: h('div', { class: 'page-sub muted small' }, `Version v${p.version ?? '?'} · priority ${p.priority || 'normal'}${p.concurrency ? ` · concurrency ${p.concurrency}` : ''} · updated `, timeEl(p.updated_at || p.created_at)),
    }),
    section('Latest run', statusBox),
    tabs([
      { id: 'runs', label: 'Runs', render: (panel) => runsPanel(panel, id, ctx) },
      { id: 'definition', label: 'Definition', render: (panel) => panel.append(codeBlock(p.definition)) },
      { id: 'versions', label: 'Versions', render: (panel) => versionsPanel(panel, p, ctx) },
    ], ctx.query.tab || 'runs', (t) => setQuery({ tab: t })));
}

function runsPanel(panel, id, ctx) {
  const list = pagedTable({
    signal: ctx.signal,
    load: (q) => api.get('/executions', { ...q, pipeline_id: id }, { signal: ctx.signal }),
    emptyText: 'No runs yet. Press Run to start one.',
    columns: executionColumns(false),
  });
  const timer = setInterval(() => { if (!document.hidden && list.el.isConnected && list.state.offset === 0) list.reload(); }, 10000);
  ctx.onCleanup(() => clearInterval(timer));
  panel.append(list.el);
}

function versionsPanel(panel, p, ctx) {
  const list = pagedTable({
    signal: ctx.signal,
    load: (q) => api.get(`/pipelines/${seg(p.id)}/versions`, q, { signal: ctx.signal }),
    emptyText: 'No versions recorded.',
    columns: [
      { title: 'Version', render: (v) => h('strong', null, `v${v.version}`, v.version === p.version ? h('span', { class: 'tag' }, 'current') : null) },
      { title: 'Name', render: (v) => v.name || p.name },
      { title: 'Saved', render: (v) => timeEl(v.created_at) },
      { title: 'By', render: (v) => v.created_by_username || v.author || (v.created_by ? shortId(v.created_by) : '—') },
      {
        title: '', class: 'row-actions', render: (v) => [
          h('button', { type: 'button', class: 'btn btn-sm', onclick: () => showVersion(v) }, 'View'),
          v.version !== p.version && v.definition ? h('button', { type: 'button', class: 'btn btn-sm', onclick: () => restore(v) }, 'Restore') : null,
        ],
      },
    ],
  });
  function showVersion(v) {
    modal((done) => h('div', { class: 'dialog-wide' },
      h('h2', null, `${v.name || p.name} — v${v.version}`),
      v.definition ? codeBlock(v.definition) : h('p', { class: 'muted' }, 'This version has no stored definition.'),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-primary', autofocus: true, onclick: () => done(null) }, 'Close'))));
  }
  async function restore(v) {
    if (!(await confirmDialog(`This saves version v${v.version}'s definition as a new version.`, { title: 'Restore this version?', okText: 'Restore' }))) return;
    try {
      await api.put(`/pipelines/${seg(p.id)}`, { name: v.name || p.name, definition: v.definition });
      toast(`Restored v${v.version} as a new version.`, { kind: 'success' });
      navigate(`/pipelines/${p.id}?tab=versions`, { replace: true });
    } catch (e) { toastError(e, 'Could not restore'); }
  }
  panel.append(list.el);
}
