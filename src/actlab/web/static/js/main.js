// The playground page: state (mirrored in the URL), the WebSocket to the server, controls and rendering.
import { decode, heatmap, points, lossChart, activationPlot, featureSpace } from './draw.js';

const $ = id => document.getElementById(id);
const DATASETS = ['circle', 'xor', 'gaussian', 'spiral', 'periodic', 'linear', 'plane', 'multi_gaussian'];
const REGRESSION = new Set(['plane', 'multi_gaussian']);
const FEATURES = [['x1', 'X₁'], ['x2', 'X₂'], ['x1sq', 'X₁²'], ['x2sq', 'X₂²'], ['x1x2', 'X₁X₂'], ['sinx1', 'sin(X₁)'], ['sinx2', 'sin(X₂)']];
const RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const DEFAULT = {
  dataset: 'circle', noise: 0, ratio: 50, batch: 10, lr: 0.03, reg: 'none', regRate: 0,
  features: ['x1', 'x2'], layers: [['tanh', 'tanh', 'tanh', 'tanh'], ['tanh', 'tanh', 'tanh', 'tanh']],
  loss: 'cross_entropy', compare: null, seed: 0, discretize: false, showTest: false,
};
const CLIENT_ONLY = ['discretize', 'showTest'];
const MAX_LAYERS = 6, MAX_NEURONS = 8;

let state = readUrl();
let socket = null, session = null, data = null, grid = 20, frame = null, playing = false;
let activations = [];
let selected = null; // [layer, unit]
// Every state sent carries a sequence number; the server answers each one (state_ok or error) with it, in order.
// `state` is what the user asked for (newest); `accepted` what the server runs (its last accepted state).
let seq = 0, answered = 0; // the last state sent, the last one the server answered
const sent = new Map(); // seq → the server fields of that state, until answered
let accepted = null;
let histories = [[], []];
window.playground = {
  get state() { return state; }, get frame() { return frame; }, get session() { return session; }, get histories() { return histories; },
  get data() { return data; }, get accepted() { return accepted; }, get pending() { return seq - answered; },
};

// ---------------------------------------------------------------- URL
function readUrl() {
  const s = structuredClone(DEFAULT);
  const params = new URLSearchParams(location.hash.slice(1));
  for (const [key, raw] of params) {
    if (!(key in DEFAULT)) continue;
    try {
      if (['features', 'layers', 'compare'].includes(key)) s[key] = JSON.parse(raw);
      else if (['dataset', 'reg', 'loss'].includes(key)) s[key] = raw;
      else if (CLIENT_ONLY.includes(key)) s[key] = raw === '1';
      else s[key] = Number(raw);
    } catch { if (key === 'compare') s.compare = raw || null; /* a bare name; any other broken field keeps its default */ }
  }
  if (s.dataset === 'upload') s.dataset = 'circle'; // uploaded data does not live in the URL
  return s;
}

function writeUrl() {
  const p = new URLSearchParams();
  for (const key of Object.keys(DEFAULT)) {
    const v = state[key];
    if (['features', 'layers', 'compare'].includes(key)) p.set(key, JSON.stringify(v));
    else if (CLIENT_ONLY.includes(key)) p.set(key, v ? '1' : '0');
    else p.set(key, String(v));
  }
  history.replaceState(null, '', '#' + p.toString());
}

function serverState() {
  const s = {};
  for (const key of Object.keys(DEFAULT)) if (!CLIENT_ONLY.includes(key)) s[key] = state[key];
  return s;
}

// ---------------------------------------------------------------- socket
function connect() {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  socket = new WebSocket(url);
  socket.onmessage = event => handle(JSON.parse(event.data));
  socket.onclose = () => showError('connection to the server closed; reload the page');
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

// A user's change: a new state version for the server (the whole state; the server diffs it).
// `keepError`: an internal re-send, which leaves a shown refusal on screen.
function pushState(keepError = false) {
  writeUrl();
  if (!keepError) hideError();
  if (!socket || socket.readyState !== WebSocket.OPEN) return; // `hello` sends the state once connected
  seq += 1;
  const s = serverState();
  sent.set(seq, structuredClone(s));
  document.body.dataset.synced = '0';
  send({ type: 'state', seq, state: s });
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Take the server's (canonical) state as ours, but only when no newer change of ours is on its way:
// an answer to an older version must not undo what the user did since.
function adopt(serverFields, version) {
  if (version !== seq) return false;
  const next = { ...state, ...serverFields, discretize: state.discretize, showTest: state.showTest };
  if (same(next, state)) return false;
  state = next; writeUrl(); syncControls();
  return true;
}

function answer(version) {
  answered = Math.max(answered, version);
  for (const k of sent.keys()) if (k <= version) sent.delete(k);
  document.body.dataset.synced = answered === seq ? '1' : '0';
}

function handle(m) {
  if (m.type === 'hello') { session = m.session; setExportLinks(); pushState(); }
  else if (m.type === 'data') onData(m);
  else if (m.type === 'frame') onFrame(m);
  else if (m.type === 'status') setPlaying(m.playing);
  else if (m.type === 'error') onError(m);
  else if (m.type === 'state_ok') onAccepted(m);
}

function onAccepted(m) {
  accepted = m.state;
  if (adopt(m.state, m.seq)) buildNetwork();
  answer(m.seq);
}

// The server refused state version m.seq (or dropped it: m.retry).  Undo only that version's change of the
// refused field (every field it changed, when the server names none), and only where the user has not changed
// it again since; later versions sent on top of the refused one are re-sent without it.
function onError(m) {
  if (m.field === 'layers' && selected) { $('unit-error').textContent = m.message; $('unit-error').hidden = false; }
  else showError(m.message);
  if (m.seq === undefined || m.seq === null) return; // not about a state (a bad message, an idle session)
  const refused = sent.get(m.seq);
  answer(m.seq);
  if (m.retry) { // dropped by the rate limit, not judged: send the newest state again a little later
    if (m.seq === seq) { document.body.dataset.synced = '0'; setTimeout(() => { if (answered === seq) pushState(true); }, 500); }
    return;
  }
  if (!refused || !accepted) return;
  const fields = m.field in refused ? [m.field] : Object.keys(refused).filter(k => !same(refused[k], accepted[k]));
  let undone = false;
  for (const k of fields) {
    if (same(state[k], refused[k]) && !same(state[k], accepted[k])) { state[k] = structuredClone(accepted[k]); undone = true; }
  }
  if (!undone) return;
  if (selected && !state.layers[selected[0]]?.[selected[1]]) selected = null;
  writeUrl(); syncControls(); buildNetwork();
  if (!same(serverState(), accepted)) pushState(true); // the user's other changes, without the refused one
  else document.body.dataset.synced = answered === seq ? '1' : '0';
}
function showError(text) { $('status-error').textContent = text; $('status-error').hidden = false; }
function hideError() { $('status-error').hidden = true; }

// ---------------------------------------------------------------- data + net layout
// New data and nets.  m.seq: the state version that caused it; none when the server started it
// (the first data set, reset, regenerate, an upload).
function onData(m) {
  data = m.data; grid = m.grid;
  frame = null; // the last frame belongs to the old net; the new net's first frame follows
  if (m.seq === undefined || m.seq === null) {
    accepted = m.state;
    adopt(m.state, answered); // only when nothing of ours is pending
  } else adopt(m.state, m.seq);
  histories = [[], []];
  syncControls();
  buildFeatures(m.features);
  buildNetwork();
}

function buildFeatures(maps) {
  const box = $('features'); box.innerHTML = '';
  for (const [name, label] of FEATURES) {
    const on = state.features.includes(name);
    const div = document.createElement('div');
    div.className = 'feature ' + (on ? 'on' : 'off'); div.dataset.feature = name;
    const c = document.createElement('canvas'); c.width = c.height = grid; c.id = 'feature-' + name;
    heatmap(c, decode(maps[name]), grid);
    div.append(c, document.createTextNode(label));
    div.onclick = () => {
      const f = state.features.includes(name) ? state.features.filter(x => x !== name) : [...state.features, name];
      if (!f.length) return showError('keep at least one input feature');
      state.features = f; pushState();
    };
    box.append(div);
  }
}

function actOptions(select, { extra = [] } = {}) {
  select.innerHTML = '';
  for (const [value, label] of extra) select.add(new Option(label, value));
  for (const a of activations) select.add(new Option(a.name, a.name));
}

function buildNetwork() {
  const box = $('layers'); box.innerHTML = '';
  $('layer-count').textContent = state.layers.length;
  state.layers.forEach((units, i) => {
    const col = document.createElement('div'); col.className = 'layer'; col.dataset.layer = i;
    const head = document.createElement('div'); head.className = 'layer-head';
    const plus = document.createElement('button'); plus.textContent = '+'; plus.className = 'add-neuron';
    const minus = document.createElement('button'); minus.textContent = '−'; minus.className = 'remove-neuron';
    plus.onclick = () => { if (units.length < MAX_NEURONS) { units.push(units[units.length - 1]); pushState(); } };
    minus.onclick = () => { if (units.length > 1) { units.pop(); if (selected && selected[0] === i && selected[1] >= units.length) selected = null; pushState(); } };
    const sel = document.createElement('select'); sel.className = 'layer-act';
    const same = units.every(u => u === units[0]);
    actOptions(sel, { extra: same && !units[0].startsWith('f:') ? [] : [['', same ? 'formula' : 'mixed']] });
    sel.value = same && !units[0].startsWith('f:') ? units[0] : '';
    sel.onchange = () => { if (sel.value) { state.layers[i] = units.map(() => sel.value); pushState(); } };
    const count = document.createElement('span'); count.textContent = `${units.length} neurons`;
    const buttons = document.createElement('div'); buttons.append(plus, minus);
    head.append(buttons, count, sel);
    col.append(head);
    units.forEach((u, j) => {
      const c = document.createElement('canvas'); c.width = c.height = grid;
      c.className = 'neuron' + (u.startsWith('f:') ? ' custom' : '');
      c.id = `neuron-${i}-${j}`; c.title = `layer ${i + 1}, neuron ${j + 1}: ${u.startsWith('f:') ? u.slice(2) : u}`;
      if (selected && selected[0] === i && selected[1] === j) c.classList.add('selected');
      c.onclick = () => selectUnit(i, j);
      col.append(c);
    });
    box.append(col);
  });
  const out = document.createElement('div'); out.className = 'layer'; out.dataset.layer = 'out';
  const o = document.createElement('canvas'); o.width = o.height = 8; o.className = 'neuron'; o.id = 'neuron-out'; o.style.visibility = 'hidden';
  const head = document.createElement('div'); head.className = 'layer-head'; head.innerHTML = '<span>output</span>';
  out.append(head, o); box.append(out);
  if (frame) drawFrame();
}

function links(net) {
  const svg = $('links'), base = $('network').getBoundingClientRect();
  const centre = el => { const r = el.getBoundingClientRect(); return [r.left + r.width / 2 - base.left, r.top + r.height / 2 - base.top]; };
  const left = el => { const r = el.getBoundingClientRect(); return [r.left - base.left, r.top + r.height / 2 - base.top]; };
  const right = el => { const r = el.getBoundingClientRect(); return [r.right - base.left, r.top + r.height / 2 - base.top]; };
  const columns = [state.features.map(f => $('feature-' + f))];
  state.layers.forEach((u, i) => columns.push(u.map((_, j) => $(`neuron-${i}-${j}`))));
  columns.push([$('neuron-out')]);
  let html = '';
  net.weights.forEach((w, l) => {
    const src = columns[l], dst = columns[l + 1];
    if (!src || !dst) return; // a frame of another layout (it is being replaced)
    w.forEach((row, j) => row.forEach((v, k) => {
      if (!src[k] || !dst[j] || v === null) return;
      const [x1, y1] = l === 0 ? right(src[k].parentElement) : right(src[k]);
      const [x2, y2] = l === net.weights.length - 1 ? centre(dst[j]) : left(dst[j]);
      const width = Math.min(6, 0.4 + Math.abs(v) * 1.5).toFixed(2);
      html += `<path d="M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}" stroke="${v >= 0 ? '#0877bd' : '#f59322'}" stroke-width="${width}" fill="none" opacity="0.8"><title>${v.toFixed(3)}</title></path>`;
    }));
  });
  svg.innerHTML = html;
}

// ---------------------------------------------------------------- frames
function onFrame(m) {
  frame = m;
  m.nets.forEach((net, i) => { for (const h of net.history) { const hist = histories[i]; if (!hist.length || hist[hist.length - 1][0] < h[0]) hist.push(h); else if (h[0] === 0) { hist.length = 0; hist.push(h); } } });
  setPlaying(m.playing);
  drawFrame();
}

function fmt(v) { return v === null || v === undefined ? '–' : v.toFixed(3); }

function drawFrame() {
  if (!frame || !data) return;
  $('epoch').textContent = String(frame.epoch).padStart(6, '0');
  const [a, b] = frame.nets;
  $('test-loss').textContent = fmt(a.test_loss); $('train-loss').textContent = fmt(a.train_loss);
  $('extra-loss-wrap').hidden = a.extra_loss === undefined;
  if (a.extra_loss !== undefined) $('extra-loss').textContent = fmt(a.extra_loss);
  $('loss2-row').hidden = !b; $('output2-fig').hidden = !b;
  document.body.classList.toggle('side', !!b);
  const regression = data.task === 'regression';
  const draw = (canvas, net) => {
    heatmap(canvas, decode(net.output), frame.output_grid, state.discretize && !regression);
    points(canvas, data, { showTest: state.showTest, regression });
  };
  draw($('output'), a);
  $('output-caption').textContent = b ? 'this net' : '';
  if (b) {
    draw($('output2'), b);
    $('compare-name').textContent = state.compare; $('output2-caption').textContent = `every neuron ${state.compare}`;
    $('test-loss2').textContent = fmt(b.test_loss); $('train-loss2').textContent = fmt(b.train_loss);
  }
  a.neurons.forEach((layer, i) => layer.forEach((g, j) => { const c = $(`neuron-${i}-${j}`); if (c) heatmap(c, decode(g), frame.neuron_grid); }));
  lossChart($('loss-chart'), [{ points: histories[0], colour: '#333' }, ...(b ? [{ points: histories[1], colour: '#c0392b' }] : [])]);
  links(a);
  featureSpace($('feature-space'), a.feature_space, data.train.map(p => p[2]));
  $('fs-hint').hidden = !!a.feature_space; $('feature-space').hidden = !a.feature_space;
  const exp = v => v === null ? '–' : v.toExponential(1), pct = v => v === null ? '–' : `${Math.round(v * 100)} %`;
  const fastest = Math.max(1e-30, ...a.flow.map(r => r.speed ?? 0)); // bars: speed relative to the fastest layer
  $('flow').tBodies[0].innerHTML = a.flow.map(r => `<tr><td>${r.layer + 1}</td><td>${exp(r.speed)}<span class="bar" style="width:${Math.round(60 * (r.speed ?? 0) / fastest)}px"></span></td><td>${exp(r.update_ratio ?? null)}</td><td>${pct(r.dead)}</td><td>${pct(r.saturated)}</td></tr>`).join('');
}

// the icons are drawn (SVG), not font glyphs: the pause sign U+23F8 is missing from Debian Chromium's fonts
const ICONS = {
  play: '<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"><path d="M4 2 L14 8 L4 14 Z" fill="currentColor"/></svg>',
  pause: '<svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"><rect x="3" y="2" width="3.5" height="12" fill="currentColor"/><rect x="9.5" y="2" width="3.5" height="12" fill="currentColor"/></svg>',
};
function setPlaying(p) {
  playing = p; $('play').innerHTML = p ? ICONS.pause : ICONS.play;
  $('play').setAttribute('aria-label', p ? 'pause' : 'play'); $('play').classList.toggle('playing', p);
}

// ---------------------------------------------------------------- the unit editor
async function selectUnit(i, j) {
  selected = [i, j];
  document.querySelectorAll('.neuron.selected').forEach(c => c.classList.remove('selected'));
  $(`neuron-${i}-${j}`)?.classList.add('selected');
  const u = state.layers[i][j];
  $('unit-label').textContent = `layer ${i + 1}, neuron ${j + 1}`;
  $('unit-error').hidden = true;
  if (u.startsWith('f:')) { $('unit-act').value = ''; $('unit-formula').value = u.slice(2); await showFormula(u.slice(2)); }
  else { $('unit-act').value = u; $('unit-formula').value = ''; await showActivation(u); }
}

// The f/f′ plot and properties show the latest request only (an older, slower answer must not overwrite it).
let shown = 0;

async function showActivation(name) {
  const ticket = ++shown;
  $('act-plot').hidden = false;
  const r = await fetch('/api/activation/' + encodeURIComponent(name));
  if (!r.ok) return;
  const info = await r.json();
  if (ticket !== shown) return;
  activationPlot($('act-plot'), info);
  const p = info.properties, n = v => v === null ? '∞' : (+v).toPrecision(3);
  const yes = v => v ? 'yes' : 'no';
  $('act-props').innerHTML = `<b>${info.name}</b>: f(x) = ${info.formula}<br>range (${p.range_min === null ? '−∞' : n(p.range_min)}, ${n(p.range_max)}) · monotonic ${yes(p.monotonic)} · smooth ${yes(p.smooth)} · zero-centred f(0)=0 ${yes(p.zero_at_origin)}<br>`
    + `max f′ ${n(p.derivative_max)} · dead region ${yes(p.dead_region)} · sparsity ${p.sparsity === null ? '–' : n(p.sparsity)} · self-normalising ${yes(p.self_normalizing)}`;
}

async function checkFormula(text) {
  const r = await fetch('/api/formula', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ formula: text }) });
  const body = await r.json();
  if (!r.ok) throw new Error(typeof body.detail === 'string' ? body.detail : 'invalid formula');
  return body;
}

async function showFormula(text) {
  const ticket = ++shown;
  $('act-plot').hidden = false;
  try {
    const info = await checkFormula(text);
    if (ticket !== shown) return true;
    activationPlot($('act-plot'), info);
    $('act-props').innerHTML = `<b>formula</b>: f(x) = ${escapeHtml(info.formula)}<br>f′(x) = ${escapeHtml(info.derivative_formula)}` + (info.kinks.length ? `<br>kinks at ${info.kinks.map(k => k.toPrecision(3)).join(', ')}` : '');
    return true;
  } catch (e) {
    if (ticket === shown) { $('unit-error').textContent = e.message; $('unit-error').hidden = false; }
    return false;
  }
}

function escapeHtml(s) { return s.replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c])); }

async function applyUnit(wholeLayer) {
  if (!selected) { $('unit-error').textContent = 'click a neuron first'; $('unit-error').hidden = false; return; }
  const [i, j] = selected;
  $('unit-error').hidden = true;
  const text = $('unit-formula').value.trim();
  let value;
  if (text) { if (!await showFormula(text)) return; value = 'f:' + text; }
  else if ($('unit-act').value) { value = $('unit-act').value; await showActivation(value); }
  else { $('unit-error').textContent = 'choose an activation or type a formula'; $('unit-error').hidden = false; return; }
  if (!state.layers[i] || j >= state.layers[i].length) return; // the neuron went away while the formula was checked
  if (wholeLayer) state.layers[i] = state.layers[i].map(() => value); else state.layers[i][j] = value;
  pushState();
}

// ---------------------------------------------------------------- controls
function syncControls() {
  document.querySelectorAll('#datasets button').forEach(b => b.classList.toggle('selected', b.dataset.name === state.dataset));
  for (const id of ['ratio', 'noise', 'batch']) { $(id).value = state[id]; $(id + '-out').textContent = state[id]; }
  $('lr').value = String(state.lr); $('reg').value = state.reg; $('regRate').value = String(state.regRate);
  $('loss').value = state.loss; $('loss').disabled = REGRESSION.has(state.dataset) || data?.task === 'regression';
  $('compare').value = state.compare ?? '';
  $('discretize').checked = state.discretize; $('show-test').checked = state.showTest;
  const all = state.layers.flat();
  $('activation').value = all.length && all.every(u => u === all[0]) && !all[0].startsWith('f:') ? all[0] : '';
}

function setExportLinks() {
  $('export-pt').href = `/api/session/${session}/model.pt`;
  $('export-py').href = `/api/session/${session}/model.py`;
}

function datasetThumb(name) {
  const c = document.createElement('canvas'); c.width = c.height = 46;
  const ctx = c.getContext('2d'); ctx.fillStyle = '#f4f4f4'; ctx.fillRect(0, 0, 46, 46);
  const rand = mulberry(name.length * 7 + 3);
  for (let k = 0; k < 120; k++) {
    const x = rand() * 2 - 1, y = rand() * 2 - 1;
    const v = { circle: Math.hypot(x, y) < 0.55, xor: x * y > 0, gaussian: x + y > 0, spiral: Math.sin(3.5 * Math.PI * Math.hypot(x, y) - Math.atan2(y, x)) > 0, periodic: y > Math.cos(3 * x * Math.PI) * 0.5, linear: x + y > 0.3, plane: (x + y) / 2, multi_gaussian: Math.sin(3 * x) * Math.cos(3 * y) }[name];
    const t = typeof v === 'number' ? v : (v ? 1 : -1);
    ctx.fillStyle = t > 0 ? `rgba(8,119,189,${0.3 + 0.7 * Math.abs(t)})` : `rgba(245,147,34,${0.3 + 0.7 * Math.abs(t)})`;
    ctx.fillRect((x + 1) * 22, (1 - y) * 22, 3, 3);
  }
  return c;
}
function mulberry(a) { return () => { a |= 0; a = a + 0x6D2B79F5 | 0; let t = Math.imul(a ^ a >>> 15, 1 | a); t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t; return ((t ^ t >>> 14) >>> 0) / 4294967296; }; }

function exportPng(event) {
  event.preventDefault();
  const canvases = [$('output'), ...(frame?.nets.length > 1 ? [$('output2')] : [])];
  const out = document.createElement('canvas'); out.width = 300 * canvases.length + 10 * (canvases.length - 1); out.height = 300 + 74;
  const ctx = out.getContext('2d'); ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, out.width, out.height);
  canvases.forEach((c, i) => ctx.drawImage(c, i * 310, 0, 300, 300));
  ctx.drawImage($('loss-chart'), 0, 304);
  const a = document.createElement('a'); a.href = out.toDataURL('image/png'); a.download = 'playground.png'; a.click();
}

async function upload(file) {
  $('upload-error').hidden = true;
  const text = await file.text();
  const r = await fetch(`/api/session/${session}/upload`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ csv: text }) });
  if (!r.ok) {
    let message = `upload refused (${r.status})`;
    try { const body = await r.json(); if (typeof body.detail === 'string') message = body.detail; } catch { }
    $('upload-error').textContent = message; $('upload-error').hidden = false;
  } else if (state.dataset !== 'upload') { state.dataset = 'upload'; pushState(); } // (a change still pending when the upload landed)
  $('csv-file').value = '';
}

async function init() {
  const r = await fetch('/api/activations');
  activations = (await r.json()).filter(a => a.kind === 'elementwise');
  for (const rate of RATES) $('lr').add(new Option(String(rate), String(rate)));
  for (const rate of REG_RATES) $('regRate').add(new Option(String(rate), String(rate)));
  actOptions($('activation'), { extra: [['', 'per neuron']] });
  actOptions($('unit-act'), { extra: [['', '(formula below)']] });
  actOptions($('compare'), { extra: [['', 'none']] });
  for (const name of DATASETS) {
    const b = document.createElement('button'); b.dataset.name = name; b.title = name; b.id = 'dataset-' + name;
    const label = document.createElement('span'); label.textContent = name.replace('_', ' ');
    b.append(datasetThumb(name), label);
    b.onclick = () => { state.dataset = name; if (REGRESSION.has(name)) state.loss = 'cross_entropy'; pushState(); };
    $('datasets').append(b);
  }
  $('play').onclick = () => send({ type: playing ? 'pause' : 'play' });
  $('step').onclick = () => send({ type: 'step' });
  $('reset').onclick = () => send({ type: 'reset' });
  $('regenerate').onclick = () => { state.seed = (state.seed + 1) % 100000; pushState(); };
  for (const id of ['ratio', 'noise', 'batch']) {
    $(id).oninput = () => { $(id + '-out').textContent = $(id).value; };
    $(id).onchange = () => { state[id] = Number($(id).value); pushState(); };
  }
  $('lr').onchange = () => { state.lr = Number($('lr').value); pushState(); };
  $('regRate').onchange = () => { state.regRate = Number($('regRate').value); pushState(); };
  $('reg').onchange = () => { state.reg = $('reg').value; pushState(); };
  $('loss').onchange = () => { state.loss = $('loss').value; pushState(); };
  $('compare').onchange = () => { state.compare = $('compare').value || null; pushState(); };
  $('activation').onchange = () => { const v = $('activation').value; if (v) { state.layers = state.layers.map(u => u.map(() => v)); pushState(); } };
  $('discretize').onchange = () => { state.discretize = $('discretize').checked; writeUrl(); drawFrame(); };
  $('show-test').onchange = () => { state.showTest = $('show-test').checked; writeUrl(); drawFrame(); };
  $('add-layer').onclick = () => { if (state.layers.length < MAX_LAYERS) { state.layers.push(['tanh', 'tanh']); pushState(); } };
  $('remove-layer').onclick = () => { if (state.layers.length) { state.layers.pop(); selected = null; pushState(); } };
  $('unit-apply').onclick = () => applyUnit(false);
  $('layer-apply').onclick = () => applyUnit(true);
  $('unit-act').onchange = () => { if ($('unit-act').value) { $('unit-formula').value = ''; showActivation($('unit-act').value); } };
  $('csv-file').onchange = () => { const f = $('csv-file').files[0]; if (f) upload(f); };
  $('export-png').onclick = exportPng;
  window.addEventListener('resize', () => frame && links(frame.nets[0]));
  // a link pasted into this tab changes only the fragment (no reload): adopt the state it carries
  window.addEventListener('hashchange', () => {
    state = readUrl(); selected = null;
    syncControls(); buildNetwork(); pushState();
    if (frame) drawFrame();
  });
  setInterval(() => { if (document.visibilityState === 'visible') send({ type: 'ping' }); }, 60000);
  syncControls();
  connect();
}

init();
