import { h } from '../dom.js';
import { api, csrf } from '../api.js';
import { state, setUser } from '../state.js';
import { field, onSubmit } from '../forms.js';
import { navigate } from '../router.js';

function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('/login') ? next : '/projects';
}

export default function loginView(root, ctx) {
  const next = safeNext(ctx.query.next);
  if (state.user && !ctx.query.reauth) { navigate(next, { replace: true }); return; }
  document.title = 'Sign in · AnsFlow';
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true, value: state.user?.username || '' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'login-form card', novalidate: false },
    h('h1', null, 'Sign in to AnsFlow'),
    ctx.query.expired ? h('div', { class: 'alert alert-info' }, 'Your session has ended. Please sign in again.') : null,
    ctx.query.reauth ? h('div', { class: 'alert alert-info' }, 'Sign in again to get a write token for this tab.') : null,
    field('Username', username),
    field('Password', password),
    h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in'));
  onSubmit(form, async () => {
    const res = await api.post('/auth/login', { username: username.value.trim(), password: password.value }, { quiet401: true })
      .catch((e) => {
        if (e.status === 401 && !e.errors.length) e.title = 'Wrong username or password';
        throw e;
      });
    csrf.set(res?.csrf_token || null);
    setUser(res?.user || (await api.get('/auth/me')));
    navigate(next, { replace: true });
  });
  root.append(h('div', { class: 'login-wrap' }, form));
  (state.user ? password : username).focus();
}
