// Hand-made SVG charts: bars and lines over time, and horizontal bars for
// breakdowns. Colours come from CSS classes (c0, c1, ...), every bar and
// point carries a <title> with its value, and each chart has a text
// summary for screen readers.

import { h, s, fmtTime } from './dom.js';

const W = 640;
const H = 200;
const PAD = { l: 52, r: 10, t: 10, b: 24 };

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function frame(caption, summary, body) {
  return h('figure', { class: 'chart' },
    h('figcaption', {}, caption),
    s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary}, body));
}

// axes draws the y grid with labels, and a few time labels on x.
function axes(max, format, times, bucket) {
  const out = [];
  const ih = H - PAD.t - PAD.b;
  for (let i = 0; i <= 4; i++) {
    const y = PAD.t + ih - (ih * i) / 4;
    out.push(s('line', { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: 'grid' }));
    out.push(s('text', { x: PAD.l - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, format((max * i) / 4)));
  }
  const n = times.length;
  const every = Math.max(1, Math.ceil(n / 6));
  const iw = W - PAD.l - PAD.r;
  times.forEach((t, i) => {
    if (i % every !== 0) return;
    const x = PAD.l + (iw * (i + 0.5)) / n;
    const label = bucket === 'day' ? fmtTime(t).slice(5, 10) : fmtTime(t).slice(bucket === 'hour' && n > 30 ? 5 : 11);
    out.push(s('text', { x, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, label));
  });
  return out;
}

// bars draws one bar per point, its series stacked: series are
// [{label, value(point), color}], color the index of a CSS colour class.
export function bars(caption, points, series, { format = String, bucket = 'hour' } = {}) {
  const totals = points.map((p) => series.reduce((a, sr) => a + sr.value(p), 0));
  const max = niceMax(Math.max(0, ...totals));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const bw = iw / Math.max(points.length, 1);
  const body = axes(max, format, points.map((p) => p.time), bucket);
  points.forEach((p, i) => {
    let y = PAD.t + ih;
    series.forEach((sr, j) => {
      const v = sr.value(p);
      if (!(v > 0)) return;
      const bh = (ih * v) / max;
      y -= bh;
      body.push(s('rect', { x: PAD.l + i * bw + bw * 0.12, y, width: Math.max(bw * 0.76, 1), height: Math.max(bh, 0.5), class: `c${sr.color ?? j}` },
        s('title', {}, `${fmtTime(p.time)}: ${format(v)} ${sr.label}`)));
    });
  });
  const sum = totals.reduce((a, b) => a + b, 0);
  const summary = `${caption}: ${format(sum)} in ${points.length} ${bucket}s` +
    series.map((sr) => `; ${sr.label} ${format(points.reduce((a, p) => a + sr.value(p), 0))}`).join('');
  return h('div', {}, frame(caption, summary, body), legend(series));
}

// lines draws each series as a line; series are [{label, value(point)}].
export function lines(caption, points, series, { format = String, bucket = 'hour' } = {}) {
  const max = niceMax(Math.max(0, ...points.flatMap((p) => series.map((sr) => sr.value(p)))));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const n = Math.max(points.length, 1);
  const x = (i) => PAD.l + (iw * (i + 0.5)) / n;
  const y = (v) => PAD.t + ih - (ih * v) / max;
  const body = axes(max, format, points.map((p) => p.time), bucket);
  series.forEach((sr, j) => {
    const pts = points.map((p, i) => ({ p, i, v: sr.value(p) })).filter((q) => q.v !== null && q.p.requests !== 0);
    if (pts.length > 1) {
      body.push(s('polyline', { points: pts.map((q) => `${x(q.i).toFixed(1)},${y(q.v).toFixed(1)}`).join(' '), class: `line c${j}` }));
    }
    for (const q of pts) {
      body.push(s('circle', { cx: x(q.i), cy: y(q.v), r: 2.5, class: `c${j}` },
        s('title', {}, `${fmtTime(q.p.time)}: ${sr.label} ${format(q.v)}`)));
    }
  });
  const summary = `${caption}: ${series.map((sr) => {
    const vs = points.filter((p) => p.requests !== 0).map(sr.value);
    return `${sr.label} up to ${format(Math.max(0, ...vs))}`;
  }).join('; ')}`;
  return h('div', {}, frame(caption, summary, body), legend(series));
}

function legend(series) {
  if (series.length < 2) return null;
  return h('ul', { class: 'legend' }, series.map((sr, j) => h('li', {}, h('span', { class: `swatch c${sr.color ?? j}`, 'aria-hidden': 'true' }), sr.label)));
}

// hbars draws a breakdown: one horizontal bar per row {label, value, note}.
export function hbars(caption, rows, { format = String } = {}) {
  const max = Math.max(0, ...rows.map((r) => r.value)) || 1;
  return h('figure', { class: 'hbars' },
    h('figcaption', {}, caption),
    rows.length === 0 ? h('p', { class: 'empty' }, 'No usage in this range.') :
      h('ul', {}, rows.map((r) => {
        const bar = h('span', { class: 'bar c0' });
        bar.style.width = `${Math.max((100 * r.value) / max, 0.5)}%`;
        return h('li', { title: r.note || '' },
          h('span', { class: 'label' }, r.label),
          h('span', { class: 'track' }, bar),
          h('span', { class: 'value' }, format(r.value)));
      })));
}
