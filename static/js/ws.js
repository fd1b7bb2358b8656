// Reconnecting WebSocket with backoff, heartbeat watchdog and a give-up hook for fallbacks.
import { qs, notifyUnauthorized } from './api.js';

export function wsUrl(path, query) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${path}${qs(query)}`;
}

export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_NOT_FOUND = 4404;

/**
 * opts: url() -> string (called on every connect, so it can carry after_seq),
 *       onMessage(msg), onOpen(), onState(state: 'connecting'|'open'|'retrying'|'closed', info),
 *       onClose(event) -> false to stop reconnecting,
 *       onGiveUp() after maxFailures consecutive connections that never delivered a message,
 *       heartbeatMs: close and reconnect when silent this long (server beats every 15 s).
 */
export class LiveSocket {
  constructor(opts) {
    this.o = { maxFailures: 4, heartbeatMs: 40000, maxDelay: 30000, ...opts };
    this.ws = null;
    this.failures = 0;
    this.delay = 1000;
    this.stopped = true;
    this.timer = 0;
    this.watchdog = 0;
  }

  start() {
    this.stopped = false;
    this.failures = 0;
    this.delay = 1000;
    this._connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    const ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(1000, 'client leaving'); } catch { /* ignore */ } }
    this._state('closed');
  }

  _state(s, info) { if (this.o.onState) this.o.onState(s, info); }

  _connect() {
    if (this.stopped) return;
    this._state('connecting');
    let ws;
    try {
      ws = new WebSocket(this.o.url());
    } catch (e) {
      this._afterClose({ code: 1006, reason: String(e) }, false);
      return;
    }
    this.ws = ws;
    this.delivered = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this._arm(ws);
      this._state('open');
      if (this.o.onOpen) this.o.onOpen();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.delivered = true;
      this.failures = 0;
      this.delay = 1000;
      this._arm(ws);
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg && msg.type === 'heartbeat') return;
      try { this.o.onMessage(msg); } catch (e) { console.error(e); }
    };
    ws.onerror = () => { /* a close event follows */ };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.watchdog);
      this._afterClose(ev, this.delivered);
    };
  }

  _afterClose(ev, delivered) {
    if (this.stopped) return;
    if (ev.code === CLOSE_UNAUTHENTICATED) {
      this.stopped = true;
      this._state('closed', ev);
      notifyUnauthorized();
      return;
    }
    if (this.o.onClose && this.o.onClose(ev) === false) {
      this.stopped = true;
      this._state('closed', ev);
      return;
    }
    if (!delivered) this.failures += 1;
    if (this.failures >= this.o.maxFailures && this.o.onGiveUp) {
      this.stopped = true;
      this._state('closed', ev);
      this.o.onGiveUp();
      return;
    }
    const wait = this.delay * (0.8 + Math.random() * 0.4);
    this.delay = Math.min(this.delay * 2, this.o.maxDelay);
    this._state('retrying', { in: wait, code: ev.code });
    this.timer = setTimeout(() => this._connect(), wait);
  }

  _arm(ws) {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (this.ws !== ws) return;
      this.ws = null; // detach first: a dead connection may take long to report its close
      try { ws.close(4000, 'heartbeat timeout'); } catch { /* ignore */ }
      this._afterClose({ code: 4000, reason: 'heartbeat timeout' }, this.delivered);
    }, this.o.heartbeatMs);
  }
}
