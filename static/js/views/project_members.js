// Members tab: list, change role (PUT), remove (DELETE), add by username or user id.
import { h, clear, append, timeEl } from '../dom.js';
import { api, seg, fetchAll } from '../api.js';
import { table, empty, errorBox, loading } from '../components.js';
import { field, onSubmit, select } from '../forms.js';
import { state, isAdmin } from '../state.js';
import { toast, toastError, confirmDialog } from '../ui.js';

const ROLES = ['guest', 'reporter', 'developer', 'maintainer', 'owner'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const memberId = (m) => m.user_id || m.user?.id || m.id;
const memberName = (m) => m.username || m.user?.username || m.user_id;

export function membersTab(panel, { id, ctx, can }) {
  const listBox = h('div');
  const editable = can('maintainer');
  let users = null; // admins can resolve usernames to ids

  async function load() {
    clear(listBox, loading());
    try {
      const members = await fetchAll(`/projects/${seg(id)}/members`, {}, { signal: ctx.signal });
      clear(listBox, members.length ? table([
        { title: 'User', render: (m) => h('span', null, h('strong', null, memberName(m)), memberId(m) === state.user?.id ? h('span', { class: 'tag' }, 'you') : null) },
        { title: 'Email', render: (m) => m.email || m.user?.email || '' },
        {
          title: 'Role', render: (m) => (editable
            ? select('role', ROLES, m.role, { 'aria-label': `Role of ${memberName(m)}`, onchange: (e) => setRole(m, e.target) })
            : m.role),
        },
        { title: 'Since', render: (m) => timeEl(m.created_at) },
        { title: '', class: 'row-actions', render: (m) => (editable ? h('button', { type: 'button', class: 'btn btn-sm btn-danger', onclick: () => remove(m) }, 'Remove') : null) },
      ], members) : empty('No members.'));
    } catch (e) {
      if (e.name !== 'AbortError') clear(listBox, errorBox(e, { retry: load }));
    }
  }

  async function setRole(m, sel) {
    sel.disabled = true;
    try {
      await api.put(`/projects/${seg(id)}/members/${seg(memberId(m))}`, { role: sel.value });
      toast(`${memberName(m)} is now ${sel.value}.`, { kind: 'success' });
      m.role = sel.value;
    } catch (e) {
      sel.value = m.role;
      toastError(e, 'Could not change role');
    } finally { sel.disabled = false; }
  }

  async function remove(m) {
    if (!(await confirmDialog(`${memberName(m)} will lose access to this project.`, { title: 'Remove member?', okText: 'Remove', danger: true }))) return;
    try {
      await api.del(`/projects/${seg(id)}/members/${seg(memberId(m))}`);
      toast(`${memberName(m)} removed.`, { kind: 'success' });
      load();
    } catch (e) { toastError(e, 'Could not remove member'); }
  }

  const userInput = h('input', { name: 'user_id', required: true, placeholder: isAdmin() ? 'username' : 'user id (UUID)', list: `users-${id}`, autocomplete: 'off' });
  const datalist = h('datalist', { id: `users-${id}` });
  const form = h('form', { class: 'inline-form' },
    field('User', userInput, isAdmin() ? 'Username or user id.' : 'The user id (ask an administrator).'),
    datalist,
    field('Role', select('role', ROLES, 'developer')),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add member'));
  onSubmit(form, async () => {
    const raw = userInput.value.trim();
    let uid = UUID.test(raw) ? raw : null;
    if (!uid && users) uid = users.find((u) => u.username === raw)?.id || null;
    if (!uid) throw Object.assign(new Error(''), { title: 'Unknown user', errors: [{ field: 'user_id', message: users ? `No user named “${raw}”.` : 'Enter the user id (a UUID).' }] });
    const role = form.elements.role.value;
    await api.put(`/projects/${seg(id)}/members/${seg(uid)}`, { role });
    toast(`${raw} added as ${role}.`, { kind: 'success' });
    userInput.value = '';
    load();
  });
  if (isAdmin()) {
    fetchAll('/users', {}, { signal: ctx.signal }, 1000).then((list) => {
      users = list;
      datalist.append(...list.map((u) => h('option', { value: u.username }, u.email || '')));
    }).catch(() => {});
  }

  append(panel, [editable ? h('div', { class: 'card-sub' }, form) : null, listBox]);
  load();
}
