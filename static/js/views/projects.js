import { h, timeEl, isHttpUrl } from '../dom.js';
import { api } from '../api.js';
import { pageHeader, pagedTable, section } from '../components.js';
import { field, onSubmit, values } from '../forms.js';
import { navigate } from '../router.js';
import { toast } from '../ui.js';

export function repoLink(url) {
  if (!url) return h('span', { class: 'muted' }, '—');
  return isHttpUrl(url) ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'mono small' }, url) : h('span', { class: 'mono small' }, url);
}

export function projectFields(p = {}) {
  return [
    field('Name', h('input', { name: 'name', required: true, maxlength: 100, value: p.name || '' })),
    field('Description', h('textarea', { name: 'description', rows: 2, value: p.description || '' })),
    field('Repository URL', h('input', { name: 'repository_url', type: 'url', placeholder: 'https://git.example.com/team/app.git', value: p.repository_url || '' })),
    field('Default branch', h('input', { name: 'default_branch', placeholder: 'main', value: p.default_branch || '' })),
  ];
}

export default function projectsView(root, ctx) {
  document.title = 'Projects · AnsFlow';
  const list = pagedTable({
    signal: ctx.signal,
    load: (q) => api.get('/projects', q, { signal: ctx.signal }),
    emptyText: 'No projects yet. Create the first one.',
    columns: [
      { title: 'Name', render: (p) => h('a', { href: `#/projects/${p.id}`, class: 'strong' }, p.name) },
      { title: 'Description', render: (p) => h('span', { class: 'clamp' }, p.description || '') },
      { title: 'Repository', render: (p) => repoLink(p.repository_url) },
      { title: 'Branch', render: (p) => h('span', { class: 'mono small' }, p.default_branch || '—') },
      { title: 'Created', render: (p) => timeEl(p.created_at) },
    ],
  });

  const form = h('form', { class: 'form-grid' }, ...projectFields(),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => { createBox.hidden = true; } }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create project')));
  onSubmit(form, async () => {
    const created = await api.post('/projects', values(form));
    toast(`Project ${created.name} created.`, { kind: 'success' });
    navigate(`/projects/${created.id}`);
  });
  const createBox = section('New project', form);
  createBox.hidden = true;

  root.append(
    pageHeader('Projects', {
      actions: [h('button', { type: 'button', class: 'btn btn-primary', onclick: () => { createBox.hidden = false; form.querySelector('input').focus(); } }, 'New project')],
    }),
    createBox,
    h('section', { class: 'card' }, list.el));
}
