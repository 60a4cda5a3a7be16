// Drawing helpers: heat maps, points, loss chart, activation plot, feature space. No state here.
const ORANGE = [245, 147, 34], WHITE = [232, 234, 235], BLUE = [8, 119, 189];

export function colour(v) { // v in [-1, 1] -> [r, g, b]
  const t = Math.max(-1, Math.min(1, v));
  const [a, b, s] = t < 0 ? [WHITE, ORANGE, -t] : [WHITE, BLUE, t];
  return [0, 1, 2].map(i => Math.round(a[i] + (b[i] - a[i]) * s));
}

export function decode(b64) { // base64 uint8 -> Float32Array in [-1, 1]
  const raw = atob(b64), out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i) / 127.5 - 1;
  return out;
}

export function heatmap(canvas, values, size, discretize = false) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    let v = values[i];
    if (discretize) v = v >= 0 ? 1 : -1;
    const [r, g, b] = colour(v);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  const tmp = document.createElement('canvas');
  tmp.width = tmp.height = size;
  tmp.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

export function toCanvas(canvas, domain) {
  const [x0, x1, y0, y1] = domain;
  return (x, y) => [(x - x0) / (x1 - x0) * canvas.width, (y1 - y) / (y1 - y0) * canvas.height];
}

export function points(canvas, data, { showTest = false, regression = false } = {}) {
  const ctx = canvas.getContext('2d'), map = toCanvas(canvas, data.domain);
  const scale = regression ? Math.max(1e-6, ...data.train.map(p => Math.abs(p[2]))) : 1;
  const value = p => regression ? p[2] / scale : (p[2] > 0 ? 1 : -1);
  if (data.extrapolation) { // shade the region never trained on
    const [lo, hi] = data.extrapolation, [a] = map(lo, 0), [b] = map(hi, 0);
    ctx.fillStyle = 'rgba(0,0,0,0.12)';
    ctx.fillRect(0, 0, a, canvas.height); ctx.fillRect(b, 0, canvas.width - b, canvas.height);
    ctx.fillStyle = '#333'; ctx.font = '10px sans-serif'; ctx.fillText('extrapolation', 3, 12);
  }
  const dot = (p, stroke, hollow) => {
    const [x, y] = map(p[0], p[1]);
    const [r, g, b] = colour(value(p));
    ctx.beginPath(); ctx.arc(x, y, 3, 0, 2 * Math.PI);
    if (!hollow) { ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fill(); }
    ctx.strokeStyle = hollow ? `rgb(${r},${g},${b})` : stroke; ctx.lineWidth = 1; ctx.stroke();
  };
  data.train.forEach(p => dot(p, '#fff', false));
  if (showTest) data.test.forEach(p => dot(p, '#000', false));
  (data.extra || []).forEach(p => dot(p, '#000', true));
}

export function lossChart(canvas, series) { // series: [{points: [[epoch, train, test]], colour}]
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  let maxE = 1, maxL = 1e-9;
  for (const s of series) for (const [e, a, b] of s.points) { maxE = Math.max(maxE, e); maxL = Math.max(maxL, a ?? 0, b ?? 0); }
  const X = e => e / maxE * (canvas.width - 4) + 2, Y = l => canvas.height - 2 - l / maxL * (canvas.height - 6);
  for (const s of series) {
    for (const [index, dash, alpha] of [[1, [3, 3], 0.5], [2, [], 1]]) {
      ctx.beginPath(); ctx.setLineDash(dash); ctx.globalAlpha = alpha; ctx.strokeStyle = s.colour; ctx.lineWidth = 1.5;
      let started = false;
      for (const p of s.points) {
        if (p[index] === null) continue;
        const [x, y] = [X(p[0]), Y(p[index])];
        started ? ctx.lineTo(x, y) : ctx.moveTo(x, y); started = true;
      }
      ctx.stroke();
    }
  }
  ctx.setLineDash([]); ctx.globalAlpha = 1;
}

export function activationPlot(canvas, sample) {
  const ctx = canvas.getContext('2d'), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const finite = [...sample.f, ...sample.df].filter(v => v !== null && Number.isFinite(v));
  let lo = Math.max(-6, Math.min(-1, ...finite)), hi = Math.min(6, Math.max(1, ...finite));
  const X = x => (x + 5) / 10 * w, Y = y => h - (y - lo) / (hi - lo) * h;
  ctx.strokeStyle = '#ccc'; ctx.beginPath(); ctx.moveTo(0, Y(0)); ctx.lineTo(w, Y(0)); ctx.moveTo(X(0), 0); ctx.lineTo(X(0), h); ctx.stroke();
  for (const [key, col, dash] of [['f', '#0877bd', []], ['df', '#f59322', [4, 3]]]) {
    ctx.beginPath(); ctx.strokeStyle = col; ctx.setLineDash(dash); ctx.lineWidth = 2;
    let started = false;
    sample.x.forEach((x, i) => {
      const y = sample[key][i];
      if (y === null) { started = false; return; }
      const Yc = Math.max(-10, Math.min(h + 10, Y(y)));
      started ? ctx.lineTo(X(x), Yc) : ctx.moveTo(X(x), Yc); started = true;
    });
    ctx.stroke();
  }
  ctx.setLineDash([]); ctx.fillStyle = '#333'; ctx.font = '11px sans-serif';
  ctx.fillText('f', 6, 12); ctx.fillStyle = '#f59322'; ctx.fillText("f′ (dashed)", 18, 12);
}

export function featureSpace(canvas, fs, labels) {
  const ctx = canvas.getContext('2d'), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (!fs || fs.points.some(p => p.some(v => v === null))) return; // a diverged net: nothing to draw
  if (fs.plane && (fs.plane.b === null || fs.plane.w.some(v => v === null))) fs = { ...fs, plane: null };
  const pts = fs.points;
  // 3 units: an oblique projection (h3 goes up-right)
  const proj = fs.dims === 3 ? p => [p[0] + 0.45 * p[2], p[1] + 0.3 * p[2]] : p => p;
  const xy = pts.map(proj);
  let x0 = Math.min(...xy.map(p => p[0])), x1 = Math.max(...xy.map(p => p[0]));
  let y0 = Math.min(...xy.map(p => p[1])), y1 = Math.max(...xy.map(p => p[1]));
  const pad = 0.1 * Math.max(x1 - x0, y1 - y0, 1e-3);
  x0 -= pad; x1 += pad; y0 -= pad; y1 += pad;
  const X = x => (x - x0) / (x1 - x0) * w, Y = y => h - (y - y0) / (y1 - y0) * h;
  if (fs.plane && fs.dims === 2) { // w·h + b = 0, coloured sides
    const [a, b] = fs.plane.w, c = fs.plane.b;
    const img = ctx.createImageData(w, h);
    for (let j = 0; j < h; j += 1) for (let i = 0; i < w; i += 1) {
      const hx = x0 + i / w * (x1 - x0), hy = y1 - j / h * (y1 - y0);
      const [r, g, bl] = colour(Math.tanh((a * hx + b * hy + c) / 2) * 0.6);
      const k = 4 * (j * w + i); img.data[k] = r; img.data[k + 1] = g; img.data[k + 2] = bl; img.data[k + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
  // 3 units: the ring shows which side of the output's plane a point lies on (its prediction)
  const side = fs.plane && fs.dims === 3 ? p => fs.plane.w.reduce((t, w, k) => t + w * p[k], fs.plane.b) : null;
  xy.forEach((p, i) => {
    const [r, g, b] = colour(labels[i] > 0 ? 1 : -1);
    ctx.beginPath(); ctx.arc(X(p[0]), Y(p[1]), side ? 3 : 2.5, 0, 2 * Math.PI); ctx.fillStyle = `rgb(${r},${g},${b})`; ctx.fill();
    if (side) { const [r2, g2, b2] = colour(side(pts[i]) > 0 ? 1 : -1); ctx.strokeStyle = `rgb(${r2},${g2},${b2})`; ctx.lineWidth = 1.5; ctx.stroke(); }
  });
  ctx.fillStyle = '#333'; ctx.font = '11px sans-serif';
  let text = fs.axes ? `hidden layer ${fs.layer + 1} (${fs.units} units): ${fs.axes[0]} →, ${fs.axes[1]} ↑`
    : `hidden layer ${fs.layer + 1}: h1 → , h2 ↑` + (fs.dims === 3 ? ', h3 ↗' : '');
  ctx.fillText(text, 4, h - 4);
  if (fs.axes) {
    ctx.fillText('boundary: w·h + b = 0 (the vertical line)', 4, 12);
  } else if (fs.plane) {
    const eq = fs.plane.w.map((v, i) => `${v.toFixed(2)}·h${i + 1}`).join(' + ') + ` + ${fs.plane.b.toFixed(2)} = 0`;
    ctx.fillText(eq, 4, 12);
  }
}
