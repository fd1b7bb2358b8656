// Monitor: KPI tiles (overview on load, then /ws/monitor metrics every 2 s) and a live event feed.
import { h, clear, badge, fmtBytes, fmtNum, shortId, sleep } from '../dom.js';
import { api } from '../api.js';
import { pageHeader, section, table, errorBox } from '../components.js';
import { LiveSocket, wsUrl } from '../ws.js';

const SVG = 'http://www.w3.org/2000/svg';
const HISTORY = 90;
const FEED_MAX = 200;

function norm(m) {
  const queues = Array.isArray(m.queues) ? m.queues : [];
  return {
    running: m.executions?.running ?? m.running_executions,
    queued: m.executions?.queued ?? m.queued_executions,
    depth: m.queue_depth ?? queues.reduce((a, q) => a + (Number(q.depth) || 0), 0),
    ws: m.websockets?.connections ?? m.websocket_connections,
    cpu: m.system?.cpu_percent ?? m.cpu_percent,
    mem: m.system?.memory_bytes ?? m.memory_bytes,
    lat: m.latency_ms || {},
    cache: m.cache || (m.cache_hit_ratio !== undefined ? { hit_ratio: m.cache_hit_ratio } : {}),
    db: m.db || {},
    queues,
    targets: m.targets,
  };
}

function sparkline(values) {
  const w = 120, hgt = 28;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('aria-hidden', 'true');
  const nums = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (nums.length < 2) return svg;
  const max = Math.max(...nums), min = Math.min(...nums, 0);
  const span = max - min || 1;
  const offset = HISTORY - values.length;
  const pts = [];
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    const x = ((i + offset) / (HISTORY - 1)) * w;
    const y = hgt - 2 - ((v - min) / span) * (hgt - 4);
    pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
  });
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', pts.join(' '));
  line.setAttribute('fill', 'none');
  svg.append(line);
  return svg;
}

export default async function monitorView(root, ctx) {
  document.title = 'Monitor · AnsFlow';
  const tiles = h('div', { class: 'tiles' });
  const queuesBox = h('div');
  const conn = h('span', { class: 'conn', role: 'status' }, 'connecting…');
  const feedBody = h('tbody');
  let paused = false;
  const pauseBtn = h('button', { type: 'button', class: 'btn btn-sm', 'aria-pressed': 'false', onclick: () => { paused = !paused; pauseBtn.textContent = paused ? 'Resume' : 'Pause'; pauseBtn.setAttribute('aria-pressed', String(paused)); } }, 'Pause');
  const feed = h('div', { class: 'table-wrap feed' }, h('table', { class: 'table' },
    h('thead', null, h('tr', null, ['Time', 'Event', 'Status', 'Run', 'Step'].map((t) => h('th', { scope: 'col' }, t)))), feedBody));
  const emptyRow = h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'Waiting for events…'));
  feedBody.append(emptyRow);

  root.append(
    pageHeader('Monitor', { actions: [conn] }),
    section('Key indicators', h('div', null, tiles)),
    section('Queues', queuesBox),
    section('Live events', feed, { actions: [pauseBtn, h('button', { type: 'button', class: 'btn btn-sm', onclick: () => { clear(feedBody, emptyRow); } }, 'Clear')] }));

  let targets = { api_ms: 100, db_connections: 50, cache_hit_ratio: 0.8, queue_latency_ms: 5000 };
  const hist = { running: [], queued: [], depth: [], ws: [], cpu: [], mem: [], p95: [], hit: [], db: [] };
  const push = (k, v) => { hist[k].push(v === undefined || v === null ? null : Number(v)); if (hist[k].length > HISTORY) hist[k].shift(); };

  function tile(label, value, sub, key, state) {
    return h('div', { class: `tile${state ? ` tile-${state}` : ''}` },
      h('div', { class: 'tile-label' }, label),
      h('div', { class: 'tile-value' }, value),
      sub ? h('div', { class: 'tile-sub' }, sub) : null,
      key ? sparkline(hist[key]) : null);
  }

  function apply(raw) {
    const m = norm(raw);
    if (m.targets) targets = { ...targets, ...m.targets };
    push('running', m.running); push('queued', m.queued); push('depth', m.depth); push('ws', m.ws);
    push('cpu', m.cpu); push('mem', m.mem); push('p95', m.lat.p95); push('hit', m.cache.hit_ratio); push('db', m.db.connections_in_use);
    const latState = m.lat.p95 === undefined ? '' : m.lat.p95 <= targets.api_ms ? 'ok' : 'bad';
    const hitState = m.cache.hit_ratio === undefined || m.cache.hit_ratio === null ? '' : m.cache.hit_ratio >= targets.cache_hit_ratio ? 'ok' : 'bad';
    const dbState = m.db.connections_in_use === undefined ? '' : m.db.connections_in_use <= targets.db_connections ? 'ok' : 'bad';
    const qLat = m.queues.reduce((a, q) => Math.max(a, Number(q.latency_ms?.p99) || 0), 0);
    clear(tiles, 
      tile('Running executions', fmtNum(m.running), null, 'running'),
      tile('Queued executions', fmtNum(m.queued), null, 'queued'),
      tile('Queue depth', fmtNum(m.depth), m.queues.length ? `${m.queues.length} queue(s) · p99 wait ${fmtNum(qLat, 0)} ms (target ≤ ${fmtNum(targets.queue_latency_ms)} ms)` : null, 'depth', m.queues.length ? (qLat <= targets.queue_latency_ms ? 'ok' : 'bad') : ''),
      tile('WebSocket connections', fmtNum(m.ws), null, 'ws'),
      tile('API latency p95', m.lat.p95 === undefined ? '—' : `${fmtNum(m.lat.p95)} ms`, `p50 ${fmtNum(m.lat.p50)} · p99 ${fmtNum(m.lat.p99)} ms · target ≤ ${fmtNum(targets.api_ms)} ms`, 'p95', latState),
      tile('Cache hit ratio', m.cache.hit_ratio === undefined || m.cache.hit_ratio === null ? '—' : `${(m.cache.hit_ratio * 100).toFixed(1)} %`,
        `${m.cache.hits !== undefined ? `${fmtNum(m.cache.hits)} hits · ${fmtNum(m.cache.misses)} misses · ` : ''}target ≥ ${(targets.cache_hit_ratio * 100).toFixed(0)} %`, 'hit', hitState),
      tile('DB connections', m.db.connections_in_use === undefined ? '—' : fmtNum(m.db.connections_in_use), `${m.db.pool_size !== undefined ? `pool ${fmtNum(m.db.pool_size)} · ` : ''}target ≤ ${fmtNum(targets.db_connections)}`, 'db', dbState),
      tile('CPU', m.cpu === undefined ? '—' : `${fmtNum(m.cpu)} %`, null, 'cpu'),
      tile('Memory', fmtBytes(m.mem), null, 'mem'));
    clear(queuesBox, m.queues.length ? table([
      { title: 'Queue', render: (q) => h('code', null, q.name) },
      { title: 'Depth', class: 'num', render: (q) => fmtNum(q.depth) },
      { title: 'Wait p50', class: 'num', render: (q) => `${fmtNum(q.latency_ms?.p50)} ms` },
      { title: 'Wait p99', class: 'num', render: (q) => h('span', { class: Number(q.latency_ms?.p99) > targets.queue_latency_ms ? 'bad-text' : '' }, `${fmtNum(q.latency_ms?.p99)} ms`) },
    ], m.queues) : h('p', { class: 'muted' }, 'No queue data.'));
  }

  function addEvent(msg) {
    if (paused) return;
    if (emptyRow.isConnected) emptyRow.remove();
    const t = msg.ts ? new Date(msg.ts) : new Date();
    feedBody.prepend(h('tr', { class: 'feed-row' },
      h('td', { class: 'mono small' }, t.toLocaleTimeString()),
      h('td', null, msg.type),
      h('td', null, badge(msg.status)),
      h('td', null, msg.execution_id ? h('a', { href: `#/executions/${msg.execution_id}`, class: 'mono' }, shortId(msg.execution_id)) : '—'),
      h('td', null, msg.step ? h('code', null, msg.step) : '')));
    while (feedBody.childElementCount > FEED_MAX) feedBody.lastElementChild.remove();
  }

  try {
    apply(await api.get('/monitoring/overview', null, { signal: ctx.signal }));
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    tiles.append(errorBox(e));
  }

  let polling = false;
  const sock = new LiveSocket({
    url: () => wsUrl('/ws/monitor'),
    onMessage: (msg) => {
      if (msg.type === 'metrics') apply(msg.data || msg.metrics || msg);
      else if (msg.type === 'execution.status' || msg.type === 'step.status') addEvent(msg);
    },
    onState: (s, info) => {
      if (s === 'open') { conn.textContent = '● live'; conn.className = 'conn ok'; }
      else if (s === 'retrying') { conn.textContent = `reconnecting in ${Math.round(info.in / 1000)} s…`; conn.className = 'conn warn'; }
    },
    onGiveUp: async () => {
      polling = true;
      conn.textContent = 'polling (WebSocket unavailable)';
      conn.className = 'conn warn';
      while (polling && ctx.alive()) {
        await sleep(2000);
        try { apply(await api.get('/monitoring/overview', null, { signal: ctx.signal })); } catch { /* keep trying */ }
      }
    },
  }).start();
  ctx.onCleanup(() => { polling = false; sock.stop(); });
}
