// Form building and RFC 9457 error display (field-level where the field is known).
import { h, nextId } from './dom.js';

/** Labelled field wrapper. input must carry a name for field-level errors. */
export function field(label, input, hint) {
  const id = input.id || nextId('f');
  input.id = id;
  const hintEl = hint ? h('small', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}

export function checkboxField(label, input, hint) {
  const id = input.id || nextId('f');
  input.id = id;
  return h('div', { class: 'field field-check' },
    input, h('label', { for: id }, label), hint ? h('small', { class: 'hint' }, hint) : null);
}

const fieldKey = (f) => String(f || '').replace(/^(body|data|\$|query|path)\.?/, '').split('.').pop().replace(/\[.*$/, '');

export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error, .form-error')) el.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const d = (el.getAttribute('aria-describedby') || '').split(' ').filter((x) => !x.endsWith('-err')).join(' ');
    if (d) el.setAttribute('aria-describedby', d); else el.removeAttribute('aria-describedby');
  }
}

/** Show an ApiError (or any Error) on a form: field errors next to inputs, the rest on top. */
export function showErrors(form, err) {
  clearErrors(form);
  const general = [];
  let firstInvalid = null;
  for (const e of err?.errors || []) {
    const key = fieldKey(e.field);
    const input = key ? form.querySelector(`[name="${CSS.escape(key)}"]`) : null;
    if (input) {
      const id = `${input.id || nextId('f')}-err`;
      const msg = h('div', { class: 'field-error', id }, e.message || 'Invalid value');
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${id}`.trim());
      (input.closest('.field') || input.parentElement).appendChild(msg);
      firstInvalid = firstInvalid || input;
    } else {
      general.push(`${e.field ? `${e.field}: ` : ''}${e.message || ''}`);
    }
  }
  const title = err?.title || 'Error';
  const detail = err?.detail && err.detail !== title ? err.detail : '';
  const box = h('div', { class: 'form-error alert alert-error', role: 'alert' },
    h('strong', null, title), detail ? h('div', null, detail) : null,
    general.length ? h('ul', null, general.map((g) => h('li', null, g))) : null);
  form.prepend(box);
  if (firstInvalid) firstInvalid.focus();
}

/** Wire a submit handler: disables the submit button while running, displays errors. */
export function onSubmit(form, fn) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const btns = form.querySelectorAll('button[type=submit]');
    btns.forEach((b) => { b.disabled = true; });
    clearErrors(form);
    try {
      await fn(ev);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      showErrors(form, e);
    } finally {
      btns.forEach((b) => { b.disabled = false; });
    }
  });
  return form;
}

/** Collect named controls. Empty optional strings are omitted unless keepEmpty. */
export function values(form, { keepEmpty = false } = {}) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.type === 'number') { if (el.value !== '') out[el.name] = Number(el.value); }
    else if (el.value !== '' || keepEmpty) out[el.name] = el.value;
  }
  return out;
}

export const input = (name, props = {}) => h('input', { name, type: 'text', ...props });
export const textarea = (name, props = {}) => h('textarea', { name, ...props });
export function select(name, options, value, props = {}) {
  const s = h('select', { name, ...props },
    options.map((o) => (typeof o === 'string' ? [o, o] : o)).map(([v, l]) => h('option', { value: v }, l)));
  if (value !== undefined && value !== null) s.value = value;
  return s;
}
