// Create / edit a pipeline: name + YAML editor with line numbers, Validate (errors + expanded plan).
import { h, clear, shortId } from '../dom.js';
import { api, seg } from '../api.js';
import { pageHeader, loading, table, section } from '../components.js';
import { field, onSubmit } from '../forms.js';
import { navigate } from '../router.js';
import { toast } from '../ui.js';

const TEMPLATE = `priority: normal
timeout: 30m
triggers:
  manual: true
steps:
  - name: checkout
    git: {url: "https://git.example.com/team/app.git", ref: main}
  - name: test
    run: |
      echo "running tests"
      make test
  - name: deploy
    run: ./deploy.sh
    when: {branch: [main]}
`;

export default async function pipelineEditView(root, ctx) {
  const editing = !ctx.path.startsWith('/projects/');
  root.append(loading());
  let p = null;
  let projectId = ctx.params.id;
  if (editing) {
    p = await api.get(`/pipelines/${seg(ctx.params.id)}`, null, { signal: ctx.signal });
    projectId = p.project_id;
  }
  const project = await api.get(`/projects/${seg(projectId)}`, null, { signal: ctx.signal }).catch(() => null);
  document.title = `${editing ? `Edit ${p.name}` : 'New pipeline'} · AnsFlow`;

  const name = h('input', { name: 'name', required: true, maxlength: 100, value: p?.name || '', placeholder: 'build-and-deploy' });
  const ta = h('textarea', { name: 'definition', class: 'yaml', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', wrap: 'off', rows: 24, 'aria-describedby': 'yaml-hint' });
  ta.value = p?.definition ?? TEMPLATE;
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const editor = h('div', { class: 'editor' }, gutter, ta);
  const result = h('div', { class: 'validation', 'aria-live': 'polite' });
  let errorLines = new Set();

  function paintGutter() {
    const n = ta.value.split('\n').length;
    if (gutter.childElementCount !== n || gutter.dataset.errs !== [...errorLines].join(',')) {
      const frag = document.createDocumentFragment();
      for (let i = 1; i <= n; i++) frag.append(h('div', { class: errorLines.has(i) ? 'err' : null }, String(i)));
      clear(gutter, frag);
      gutter.dataset.errs = [...errorLines].join(',');
    }
    gutter.scrollTop = ta.scrollTop;
  }
  ta.addEventListener('input', paintGutter);
  ta.addEventListener('scroll', () => { gutter.scrollTop = ta.scrollTop; });
  let lastKey = '';
  ta.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') { e.preventDefault(); validate(); return; }
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') { e.preventDefault(); form.requestSubmit(); return; }
    if (e.key === 'Tab' && !e.shiftKey && lastKey !== 'Escape' && !e.ctrlKey && !e.altKey) {
      e.preventDefault();
      ta.setRangeText('  ', ta.selectionStart, ta.selectionEnd, 'end');
      paintGutter();
    }
    lastKey = e.key;
  });

  function gotoLine(line) {
    const lines = ta.value.split('\n');
    let pos = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) pos += lines[i].length + 1;
    ta.focus();
    ta.setSelectionRange(pos, pos + (lines[line - 1] || '').length);
    const lh = parseFloat(getComputedStyle(ta).lineHeight) || 18;
    ta.scrollTop = Math.max(0, (line - 5) * lh);
  }

  async function validate() {
    clear(result, loading('Validating…'));
    try {
      const r = await api.post('/pipelines/validate', { definition: ta.value, project_id: projectId });
      renderValidation(r);
      return r;
    } catch (e) {
      clear(result, h('div', { class: 'alert alert-error' }, h('strong', null, e.title), e.detail ? h('div', null, e.detail) : null));
      return null;
    }
  }

  function renderValidation(r) {
    const errors = r?.errors || [];
    errorLines = new Set(errors.map((e) => e.line).filter(Boolean));
    paintGutter();
    clear(result, 
      r.valid
        ? h('div', { class: 'alert alert-success' }, h('strong', null, '✓ Valid'), ` — ${(r.plan?.steps || []).length} step(s) after matrix expansion.`)
        : h('div', { class: 'alert alert-error' }, h('strong', null, `${errors.length} problem${errors.length === 1 ? '' : 's'}`),
          h('ul', { class: 'errors' }, errors.map((e) => h('li', null,
            e.line ? h('button', { type: 'button', class: 'linkish mono', onclick: () => gotoLine(e.line) }, `line ${e.line}`) : h('span', { class: 'mono' }, 'file'),
            e.path ? h('code', { class: 'small' }, ` ${e.path}`) : null,
            ` — ${e.message}`)))),
      r.plan && (r.plan.steps || []).length ? h('div', null, h('h3', null, 'Plan'),
        table([
          { title: '#', class: 'num', render: (s) => String(r.plan.steps.indexOf(s) + 1) },
          { title: 'Step', render: (s) => h('code', null, s.name) },
          { title: 'Kind', render: (s) => s.kind },
          { title: 'Needs', render: (s) => ((s.needs || []).length ? (s.needs || []).join(', ') : h('span', { class: 'muted' }, 'starts at once')) },
        ], r.plan.steps)) : null);
  }

  const form = h('form', { class: 'pipeline-form' },
    field('Name', name),
    h('div', { class: 'field' },
      h('label', { for: 'yaml-editor' }, 'Definition (YAML)'),
      editor,
      h('small', { class: 'hint', id: 'yaml-hint' }, 'Tab indents (press Esc first to move focus). Ctrl+Enter validates, Ctrl+S saves.')),
    h('div', { class: 'actions' },
      h('a', { class: 'btn', href: editing ? `#/pipelines/${p.id}` : `#/projects/${projectId}` }, 'Cancel'),
      h('button', { type: 'button', class: 'btn', onclick: validate }, 'Validate'),
      h('button', { type: 'submit', class: 'btn btn-primary' }, editing ? 'Save new version' : 'Create pipeline')));
  ta.id = 'yaml-editor';
  onSubmit(form, async () => {
    const body = { name: name.value.trim(), definition: ta.value };
    const r = await validate();
    if (r && !r.valid) {
      throw Object.assign(new Error(''), { title: 'The definition has problems', detail: 'Fix them (see below) and save again.' });
    }
    const saved = editing ? await api.put(`/pipelines/${seg(p.id)}`, body) : await api.post(`/projects/${seg(projectId)}/pipelines`, body);
    toast(editing ? `Saved ${body.name} (v${saved?.version ?? '?'}).` : `Pipeline ${body.name} created.`, { kind: 'success' });
    navigate(`/pipelines/${saved?.id || p.id}`);
  });

  clear(root, 
    pageHeader(editing ? `Edit ${p.name}` : 'New pipeline', {
      crumbs: [['Projects', '#/projects'], [project?.name || shortId(projectId), `#/projects/${projectId}`],
        ...(editing ? [[p.name, `#/pipelines/${p.id}`], ['Edit']] : [['New pipeline']])],
    }),
    h('div', { class: 'edit-grid' }, section('Pipeline', form), section('Validation', result)));
  paintGutter();
  if (editing) validate(); else name.focus();
}
