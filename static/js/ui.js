// Toasts and modal dialogs (native <dialog>: focus trapping and Escape come for free).
import { h } from './dom.js';

export function toast(message, { kind = 'info', title = '', href = '', linkText = 'Open', timeout = 6000 } = {}) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const close = () => { el.classList.add('leaving'); setTimeout(() => el.remove(), 200); };
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('div', { class: 'toast-body' },
      title ? h('strong', { class: 'toast-title' }, title) : null,
      message ? h('div', null, message) : null,
      href ? h('a', { href, onclick: close }, linkText) : null),
    h('button', { class: 'icon-btn', type: 'button', 'aria-label': 'Dismiss notification', onclick: close }, '×'));
  box.appendChild(el);
  while (box.children.length > 5) box.firstElementChild.remove();
  if (timeout) {
    let t = setTimeout(close, timeout);
    el.addEventListener('mouseenter', () => clearTimeout(t));
    el.addEventListener('mouseleave', () => { t = setTimeout(close, 2500); });
  }
}

export function toastError(err, title = 'Something went wrong') {
  toast(err?.detail || err?.message || String(err), { kind: 'error', title: err?.title || title, timeout: 9000 });
}

function openDialog(build) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog' });
    let result = null;
    const done = (v) => { result = v; dlg.close(); };
    dlg.append(build(done));
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.appendChild(dlg);
    dlg.showModal();
    const focus = dlg.querySelector('[autofocus], textarea, input, select');
    if (focus) focus.focus();
  });
}

/** Resolve true/false. */
export function confirmDialog(message, { title = 'Are you sure?', okText = 'Confirm', danger = false } = {}) {
  return openDialog((done) => h('form', { method: 'dialog', onsubmit: (e) => { e.preventDefault(); done(true); } },
    h('h2', null, title),
    h('p', null, message),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => done(false) }, 'Cancel'),
      h('button', { type: 'submit', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}`, autofocus: true }, okText)))).then(Boolean);
}

/** Resolve the entered text (possibly empty), or null when cancelled. */
export function promptDialog({ title, label, okText = 'OK', multiline = true, placeholder = '', danger = false, required = false }) {
  return openDialog((done) => {
    const input = multiline
      ? h('textarea', { rows: 4, placeholder, required, autofocus: true })
      : h('input', { type: 'text', placeholder, required, autofocus: true });
    return h('form', { onsubmit: (e) => { e.preventDefault(); done(input.value); } },
      h('h2', null, title),
      h('label', { class: 'field' }, h('span', null, label), input),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => done(null) }, 'Cancel'),
        h('button', { type: 'submit', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}` }, okText)));
  });
}

/** A modal holding an arbitrary form; build(done) returns the content. Resolves what done() got. */
export const modal = openDialog;

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = h('textarea', { class: 'sr-only' });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    ta.remove();
    return ok;
  }
}
