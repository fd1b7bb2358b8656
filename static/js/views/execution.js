// Execution page: header, steps, actions, and the live log over WebSocket (REST polling fallback).
import { h, clear, badge, fmtDuration, liveDuration, timeEl, isFinal, debounce, sleep, shortId } from '../dom.js';
import { api, seg } from '../api.js';
import { pageHeader, section, dl, loading } from '../components.js';
import { LiveSocket, wsUrl, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND } from '../ws.js';
import { LogView } from '../logview.js';
import { StepTable } from './steps.js';
import { toast, toastError, confirmDialog, promptDialog } from '../ui.js';
import { navigate } from '../router.js';

const EXEC_FINAL = new Set(['success', 'failed', 'cancelled', 'timed_out']);

export default async function executionView(root, ctx) {
  const id = ctx.params.id;
  root.append(loading());
  let exec = await api.get(`/executions/${seg(id)}`, null, { signal: ctx.signal });
  const [pipeline, project] = await Promise.all([
    api.get(`/pipelines/${seg(exec.pipeline_id)}`, null, { signal: ctx.signal }).catch(() => null),
    api.get(`/projects/${seg(exec.project_id)}`, null, { signal: ctx.signal }).catch(() => null),
  ]);
  const pname = pipeline?.name || exec.pipeline_name || `pipeline ${shortId(exec.pipeline_id)}`;

  const headActions = h('div', { class: 'page-actions' });
  const summary = h('div', { class: 'exec-summary' });
  const logview = new LogView(id);
  const steps = new StepTable({
    onFilter: (name) => { logview.setStepFilter(name); logview.el.scrollIntoView({ block: 'nearest' }); },
    onDecide: decide,
  });
  const head = pageHeader(`${pname} #${exec.number ?? ''}`, {
    crumbs: [['Projects', '#/projects'], [project?.name || 'Project', `#/projects/${exec.project_id}`], [pname, `#/pipelines/${exec.pipeline_id}`], [`#${exec.number ?? shortId(id)}`]],
  });
  head.querySelector('.page-title-row').append(headActions);
  clear(root, head, section('Summary', summary), section('Steps', steps.el), section('Log', logview.el, { id: 'log' }));
  logview.setSteps((exec.steps || []).map((s) => s.name));

  function render() {
    document.title = `#${exec.number} ${exec.status} · ${pname} · AnsFlow`;
    clear(summary, 
      h('div', { class: 'exec-status' }, badge(exec.status), exec.status === 'queued' && exec.queue_position ? h('span', { class: 'muted' }, ` position ${exec.queue_position} in queue`) : null),
      exec.status === 'queued' && exec.queue_reason ? h('div', { class: 'alert alert-info' }, exec.queue_reason) : null,
      exec.message ? h('div', { class: `alert ${exec.status === 'failed' || exec.status === 'timed_out' ? 'alert-error' : 'alert-info'}` }, exec.message) : null,
      dl([
        ['Number', `#${exec.number ?? '—'}`],
        ['Trigger', exec.trigger || '—'],
        ['Priority', exec.priority || '—'],
        ['Ref', exec.ref ? h('code', null, exec.ref) : '—'],
        ['Pipeline version', exec.pipeline_version != null ? `v${exec.pipeline_version}` : '—'],
        ['Created', timeEl(exec.created_at)],
        ['Started', timeEl(exec.started_at)],
        ['Finished', timeEl(exec.finished_at)],
        ['Duration', h('span', { class: 'exec-duration' }, fmtDuration(liveDuration(exec)))],
        exec.variables && Object.keys(exec.variables).length ? ['Variables', h('code', { class: 'small' }, Object.entries(exec.variables).map(([k, v]) => `${k}=${v}`).join('  '))] : null,
        exec.retry_of ? ['Retry of', h('a', { href: `#/executions/${exec.retry_of}` }, shortId(exec.retry_of))] : null,
      ]));
    steps.update(exec.steps);
    renderActions();
  }

  let lastActionKey = '';
  function renderActions() {
    const final = EXEC_FINAL.has(exec.status);
    const key = `${final}|${exec.status}`;
    if (key === lastActionKey) return;
    lastActionKey = key;
    clear(headActions);
    if (!final) headActions.append(h('button', { type: 'button', class: 'btn btn-danger', onclick: cancel }, 'Cancel'));
    if (final && exec.status !== 'success') headActions.append(h('button', { type: 'button', class: 'btn btn-primary', onclick: () => retry('failed') }, 'Retry failed'));
    if (final) headActions.append(h('button', { type: 'button', class: 'btn', onclick: () => retry('start') }, 'Retry from start'));
  }

  async function cancel() {
    if (!(await confirmDialog('Running processes will be killed and pending steps cancelled.', { title: `Cancel run #${exec.number}?`, okText: 'Cancel run', danger: true }))) return;
    try {
      await api.post(`/executions/${seg(id)}/cancel`);
      toast('Cancellation requested.', { kind: 'info' });
      refresh();
    } catch (e) { toastError(e, 'Could not cancel'); }
  }

  async function retry(from) {
    try {
      const created = await api.post(`/executions/${seg(id)}/retry`, { from });
      toast(`Run #${created.number ?? ''} queued.`, { kind: 'success' });
      navigate(`/executions/${created.id}`);
    } catch (e) { toastError(e, 'Could not retry'); }
  }

  async function decide(step, verb) {
    const comment = await promptDialog({
      title: `${verb === 'approve' ? 'Approve' : 'Reject'} “${step.name}”`,
      label: 'Comment (optional)', okText: verb === 'approve' ? 'Approve' : 'Reject', danger: verb === 'reject',
    });
    if (comment === null) return;
    try {
      await api.post(`/executions/${seg(id)}/steps/${seg(step.name)}/${verb}`, comment.trim() ? { comment: comment.trim() } : {});
      toast(`Step ${step.name} ${verb === 'approve' ? 'approved' : 'rejected'}.`, { kind: 'success' });
      refresh();
    } catch (e) { toastError(e, `Could not ${verb}`); }
  }

  const refresh = debounce(async () => {
    try {
      const fresh = await api.get(`/executions/${seg(id)}`, null, { signal: ctx.signal });
      if (ctx.alive()) { exec = fresh; render(); }
    } catch { /* keep live state */ }
  }, 400);

  // ---------- live events ----------
  let finalSeen = false;
  function onMessage(msg) {
    switch (msg.type) {
      case 'log':
        logview.add(msg);
        break;
      case 'snapshot':
        if (msg.execution) { exec = msg.execution; render(); }
        break;
      case 'execution.status':
        if (msg.execution_id && msg.execution_id !== id) break;
        exec.status = msg.status;
        if (EXEC_FINAL.has(msg.status)) { finalSeen = true; exec.finished_at = exec.finished_at || msg.ts; }
        if (msg.status === 'running' && !exec.started_at) exec.started_at = msg.ts;
        render();
        refresh();
        break;
      case 'step.status': {
        const s = (exec.steps || []).find((x) => x.name === msg.step);
        if (!s) { refresh(); break; }
        s.status = msg.status;
        if (msg.attempt !== undefined) s.attempt = msg.attempt;
        if (msg.exit_code !== undefined) s.exit_code = msg.exit_code;
        if (msg.status === 'running') { s.started_at = s.started_at && s.finished_at == null ? s.started_at : msg.ts; s.finished_at = null; }
        if (isFinal(msg.status)) s.finished_at = msg.ts;
        steps.update(exec.steps);
        refresh();
        break;
      }
      default:
        break;
    }
  }

  // While the socket is down, keep the page current over REST (dedupe by seq makes overlap harmless).
  let catching = false;
  async function catchUp() {
    if (catching || polling) return;
    catching = true;
    try { await logview.fetchNew(); refresh(); } catch { /* the socket retry or polling takes over */ } finally { catching = false; }
  }

  let polling = false;
  const sock = new LiveSocket({
    url: () => wsUrl(`/ws/executions/${encodeURIComponent(id)}`, { after_seq: logview.lastSeq }),
    onMessage,
    onState: (s, info) => {
      if (s === 'open') logview.setConnState('● live', 'ok');
      else if (s === 'connecting') logview.setConnState('connecting…', '');
      else if (s === 'retrying') {
        logview.setConnState(`reconnecting in ${Math.round(info.in / 1000)} s…`, 'warn');
        catchUp();
      }
    },
    onClose: (ev) => {
      if (ev.code === CLOSE_FORBIDDEN || ev.code === CLOSE_NOT_FOUND) {
        logview.setConnState(ev.code === CLOSE_FORBIDDEN ? 'not allowed' : 'not found', 'bad');
        return false;
      }
      if (finalSeen || (ev.code === 1000 && EXEC_FINAL.has(exec.status))) { logview.setConnState('complete', ''); return false; }
      return true;
    },
    maxFailures: 3,
    onGiveUp: () => { polling = true; poll(); },
  });
  sock.start();
  ctx.onCleanup(() => { sock.stop(); polling = false; logview.destroy(); refresh.cancel(); });

  async function poll() {
    logview.setConnState('polling (WebSocket unavailable)', 'warn');
    while (polling && ctx.alive()) {
      try {
        await logview.fetchNew();
        const fresh = await api.get(`/executions/${seg(id)}`, null, { signal: ctx.signal });
        exec = fresh;
        render();
        if (EXEC_FINAL.has(exec.status) && (await logview.fetchNew()) === 0) {
          logview.setConnState('complete', '');
          polling = false;
          break;
        }
      } catch (e) {
        if (e.name === 'AbortError') return;
        logview.setConnState('polling: server unreachable, retrying', 'bad');
      }
      await sleep(2000);
    }
  }

  // Live durations, and queue position for queued runs (not pushed as events).
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    if (EXEC_FINAL.has(exec.status)) return;
    const d = summary.querySelector('.exec-duration');
    if (d) d.textContent = fmtDuration(liveDuration(exec));
    steps.tick(exec.steps);
    if (exec.status === 'queued' && ticks % 5 === 0) refresh();
  }, 1000);
  ctx.onCleanup(() => clearInterval(timer));

  render();
}
