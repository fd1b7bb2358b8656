// Step table for the execution page, updated in place so focus survives live updates.
import { h, clear, badge, fmtDuration, liveDuration, timeEl } from '../dom.js';

export class StepTable {
  constructor({ onFilter, onDecide }) {
    this.onFilter = onFilter;
    this.onDecide = onDecide;
    this.rows = new Map();
    this.names = '';
    this.tbody = h('tbody');
    this.el = h('div', { class: 'table-wrap' }, h('table', { class: 'table steps' },
      h('thead', null, h('tr', null, ['Status', 'Step', 'Kind', 'Needs', 'Attempt', 'Exit', 'Started', 'Duration', ''].map((t) => h('th', { scope: 'col' }, t)))),
      this.tbody));
  }

  update(steps) {
    const list = steps || [];
    const names = list.map((s) => s.name).join('\u0000');
    if (names !== this.names) {
      this.names = names;
      this.rows.clear();
      clear(this.tbody);
      if (!list.length) this.tbody.append(h('tr', null, h('td', { colspan: 9, class: 'muted' }, 'No steps.')));
      for (const s of list) this.tbody.append(this._row(s));
    }
    for (const s of list) this._fill(s);
  }

  tick(steps) {
    for (const s of steps || []) {
      const r = this.rows.get(s.name);
      if (r && s.status === 'running') r.dur.textContent = fmtDuration(liveDuration(s));
    }
  }

  _row(s) {
    const r = {
      status: h('td', { 'data-label': 'Status' }),
      name: h('td', { 'data-label': 'Step' }),
      kind: h('td', { 'data-label': 'Kind' }, s.kind || '—'),
      needs: h('td', { 'data-label': 'Needs', class: 'small' }, (s.needs || []).join(', ') || '—'),
      attempt: h('td', { 'data-label': 'Attempt', class: 'num' }),
      exit: h('td', { 'data-label': 'Exit', class: 'num mono' }),
      started: h('td', { 'data-label': 'Started' }),
      dur: h('td', { 'data-label': 'Duration', class: 'num' }),
      actions: h('td', { class: 'row-actions' }),
      last: null,
    };
    r.nameBtn = h('button', { type: 'button', class: 'linkish', title: 'Show only this step’s log', onclick: () => this.onFilter(s.name) }, s.name);
    r.msg = h('div', { class: 'small muted step-msg' });
    r.name.append(r.nameBtn, r.msg);
    r.tr = h('tr', { class: 'step-row' }, r.status, r.name, r.kind, r.needs, r.attempt, r.exit, r.started, r.dur, r.actions);
    this.rows.set(s.name, r);
    return r.tr;
  }

  _fill(s) {
    const r = this.rows.get(s.name);
    if (!r) return;
    const ap = s.approval || {};
    const key = `${s.status}|${s.started_at}|${ap.decision}`;
    if (r.last !== key) {
      clear(r.status, badge(s.status));
      r.tr.dataset.status = s.status || '';
      clear(r.started, timeEl(s.started_at));
      clear(r.actions);
      if (s.status === 'waiting_approval') {
        r.actions.append(
          h('button', { type: 'button', class: 'btn btn-sm btn-success', onclick: () => this.onDecide(s, 'approve') }, 'Approve'),
          h('button', { type: 'button', class: 'btn btn-sm btn-danger', onclick: () => this.onDecide(s, 'reject') }, 'Reject'));
      }
      r.last = key;
    }
    r.attempt.textContent = s.attempt ? String(s.attempt) : '—';
    r.exit.textContent = s.exit_code === null || s.exit_code === undefined ? '—' : String(s.exit_code);
    r.exit.classList.toggle('bad', Boolean(s.exit_code));
    r.dur.textContent = fmtDuration(liveDuration(s));
    const notes = [];
    if (s.reused) notes.push('reused from previous run');
    if (s.status === 'waiting_approval' && ap.role) notes.push(`needs a ${ap.role} or above to approve`);
    if (ap.decision) notes.push(`${ap.decision}${ap.decided_by ? ` by ${ap.decided_by}` : ''}${ap.comment ? `: “${ap.comment}”` : ''}`);
    if (s.message && !(ap.decision && s.message.toLowerCase().includes(String(ap.decision).toLowerCase()))) notes.push(s.message);
    r.msg.textContent = notes.join(' · ');
    r.msg.hidden = !notes.length;
  }
}
