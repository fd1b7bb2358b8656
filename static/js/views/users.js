// Admin: users list, create, edit (email, admin flag, password reset), delete.
import { h, timeEl } from '../dom.js';
import { api, seg } from '../api.js';
import { pageHeader, pagedTable, section, empty } from '../components.js';
import { field, checkboxField, onSubmit, values } from '../forms.js';
import { state, isAdmin } from '../state.js';
import { toast, toastError, confirmDialog, modal } from '../ui.js';

export default function usersView(root, ctx) {
  document.title = 'Users · AnsFlow';
  if (!isAdmin()) { root.append(pageHeader('Users'), empty('Only administrators can manage users.')); return; }

  const list = pagedTable({
    signal: ctx.signal,
    load: (q) => api.get('/users', q, { signal: ctx.signal }),
    emptyText: 'No users.',
    rowClass: (u) => (u.is_active === false ? 'row-dim' : null),
    columns: [
      { title: 'Username', render: (u) => h('span', null, h('strong', null, u.username), u.id === state.user?.id ? h('span', { class: 'tag' }, 'you') : null) },
      { title: 'Email', render: (u) => u.email || h('span', { class: 'muted' }, '—') },
      { title: 'Role', render: (u) => (u.is_admin ? h('span', { class: 'tag tag-strong' }, 'admin') : 'user') },
      { title: 'Active', render: (u) => (u.is_active === false ? 'disabled' : u.is_active === true ? 'yes' : '—') },
      { title: 'Last login', render: (u) => timeEl(u.last_login_at) },
      { title: 'Created', render: (u) => timeEl(u.created_at) },
      {
        title: '', class: 'row-actions', render: (u) => [
          h('button', { type: 'button', class: 'btn btn-sm', onclick: () => edit(u) }, 'Edit'),
          u.id !== state.user?.id ? h('button', { type: 'button', class: 'btn btn-sm btn-danger', onclick: () => remove(u) }, 'Delete') : null,
        ],
      },
    ],
  });

  async function remove(u) {
    if (!(await confirmDialog(`${u.username} will no longer be able to sign in; their API tokens stop working.`, { title: `Delete ${u.username}?`, okText: 'Delete', danger: true }))) return;
    try { await api.del(`/users/${seg(u.id)}`); toast(`${u.username} deleted.`, { kind: 'success' }); list.reload(); } catch (e) { toastError(e, 'Could not delete user'); }
  }

  function edit(u) {
    modal((done) => {
      const form = h('form', null,
        h('h2', null, `Edit ${u.username}`),
        field('Email', h('input', { name: 'email', type: 'email', value: u.email || '' })),
        checkboxField('Administrator', h('input', { name: 'is_admin', type: 'checkbox', checked: Boolean(u.is_admin), disabled: u.id === state.user?.id })),
        'is_active' in u ? checkboxField('Active (can sign in)', h('input', { name: 'is_active', type: 'checkbox', checked: u.is_active !== false, disabled: u.id === state.user?.id })) : null,
        field('New password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: 8 }), 'Leave empty to keep the current password.'),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn', onclick: () => done(null) }, 'Cancel'),
          h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save')));
      onSubmit(form, async () => {
        const v = values(form, { keepEmpty: true });
        const patch = {};
        if (v.email !== (u.email || '')) patch.email = v.email || null;
        if ('is_admin' in v && v.is_admin !== Boolean(u.is_admin)) patch.is_admin = v.is_admin;
        if ('is_active' in v && v.is_active !== (u.is_active !== false)) patch.is_active = v.is_active;
        if (v.password) patch.password = v.password;
        if (Object.keys(patch).length) await api.patch(`/users/${seg(u.id)}`, patch);
        done(true);
        toast(`${u.username} saved.`, { kind: 'success' });
        list.reload();
      });
      return form;
    });
  }

  const form = h('form', { class: 'form-grid', autocomplete: 'off' },
    field('Username', h('input', { name: 'username', required: true, maxlength: 64, autocomplete: 'off' })),
    field('Email', h('input', { name: 'email', type: 'email' })),
    field('Password', h('input', { name: 'password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' })),
    checkboxField('Administrator', h('input', { name: 'is_admin', type: 'checkbox' })),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => { box.hidden = true; } }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create user')));
  onSubmit(form, async () => {
    const v = values(form);
    const u = await api.post('/users', v);
    toast(`User ${u.username} created.`, { kind: 'success' });
    form.reset();
    box.hidden = true;
    list.reload();
  });
  const box = section('New user', form);
  box.hidden = true;

  root.append(
    pageHeader('Users', { actions: [h('button', { type: 'button', class: 'btn btn-primary', onclick: () => { box.hidden = false; form.querySelector('input').focus(); } }, 'New user')] }),
    box, h('section', { class: 'card' }, list.el));
}
