// Shared session state and a tiny pub/sub for it.
const listeners = new Set();

export const state = {
  user: null, // {id, username, email, is_admin, created_at}
};

export function setUser(user) {
  state.user = user;
  for (const fn of listeners) fn(user);
}

export function onUserChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export const isAdmin = () => Boolean(state.user && state.user.is_admin);
