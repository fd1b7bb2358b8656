// Project tabs for maintainers: secrets, webhook and project settings.
import { h, clear, append, timeEl } from '../dom.js';
import { api, seg, asList } from '../api.js';
import { table, empty, errorBox, loading, pagedTable, dl } from '../components.js';
import { field, onSubmit, values } from '../forms.js';
import { navigate } from '../router.js';
import { toast, toastError, confirmDialog, promptDialog, copyText } from '../ui.js';
import { projectFields } from './projects.js';

export function secretsTab(panel, { id, ctx, can }) {
  const box = h('div');
  const editable = can('maintainer');
  const put = (name, value) => api.put(`/projects/${seg(id)}/secrets/${seg(name)}`, { value });

  async function load() {
    clear(box, loading());
    try {
      const { items } = asList(await api.get(`/projects/${seg(id)}/secrets`, { limit: 200 }, { signal: ctx.signal }));
      const rows = items.map((s) => (typeof s === 'string' ? { name: s } : s));
      clear(box, rows.length ? table([
        { title: 'Name', render: (s) => h('code', null, s.name) },
        { title: 'Value', render: () => h('span', { class: 'muted' }, '•••••• (write-only)') },
        { title: 'Updated', render: (s) => timeEl(s.updated_at || s.created_at) },
        {
          title: '', class: 'row-actions', render: (s) => (editable ? [
            h('button', { type: 'button', class: 'btn btn-sm', onclick: () => update(s.name) }, 'Set value'),
            h('button', { type: 'button', class: 'btn btn-sm btn-danger', onclick: () => remove(s.name) }, 'Delete'),
          ] : null),
        },
      ], rows) : empty('No secrets. Pipelines list the ones they need under `secrets:`.'));
    } catch (e) {
      if (e.name !== 'AbortError') clear(box, errorBox(e, { retry: load }));
    }
  }
  async function update(name) {
    const v = await promptDialog({ title: `New value for ${name}`, label: 'Value', okText: 'Save', required: true });
    if (v === null) return;
    try { await put(name, v); toast(`Secret ${name} updated.`, { kind: 'success' }); load(); } catch (e) { toastError(e, 'Could not save secret'); }
  }
  async function remove(name) {
    if (!(await confirmDialog(`Pipelines that use ${name} will fail until it is set again.`, { title: `Delete secret ${name}?`, okText: 'Delete', danger: true }))) return;
    try { await api.del(`/projects/${seg(id)}/secrets/${seg(name)}`); toast(`Secret ${name} deleted.`, { kind: 'success' }); load(); } catch (e) { toastError(e, 'Could not delete secret'); }
  }
  const form = h('form', { class: 'inline-form', autocomplete: 'off' },
    field('Name', h('input', { name: 'name', required: true, pattern: '[A-Za-z_][A-Za-z0-9_]*', placeholder: 'DEPLOY_TOKEN', title: 'Letters, digits and underscores' })),
    field('Value', h('input', { name: 'value', type: 'password', required: true, autocomplete: 'new-password' })),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save secret'));
  onSubmit(form, async () => {
    const { name, value } = values(form, { keepEmpty: true });
    await put(name, value);
    toast(`Secret ${name} saved.`, { kind: 'success' });
    form.reset();
    load();
  });
  append(panel, [editable ? h('div', { class: 'card-sub' }, form) : null, box]);
  load();
}

function renderUrls(urls) {
  if (!urls) return '—';
  const entries = Array.isArray(urls) ? urls.map((u, i) => [typeof u === 'string' ? String(i + 1) : u.provider || u.name || String(i + 1), typeof u === 'string' ? u : u.url]) : Object.entries(urls);
  const full = (u) => (String(u).startsWith('/') ? `${location.origin}${u}` : String(u));
  return h('ul', { class: 'plain' }, entries.map(([k, u]) => h('li', null, h('strong', null, `${k}: `), h('code', null, full(u)), ' ',
    h('button', { type: 'button', class: 'btn btn-xs', onclick: async () => toast((await copyText(full(u))) ? 'Copied.' : 'Copy failed.', { timeout: 2000 }) }, 'Copy'))));
}

export function webhookTab(panel, { id, ctx, can }) {
  const info = h('div', null, loading());
  const load = async () => {
    try {
      const w = await api.get(`/projects/${seg(id)}/webhook`, null, { signal: ctx.signal });
      clear(info, dl([['Endpoints', renderUrls(w.urls)], ['Secret', w.has_secret ? h('span', { class: 'ok-text' }, '✓ set') : h('span', { class: 'warn-text' }, 'not set: deliveries will be rejected')]]));
    } catch (e) { if (e.name !== 'AbortError') clear(info, errorBox(e, { retry: load })); }
  };
  const secret = h('input', { name: 'secret', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' });
  const form = h('form', { class: 'inline-form', autocomplete: 'off' },
    field('Webhook secret', secret, 'Configure the same secret in your forge.'),
    h('button', { type: 'button', class: 'btn', onclick: () => {
      const b = new Uint8Array(24); crypto.getRandomValues(b);
      secret.type = 'text';
      secret.value = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    } }, 'Generate'),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save secret'));
  onSubmit(form, async () => {
    await api.put(`/projects/${seg(id)}/webhook`, { secret: secret.value });
    toast('Webhook secret saved. Copy it now: it is not shown again.', { kind: 'success' });
    load();
  });
  const deliveries = pagedTable({
    signal: ctx.signal,
    load: (q) => api.get(`/projects/${seg(id)}/webhook/deliveries`, q, { signal: ctx.signal }),
    emptyText: 'No deliveries yet.',
    columns: [
      { title: 'Received', render: (d) => timeEl(d.created_at || d.received_at) },
      { title: 'Provider', render: (d) => d.provider || '—' },
      { title: 'Event', render: (d) => d.event || d.event_type || '—' },
      { title: 'Result', render: (d) => h('span', { class: `result-${d.result || d.status}` }, d.result || d.status || (d.status_code ? String(d.status_code) : '—')) },
      { title: 'Detail', render: (d) => h('span', { class: 'small clamp' }, d.detail || d.message || d.error || (d.executions ? `${d.executions.length} run(s)` : '')) },
    ],
  });
  append(panel, [h('h3', null, 'Endpoint'), info, can('maintainer') ? h('div', { class: 'card-sub' }, form) : null, h('h3', null, 'Recent deliveries'), deliveries.el]);
  load();
}

export function settingsTab(panel, { project, id, can }) {
  if (!can('maintainer')) { panel.append(empty('Only maintainers and owners can change project settings.')); return; }
  const form = h('form', { class: 'form-grid' }, ...projectFields(project),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save changes')));
  onSubmit(form, async () => {
    const v = values(form, { keepEmpty: true });
    const patch = {};
    for (const k of ['name', 'description', 'repository_url', 'default_branch']) {
      const before = project[k] ?? '';
      if (v[k] !== before) patch[k] = k === 'repository_url' && v[k] === '' ? null : v[k];
    }
    if (!Object.keys(patch).length) { toast('Nothing changed.'); return; }
    const updated = await api.patch(`/projects/${seg(id)}`, patch);
    Object.assign(project, updated || patch);
    toast('Project saved.', { kind: 'success' });
    navigate(`/projects/${id}?tab=settings`, { replace: true });
  });
  const del = h('button', { type: 'button', class: 'btn btn-danger', onclick: async () => {
    const typed = await promptDialog({ title: `Delete ${project.name}?`, label: `This deletes its pipelines, runs, logs and secrets. Type the project name to confirm.`, multiline: false, okText: 'Delete project', danger: true });
    if (typed === null) return;
    if (typed.trim() !== project.name) { toast('The name did not match; nothing was deleted.', { kind: 'error' }); return; }
    try { await api.del(`/projects/${seg(id)}`); toast(`${project.name} deleted.`, { kind: 'success' }); navigate('/projects'); } catch (e) { toastError(e, 'Could not delete project'); }
  } }, 'Delete project');
  panel.append(form, h('div', { class: 'danger-zone' }, h('h3', null, 'Danger zone'), del));
}
