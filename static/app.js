// AnsFlow web UI entry point: session bootstrap, top bar, routes.
import { h, clear } from './js/dom.js';
import { api, csrf, onUnauthorized } from './js/api.js';
import { state, setUser, onUserChange } from './js/state.js';
import { route, setGuard, setNotFound, startRouter, navigate, currentPath, parseHash } from './js/router.js';
import { startNotifications, stopNotifications } from './js/notifications.js';
import { toastError } from './js/ui.js';

route('/login', () => import('./js/views/login.js'), { public: true });
route('/projects', () => import('./js/views/projects.js'));
route('/projects/:id', () => import('./js/views/project.js'));
route('/projects/:id/pipelines/new', () => import('./js/views/pipeline_edit.js'));
route('/pipelines/:id', () => import('./js/views/pipeline.js'));
route('/pipelines/:id/edit', () => import('./js/views/pipeline_edit.js'));
route('/executions/:id', () => import('./js/views/execution.js'));
route('/monitor', () => import('./js/views/monitor.js'));
route('/audit', () => import('./js/views/audit.js'));
route('/admin/users', () => import('./js/views/users.js'));
route('/settings', () => import('./js/views/settings.js'));
route('/tokens', () => import('./js/views/tokens.js'));
route('/', () => Promise.resolve({ default: () => navigate('/projects', { replace: true }) }));

setGuard((r, path, raw) => {
  if (!state.user && !(r && r.opts.public)) return `/login?next=${encodeURIComponent(raw)}`;
  return null;
});
setNotFound((root) => root.append(h('div', { class: 'empty' }, h('h1', null, 'Page not found'), h('a', { href: '#/projects' }, 'Go to projects'))));

const NAV = [
  ['Projects', '/projects'],
  ['Monitor', '/monitor'],
  ['Audit log', '/audit'],
  ['Users', '/admin/users', true],
  ['Settings', '/settings'],
];

function renderTopbar() {
  const bar = document.getElementById('topbar');
  clear(bar);
  bar.append(h('a', { class: 'brand', href: '#/projects', 'aria-label': 'AnsFlow home' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '▸'), 'AnsFlow'));
  const user = state.user;
  if (!user) return;
  const nav = h('nav', { class: 'mainnav', 'aria-label': 'Main' },
    NAV.filter(([, , admin]) => !admin || user.is_admin).map(([label, path]) => h('a', { href: `#${path}`, 'data-path': path }, label)));
  const menu = h('details', { class: 'usermenu' },
    h('summary', { 'aria-label': `Account menu for ${user.username}` }, h('span', { class: 'avatar', 'aria-hidden': 'true' }, user.username.slice(0, 1).toUpperCase()), h('span', { class: 'uname' }, user.username), user.is_admin ? h('span', { class: 'tag' }, 'admin') : null),
    h('div', { class: 'menu', role: 'menu' },
      h('a', { href: '#/tokens', role: 'menuitem' }, 'API tokens & password'),
      h('button', { type: 'button', role: 'menuitem', onclick: logout }, 'Log out')));
  menu.addEventListener('keydown', (e) => { if (e.key === 'Escape') { menu.open = false; menu.querySelector('summary').focus(); } });
  bar.append(nav, h('span', { class: 'spacer' }), menu);
  markActive();
}

function markActive() {
  const { path } = parseHash();
  for (const a of document.querySelectorAll('.mainnav a')) {
    const on = path === a.dataset.path || path.startsWith(`${a.dataset.path}/`)
      || (a.dataset.path === '/projects' && /^\/(pipelines|executions)\//.test(path));
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const menu = document.querySelector('.usermenu');
  if (menu) menu.open = false;
}

function renderBanner() {
  const el = document.getElementById('banner');
  clear(el);
  if (state.user && !csrf.has()) {
    el.append(h('div', { class: 'banner', role: 'status' },
      'This tab has no write token (it was opened from another tab or restored). ',
      h('a', { href: `#/login?reauth=1&next=${encodeURIComponent(currentPath())}` }, 'Sign in again'), ' to make changes.'));
  }
}

async function logout() {
  try { await api.post('/auth/logout', undefined, { quiet401: true }); } catch (e) { if (e.status !== 401) toastError(e, 'Logout failed'); }
  csrf.set(null);
  setUser(null);
  navigate('/login');
}

onUserChange((user) => {
  renderTopbar();
  renderBanner();
  if (user) startNotifications(); else stopNotifications();
});

onUnauthorized(() => {
  if (!state.user) return;
  csrf.set(null);
  setUser(null);
  const { path, raw } = parseHash();
  if (path !== '/login') navigate(`/login?next=${encodeURIComponent(raw)}&expired=1`, { replace: true });
});

document.addEventListener('routechange', () => { markActive(); renderBanner(); });
document.addEventListener('click', (e) => {
  const menu = document.querySelector('.usermenu[open]');
  if (menu && !menu.contains(e.target)) menu.open = false;
});
document.querySelector('.skip-link')?.addEventListener('click', (e) => {
  e.preventDefault();
  document.getElementById('main').focus();
});

async function boot() {
  try {
    const me = await api.get('/auth/me', null, { quiet401: true });
    if (me && me.csrf_token) csrf.set(me.csrf_token);
    setUser(me && me.user && me.user.username ? me.user : me);
  } catch (e) {
    if (e.status !== 401) toastError(e, 'Could not reach AnsFlow');
    setUser(null);
  }
  startRouter();
}

boot();
