// /ws/notifications -> toasts. Message shapes beyond `type` are not fixed by the contract,
// so this reads the common fields defensively.
import { LiveSocket, wsUrl } from './ws.js';
import { toast } from './ui.js';
import { shortId } from './dom.js';

let sock = null;

const KIND = { success: 'success', failed: 'error', timed_out: 'error', cancelled: 'info', waiting_approval: 'warn' };

function describe(msg) {
  const status = msg.status || msg.execution?.status;
  const execId = msg.execution_id || msg.execution?.id;
  const what = msg.pipeline_name ? `${msg.pipeline_name}${msg.number ? ` #${msg.number}` : ''}` : execId ? `run ${shortId(execId)}` : '';
  let title = msg.title;
  let text = msg.message || msg.detail || msg.text || '';
  if (!title) {
    if (/approval/.test(msg.type || '') || status === 'waiting_approval') title = 'Approval requested';
    else if (msg.type === 'execution.status' || /finished|execution/.test(msg.type || '')) title = `Run ${String(status || 'updated').replace(/_/g, ' ')}`;
    else title = String(msg.type || 'Notification').replace(/[._]/g, ' ');
  }
  if (!text) text = [what, msg.step ? `step ${msg.step}` : '', status && !/approval/i.test(title) && !title.includes(String(status).replace(/_/g, ' ')) ? String(status).replace(/_/g, ' ') : ''].filter(Boolean).join(' · ');
  return { title, text, execId, kind: KIND[status] || (msg.level === 'error' ? 'error' : 'info') };
}

export function startNotifications() {
  if (sock) return;
  sock = new LiveSocket({
    url: () => wsUrl('/ws/notifications'),
    maxFailures: Infinity,
    maxDelay: 60000,
    onMessage: (msg) => {
      if (!msg || msg.type === 'heartbeat' || msg.type === 'snapshot' || msg.type === 'metrics') return;
      const d = describe(msg);
      toast(d.text, { title: d.title, kind: d.kind, href: d.execId ? `#/executions/${d.execId}` : '', linkText: 'View run', timeout: d.kind === 'warn' ? 15000 : 8000 });
    },
  }).start();
}

export function stopNotifications() {
  if (sock) { sock.stop(); sock = null; }
}
