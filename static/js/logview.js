// Live log panel: ordered, gap-free, de-duplicated by seq; batched rendering per animation frame;
// DOM capped to the last DOM_CAP lines; per-step filter; server-side search (?q=).
import { h, clear, sleep } from './dom.js';
import { api, seg } from './api.js';

const DOM_CAP = 20000;       // lines kept in the <pre>
const MEM_CAP = 300000;      // lines kept in memory (for re-filtering)
const FRAME_BATCH = 4000;    // lines appended per animation frame
const GAP_PAGE = 5000;
const SEARCH_PAGE = 1000;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07/g;

function cleanText(t) {
  let s = String(t ?? '');
  if (s.endsWith('\n')) s = s.slice(0, s.endsWith('\r\n') ? -2 : -1);
  if (s.includes('\x1b')) s = s.replace(ANSI, '');
  if (s.includes('\r')) s = s.slice(s.lastIndexOf('\r', s.length - 1) + 1) || s.replace(/\r/g, '');
  return s;
}

const streamClass = (stream) => (stream === 'stderr' ? 'ls-err' : stream === 'system' ? 'ls-sys' : null);

export class LogView {
  constructor(executionId) {
    this.id = executionId;
    this.lines = [];
    this.lastSeq = 0;
    this.pending = new Map();
    this.filling = false;
    this.queue = [];
    this.raf = 0;
    this.chunks = []; // [{el, n}]
    this.rendered = 0;
    this.truncated = false;   // DOM shows fewer lines than exist
    this.memTrimmed = false;  // memory dropped old lines
    this.stepFilter = '';
    this.showSteps = true;
    this.stick = true;
    this.destroyed = false;
    this.steps = new Set();
    this.count = 0;
    this._build();
  }

  // ---------- UI ----------
  _build() {
    const logsTxt = `/api/v1/executions/${seg(this.id)}/logs.txt`;
    this.stepSel = h('select', { 'aria-label': 'Filter by step', onchange: () => this.setStepFilter(this.stepSel.value) },
      h('option', { value: '' }, 'All steps'));
    this.stepsToggle = h('input', { type: 'checkbox', checked: true, id: `ls-${this.id}`, onchange: () => { this.showSteps = this.stepsToggle.checked; this.rerender(); } });
    this.wrapToggle = h('input', { type: 'checkbox', id: `lw-${this.id}`, onchange: () => this.pre.classList.toggle('wrap', this.wrapToggle.checked) });
    this.searchInput = h('input', { type: 'search', placeholder: 'Search logs…', 'aria-label': 'Search logs', name: 'q' });
    this.searchForm = h('form', { class: 'log-search', role: 'search', onsubmit: (e) => { e.preventDefault(); this.search(this.searchInput.value.trim()); } },
      this.searchInput, h('button', { class: 'btn btn-sm', type: 'submit' }, 'Search'));
    this.conn = h('span', { class: 'conn', role: 'status' }, '');
    this.counter = h('span', { class: 'muted small' }, '');
    this.toolbar = h('div', { class: 'log-toolbar' },
      this.stepSel,
      h('label', { class: 'check' }, this.stepsToggle, ' step names'),
      h('label', { class: 'check' }, this.wrapToggle, ' wrap'),
      this.searchForm,
      h('span', { class: 'spacer' }),
      this.counter, this.conn,
      h('a', { class: 'btn btn-sm', href: logsTxt, download: `execution-${this.id}.log` }, 'Download'));
    this.notice = h('div', { class: 'log-notice', hidden: true },
      h('span', { class: 'notice-text' }), ' ', h('a', { href: logsTxt, download: `execution-${this.id}.log` }, 'Download the full log'));
    this.pre = h('pre', { class: 'log-pre' });
    this.scroller = h('div', { class: 'log-scroll', tabindex: '0', role: 'log', 'aria-label': 'Execution log', 'aria-live': 'off' }, this.pre);
    this.scroller.addEventListener('scroll', () => this._onScroll(), { passive: true });
    this.jump = h('button', { class: 'btn btn-sm btn-primary log-jump', type: 'button', hidden: true, onclick: () => this.jumpToLatest() }, 'Jump to latest ↓');
    this.results = h('div', { class: 'log-results', hidden: true });
    this.live = h('div', { class: 'log-live' }, this.notice, this.scroller, this.jump);
    this.el = h('div', { class: 'logview' }, this.toolbar, this.results, this.live);
  }

  setConnState(text, kind = '') {
    this.conn.textContent = text;
    this.conn.className = `conn ${kind}`;
  }

  setSteps(names) { for (const n of names) this._addStep(n); }

  _addStep(name) {
    if (!name || this.steps.has(name)) return;
    this.steps.add(name);
    this.stepSel.append(h('option', { value: name }, name));
  }

  setStepFilter(name) {
    this.stepFilter = name || '';
    this.stepSel.value = this.stepFilter;
    this.rerender();
    if (!this.results.hidden && this.lastQuery) this.search(this.lastQuery);
  }

  // ---------- ingestion ----------
  /** Accept one {seq, step, stream, text} line from any source (WS, gap fill, polling). */
  add(line) {
    const seq = Number(line.seq);
    if (!(seq > this.lastSeq) || this.pending.has(seq)) return;
    if (seq === this.lastSeq + 1) {
      this._accept(line);
      if (this.pending.size) this._drain();
      return;
    }
    this.pending.set(seq, line);
    this._fillGap();
  }

  addMany(lines) { for (const l of lines) this.add(l); }

  _drain() {
    let next;
    while ((next = this.pending.get(this.lastSeq + 1))) {
      this.pending.delete(this.lastSeq + 1);
      this._accept(next);
    }
  }

  async _fillGap() {
    if (this.filling || this.destroyed) return;
    this.filling = true;
    let stalls = 0;
    try {
      while (this.pending.size && !this.destroyed) {
        const before = this.lastSeq;
        try {
          const data = await api.get(`/executions/${seg(this.id)}/logs`, { after_seq: this.lastSeq, limit: GAP_PAGE });
          for (const l of data?.lines || []) {
            const s = Number(l.seq);
            if (s > this.lastSeq && !this.pending.has(s)) this.pending.set(s, l);
          }
          this._drain();
        } catch (e) {
          if (e.status === 401 || e.status === 403 || e.status === 404) return;
        }
        if (this.lastSeq === before) {
          stalls += 1;
          if (stalls >= 4) {
            // The missing lines cannot be had: skip to the lowest line we hold so the view never stalls.
            let min = Infinity;
            for (const k of this.pending.keys()) if (k < min) min = k;
            this.lastSeq = min - 1;
            this._drain();
            stalls = 0;
          } else {
            await sleep(400 * stalls);
          }
        } else {
          stalls = 0;
        }
      }
    } finally {
      this.filling = false;
    }
  }

  /** REST catch-up (used by polling fallback). Returns the number of lines fetched. */
  async fetchNew() {
    let total = 0;
    for (;;) {
      const data = await api.get(`/executions/${seg(this.id)}/logs`, { after_seq: this.lastSeq, limit: GAP_PAGE });
      const lines = data?.lines || [];
      this.addMany(lines);
      total += lines.length;
      if (lines.length < GAP_PAGE || this.destroyed) return total;
    }
  }

  _accept(l) {
    const line = { seq: Number(l.seq), step: l.step || '', stream: l.stream || 'stdout', text: cleanText(l.text) };
    this.lastSeq = line.seq;
    this.count += 1;
    this.lines.push(line);
    if (this.lines.length > MEM_CAP) {
      this.lines.splice(0, this.lines.length - MEM_CAP + 20000);
      this.memTrimmed = true;
    }
    if (line.step && !this.steps.has(line.step)) this._addStep(line.step);
    if (!this.stepFilter || line.step === this.stepFilter) {
      this.queue.push(line);
      if (this.queue.length > DOM_CAP * 2) {
        this.queue.splice(0, this.queue.length - DOM_CAP);
        this.truncated = true;
      }
      this._schedule();
    }
  }

  // ---------- rendering ----------
  _schedule() {
    if (!this.raf && !this.destroyed) this.raf = requestAnimationFrame(() => this._flush());
  }

  _fmt(l) {
    return this.showSteps && !this.stepFilter && l.step ? `[${l.step}] ${l.text}` : l.text;
  }

  _resetDom() {
    clear(this.pre);
    this.chunks = [];
    this.rendered = 0;
  }

  _flush() {
    this.raf = 0;
    if (this.destroyed) return;
    if (this.queue.length >= DOM_CAP) {
      // Everything currently shown would be pruned anyway: start over with the newest lines.
      if (this.queue.length > DOM_CAP) this.truncated = true;
      this.queue.splice(0, this.queue.length - DOM_CAP);
      if (this.rendered) this.truncated = true;
      this._resetDom();
    }
    const batch = this.queue.length > FRAME_BATCH ? this.queue.splice(0, FRAME_BATCH) : this.queue.splice(0);
    if (batch.length) {
      const chunk = document.createElement('div');
      chunk.className = 'chunk';
      let cls = null;
      let text = '';
      const emit = () => {
        if (!text) return;
        if (cls) {
          const s = document.createElement('span');
          s.className = cls;
          s.textContent = text;
          chunk.appendChild(s);
        } else {
          chunk.appendChild(document.createTextNode(text));
        }
        text = '';
      };
      for (let i = 0; i < batch.length; i++) {
        const l = batch[i];
        const c = streamClass(l.stream);
        if (c !== cls) { emit(); cls = c; }
        text += (i ? '\n' : '') + this._fmt(l);
      }
      emit();
      this.pre.appendChild(chunk);
      this.chunks.push({ el: chunk, n: batch.length });
      this.rendered += batch.length;
      this._prune();
    }
    this._status();
    if (this.stick) this.scroller.scrollTop = this.scroller.scrollHeight;
    if (this.queue.length) this._schedule();
  }

  _prune() {
    while (this.rendered > DOM_CAP && this.chunks.length > 1) {
      const first = this.chunks.shift();
      const dh = this.stick ? 0 : first.el.offsetHeight;
      first.el.remove();
      this.rendered -= first.n;
      this.truncated = true;
      if (dh) this.scroller.scrollTop -= dh;
    }
  }

  _status() {
    this.counter.textContent = `${this.count.toLocaleString()} lines`;
    const cut = this.truncated || this.memTrimmed;
    this.notice.hidden = !cut;
    if (cut) this.notice.querySelector('.notice-text').textContent = `Showing the last ${this.rendered.toLocaleString()} lines${this.stepFilter ? ` of step ${this.stepFilter}` : ''}.`;
  }

  rerender() {
    this._resetDom();
    const src = this.stepFilter ? this.lines.filter((l) => l.step === this.stepFilter) : this.lines;
    this.truncated = src.length > DOM_CAP || this.memTrimmed;
    this.queue = src.slice(-DOM_CAP);
    this.stick = true;
    this.jump.hidden = true;
    this._status();
    this._schedule();
  }

  _onScroll() {
    const sc = this.scroller;
    const atBottom = sc.scrollHeight - sc.scrollTop - sc.clientHeight < 24;
    this.stick = atBottom;
    this.jump.hidden = atBottom;
  }

  jumpToLatest() {
    this.stick = true;
    this.jump.hidden = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.scroller.focus({ preventScroll: true });
  }

  // ---------- search (server side) ----------
  async search(q) {
    this.lastQuery = q;
    if (!q) { this.closeSearch(); return; }
    this.results.hidden = false;
    clear(this.results, h('div', { class: 'muted' }, 'Searching…'));
    const pre = h('pre', { class: 'log-pre results-pre' });
    let count = 0;
    let after = 0;
    const head = h('div', { class: 'results-head' });
    const more = h('button', { class: 'btn btn-sm', type: 'button', hidden: true, onclick: () => page() });
    const closeBtn = h('button', { class: 'btn btn-sm', type: 'button', onclick: () => this.closeSearch() }, 'Back to live log');
    const page = async () => {
      more.disabled = true;
      try {
        const data = await api.get(`/executions/${seg(this.id)}/logs`, { q, step: this.stepFilter || undefined, after_seq: after || undefined, limit: SEARCH_PAGE });
        if (this.lastQuery !== q) return;
        const lines = data?.lines || [];
        const frag = document.createDocumentFragment();
        for (const l of lines) frag.append(this._resultLine(l, q));
        pre.append(frag);
        count += lines.length;
        if (lines.length) after = Number(lines[lines.length - 1].seq);
        head.textContent = `${count.toLocaleString()} matching line${count === 1 ? '' : 's'} for “${q}”${this.stepFilter ? ` in ${this.stepFilter}` : ''}`;
        more.hidden = lines.length < SEARCH_PAGE;
        more.textContent = 'Load more matches';
      } catch (e) {
        head.textContent = `Search failed: ${e.detail || e.message}`;
      } finally {
        more.disabled = false;
      }
    };
    clear(this.results, h('div', { class: 'results-bar' }, head, h('span', { class: 'spacer' }), closeBtn), pre, more);
    this.live.hidden = true;
    await page();
  }

  _resultLine(l, q) {
    const row = h('div', { class: `rline ${streamClass(l.stream) || ''}` }, h('span', { class: 'rseq' }, `${l.seq} `), l.step ? h('span', { class: 'rstep' }, `[${l.step}] `) : null);
    const text = cleanText(l.text);
    const lower = text.toLowerCase();
    const ql = q.toLowerCase();
    let i = 0;
    for (let j = lower.indexOf(ql); j >= 0 && ql; j = lower.indexOf(ql, i)) {
      if (j > i) row.append(text.slice(i, j));
      row.append(h('mark', null, text.slice(j, j + q.length)));
      i = j + q.length;
    }
    row.append(text.slice(i));
    return row;
  }

  closeSearch() {
    this.lastQuery = '';
    this.searchInput.value = '';
    this.results.hidden = true;
    clear(this.results);
    this.live.hidden = false;
    if (this.stick) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  destroy() {
    this.destroyed = true;
    if (this.raf) cancelAnimationFrame(this.raf);
    this.queue = [];
    this.pending.clear();
  }
}
