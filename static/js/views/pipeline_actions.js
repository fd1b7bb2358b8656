// Starting runs: one-click, or with variables / priority / ref.
import { h } from '../dom.js';
import { api, seg } from '../api.js';
import { navigate } from '../router.js';
import { toast, toastError, modal } from '../ui.js';
import { field, onSubmit } from '../forms.js';

export async function runPipeline(p, btn, body = {}) {
  if (btn) btn.disabled = true;
  try {
    const ex = await api.post(`/pipelines/${seg(p.id)}/runs`, body);
    toast(`${p.name} #${ex.number ?? ''} queued.`, { kind: 'success' });
    navigate(`/executions/${ex.id}`);
  } catch (e) {
    toastError(e, `Could not run ${p.name}`);
  } finally {
    if (btn) btn.disabled = false;
  }
}

/** Parse "KEY=value" lines (or a JSON object) into an object. Throws a field error. */
export function parseVariables(text) {
  const t = text.trim();
  if (!t) return undefined;
  if (t.startsWith('{')) {
    try {
      const v = JSON.parse(t);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    } catch { /* fall through */ }
    throw Object.assign(new Error('bad'), { title: 'Invalid variables', errors: [{ field: 'variables', message: 'Not a valid JSON object.' }] });
  }
  const out = {};
  t.split('\n').forEach((line, i) => {
    const s = line.trim();
    if (!s || s.startsWith('#')) return;
    const eq = s.indexOf('=');
    if (eq <= 0) throw Object.assign(new Error('bad'), { title: 'Invalid variables', errors: [{ field: 'variables', message: `Line ${i + 1}: expected KEY=value.` }] });
    out[s.slice(0, eq).trim()] = s.slice(eq + 1);
  });
  return out;
}

export function runWithOptions(p, defaultRef = '') {
  return modal((done) => {
    const vars = h('textarea', { name: 'variables', rows: 5, class: 'mono', placeholder: 'APP_ENV=staging\nVERSION=1.2.3' });
    const prio = h('select', { name: 'priority' }, [['', 'Pipeline default'], ['high', 'high'], ['normal', 'normal'], ['low', 'low']].map(([v, l]) => h('option', { value: v }, l)));
    const ref = h('input', { name: 'ref', placeholder: defaultRef || 'branch, tag or commit', value: '' });
    const form = h('form', null,
      h('h2', null, `Run ${p.name}`),
      field('Variables', vars, 'One KEY=value per line, or a JSON object. Overrides the pipeline variables.'),
      field('Priority', prio),
      field('Ref', ref, 'Optional git ref to build.'),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => done(null) }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary' }, '▶ Run')));
    onSubmit(form, async () => {
      const body = {};
      const v = parseVariables(vars.value);
      if (v) body.variables = v;
      if (prio.value) body.priority = prio.value;
      if (ref.value.trim()) body.ref = ref.value.trim();
      const ex = await api.post(`/pipelines/${seg(p.id)}/runs`, body);
      done(ex);
      toast(`${p.name} #${ex.number ?? ''} queued.`, { kind: 'success' });
      navigate(`/executions/${ex.id}`);
    });
    return form;
  });
}
