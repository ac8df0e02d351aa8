// Small DOM helpers: elements are built with h() and text is always set as
// text, never parsed as HTML, so nothing a server or a user sends can run.

const SVG = 'http://www.w3.org/2000/svg';

// h builds an element: h('button', {type: 'button', onclick: fn}, 'Save').
// Attributes starting with "on" become listeners; false, null and undefined
// ones are left out; children are nodes or strings.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  return fill(el, attrs, children);
}

// s builds an SVG element the same way.
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  return fill(el, attrs, children);
}

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// field is a labelled form control: the label names the control, so that
// screen readers and tests find it by its label.
let uid = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++uid}`;
  control.id = id;
  const kids = [h('label', { for: id }, label), control];
  if (hint) {
    const hid = `${id}-hint`;
    control.setAttribute('aria-describedby', hid);
    kids.push(h('small', { id: hid, class: 'hint' }, hint));
  }
  return h('div', { class: 'field' }, kids);
}

// table builds a table of rows with columns [{label, cell(row) -> node|string, num}].
export function table(caption, columns, rows, opts = {}) {
  return h('table', { class: opts.class || 'grid' },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, opts.empty || 'Nothing yet.'))
      : rows.map((r) => {
        const tr = h('tr', opts.rowAttrs ? opts.rowAttrs(r) : {}, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.cell(r))));
        return tr;
      })));
}

// clear empties an element and appends children.
export function mount(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

export function fmtInt(n) {
  return Number(n || 0).toLocaleString('en-US');
}

export function fmtUSD(n) {
  const v = Number(n || 0);
  if (v !== 0 && Math.abs(v) < 0.01) return `$${v.toPrecision(2)}`;
  return `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function fmtMS(n) {
  const v = Number(n || 0);
  if (v >= 10000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  return `${Math.round(v)} ms`;
}

export function fmtPct(n) {
  return `${(Number(n || 0) * 100).toFixed(1)}%`;
}

// fmtTime shows a time in the browser's zone, to the minute or second.
export function fmtTime(t, seconds = false) {
  if (!t) return '';
  const d = new Date(t);
  const pad = (x) => String(x).padStart(2, '0');
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return seconds ? `${day} ${hm}:${pad(d.getSeconds())}` : `${day} ${hm}`;
}

// list splits a comma-separated input into trimmed non-empty items.
export function list(v) {
  return String(v || '').split(',').map((x) => x.trim()).filter(Boolean);
}

// num reads a number input: '' is null.
export function num(v) {
  const t = String(v ?? '').trim();
  return t === '' ? null : Number(t);
}
