// Personal API tokens (shown once after creation) and own account: email / password via PATCH /auth/me.
import { h, clear, timeEl } from '../dom.js';
import { api, seg, asList } from '../api.js';
import { pageHeader, section, table, empty, errorBox, loading } from '../components.js';
import { field, onSubmit, values } from '../forms.js';
import { state, setUser } from '../state.js';
import { toast, toastError, confirmDialog, copyText } from '../ui.js';

export default function tokensView(root, ctx) {
  document.title = 'API tokens · AnsFlow';
  const listBox = h('div', null, loading());
  const reveal = h('div', { 'aria-live': 'polite' });

  async function load() {
    try {
      const { items } = asList(await api.get('/auth/tokens', null, { signal: ctx.signal }));
      clear(listBox, items.length ? table([
        { title: 'Name', render: (t) => h('strong', null, t.name) },
        { title: 'Prefix', render: (t) => (t.prefix ? h('code', null, `${t.prefix}…`) : '—') },
        { title: 'Created', render: (t) => timeEl(t.created_at) },
        { title: 'Last used', render: (t) => (t.last_used_at ? timeEl(t.last_used_at) : h('span', { class: 'muted' }, 'never')) },
        { title: 'Expires', render: (t) => (t.expires_at ? timeEl(t.expires_at) : h('span', { class: 'muted' }, 'never')) },
        { title: 'State', render: (t) => (t.revoked_at ? h('span', { class: 'bad-text' }, 'revoked') : t.expires_at && Date.parse(t.expires_at) < Date.now() ? h('span', { class: 'warn-text' }, 'expired') : 'active') },
        { title: '', class: 'row-actions', render: (t) => (t.revoked_at ? null : h('button', { type: 'button', class: 'btn btn-sm btn-danger', onclick: () => revoke(t) }, 'Revoke')) },
      ], items, { rowClass: (t) => (t.revoked_at ? 'row-dim' : null) }) : empty('No tokens yet.'));
    } catch (e) {
      if (e.name !== 'AbortError') clear(listBox, errorBox(e, { retry: load }));
    }
  }

  async function revoke(t) {
    if (!(await confirmDialog(`Clients using “${t.name}” will get 401 from now on.`, { title: 'Revoke token?', okText: 'Revoke', danger: true }))) return;
    try { await api.del(`/auth/tokens/${seg(t.id)}`); toast(`Token ${t.name} revoked.`, { kind: 'success' }); load(); } catch (e) { toastError(e, 'Could not revoke'); }
  }

  function showOnce(created) {
    const out = h('input', { type: 'text', readonly: true, value: created.token, class: 'mono token-out', 'aria-label': 'New token value', onfocus: (e) => e.target.select() });
    const copy = h('button', { type: 'button', class: 'btn btn-primary', onclick: async () => { copy.textContent = (await copyText(created.token)) ? 'Copied ✓' : 'Copy failed: select and copy'; } }, 'Copy');
    clear(reveal, h('div', { class: 'alert alert-success token-reveal' },
      h('strong', null, `Token “${created.name}” created.`),
      h('p', null, 'Copy it now: it is shown only once. Use it as ', h('code', null, 'Authorization: Bearer <token>'), ' or ', h('code', null, '?token=<token>'), ' on WebSockets.'),
      h('div', { class: 'copy-row' }, out, copy),
      h('button', { type: 'button', class: 'btn btn-sm', onclick: () => clear(reveal) }, 'I have copied it')));
    out.focus();
  }

  const createForm = h('form', { class: 'inline-form' },
    field('Name', h('input', { name: 'name', required: true, maxlength: 100, placeholder: 'ci-bot' })),
    field('Expires in (days)', h('input', { name: 'expires_in_days', type: 'number', min: 1, max: 3650, placeholder: 'never' })),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token'));
  onSubmit(createForm, async () => {
    const created = await api.post('/auth/tokens', values(createForm));
    createForm.reset();
    showOnce(created);
    load();
  });

  const pwForm = h('form', { class: 'form-grid narrow', autocomplete: 'on' },
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: state.user?.username || '', hidden: true, disabled: true }),
    field('Email', h('input', { name: 'email', type: 'email', value: state.user?.email || '' })),
    field('New password', h('input', { name: 'password', type: 'password', minlength: 8, autocomplete: 'new-password' }), 'Leave empty to keep your password.'),
    field('Current password', h('input', { name: 'current_password', type: 'password', required: true, autocomplete: 'current-password' }), 'Required to confirm any change.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Update account')));
  onSubmit(pwForm, async () => {
    const v = values(pwForm, { keepEmpty: true });
    const body = { current_password: v.current_password };
    if (v.email !== (state.user?.email || '')) body.email = v.email || null;
    if (v.password) body.password = v.password;
    if (Object.keys(body).length === 1) { toast('Nothing changed.'); return; }
    const me = await api.patch('/auth/me', body);
    if (me && me.username) setUser(me);
    pwForm.reset();
    pwForm.elements.email.value = pwForm.elements.email.defaultValue = me?.email || v.email || '';
    toast('Account updated.', { kind: 'success' });
  });

  root.append(
    pageHeader('API tokens & account', { sub: h('p', { class: 'muted' }, `Signed in as ${state.user?.username}.`) }),
    section('Personal API tokens', h('div', null, h('div', { class: 'card-sub' }, createForm), reveal, listBox)),
    section('Account', pwForm));
  load();
}
