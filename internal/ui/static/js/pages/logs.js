// Logs: the request log, newest first, filtered by team, key, model,
// status and time, a page at a time. A page view is one request: the
// filters are typed, not picked from lists fetched for them, and a row's
// prompt and response come with the page. Nothing polls.

import { h, field, mount, table, fmtInt, fmtUSD, fmtMS, fmtTime } from '../dom.js';
import { get, qs, isAdmin, scoped } from '../api.js';
import { setQuery, errorBox } from '../shell.js';

const STATUSES = [['', 'any'], ['ok', 'succeeded'], ['error', 'failed'], ['4xx', '4xx'], ['5xx', '5xx'], ['429', '429']];
const FILTERS = ['team', 'key', 'model', 'status', 'from', 'to'];

export async function render(main, params) {
  const p = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const cursor = params.get('cursor') || '';
  const admin = isAdmin();
  const toISO = (v) => (v ? new Date(v).toISOString() : '');
  const path = scoped('/admin/logs', '/v1/usage/logs') + qs({
    team_id: admin ? p.team : '', key_id: p.key, model: p.model, status: p.status,
    from: toISO(p.from), to: toISO(p.to), cursor, limit: 50,
  });
  const filters = h('form', { class: 'filters', 'aria-label': 'Filters', onsubmit: (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    setQuery('logs', Object.fromEntries(FILTERS.filter((k) => f[k]).map((k) => [k, f[k].value.trim()])));
  } },
  admin ? field('Team', h('input', { name: 'team', value: p.team, placeholder: 'every team' })) : null,
  field('Key ID', h('input', { name: 'key', value: p.key })),
  field('Model', h('input', { name: 'model', value: p.model })),
  field('Status', h('select', { name: 'status' }, STATUSES.map(([v, l]) => h('option', { value: v, selected: v === p.status }, l)))),
  field('From', h('input', { name: 'from', type: 'datetime-local', value: p.from })),
  field('To', h('input', { name: 'to', type: 'datetime-local', value: p.to })),
  h('button', { type: 'submit', class: 'primary' }, 'Apply'));
  const head = h('div', { class: 'page-head' }, h('h1', {}, 'Logs'));

  let page;
  try {
    page = await get(path);
  } catch (e) {
    if (e.status === 401) throw e;
    mount(main, head, filters, errorBox(e));
    return null;
  }
  const detail = h('div', { class: 'panel-slot', 'aria-live': 'polite' });
  const rows = page.data;
  const cols = [
    { label: 'Time', cell: (r) => h('button', { type: 'button', class: 'link', onclick: () => mount(detail, details(r)) }, fmtTime(r.time, true)) },
    admin ? { label: 'Team', cell: (r) => r.team_id } : null,
    { label: 'Key', cell: (r) => h('code', {}, r.key_id) },
    { label: 'Model', cell: (r) => r.model },
    { label: 'Endpoint', cell: (r) => r.endpoint },
    { label: 'Status', cell: (r) => h('span', { class: `badge ${r.status < 400 ? 'ok' : 'bad'}` }, String(r.status)) },
    { label: 'Tokens', num: true, cell: (r) => fmtInt(r.total_tokens) },
    { label: 'Cost', num: true, cell: (r) => fmtUSD(r.cost_usd) },
    { label: 'Latency', num: true, cell: (r) => fmtMS(r.latency_ms) },
    { label: 'Body', cell: (r) => (r.prompt !== undefined ? 'kept' : '') },
  ].filter(Boolean);
  const nav = h('nav', { class: 'pager', 'aria-label': 'Pages' },
    cursor ? h('button', { type: 'button', onclick: () => setQuery('logs', p) }, 'Newest') : null,
    page.has_more ? h('button', { type: 'button', onclick: () => setQuery('logs', { ...p, cursor: page.next_cursor }) }, 'Older') : null,
    h('span', { class: 'muted' }, `${rows.length} shown of ${fmtInt(page.scanned)} read`,
      page.has_more && rows.length < 50 ? '; the filters matched few records here: Older looks further back' : ''));
  mount(main, head, filters, detail, table(null, cols, rows, { empty: 'No request matches.' }), nav);
  return null;
}

function details(r) {
  const kv = (k, v) => (v === undefined || v === '' || v === null ? null : [h('dt', {}, k), h('dd', {}, v)]);
  return h('section', { class: 'card', 'aria-label': `Request ${r.id}` },
    h('h2', {}, `Request ${r.id}`),
    h('dl', { class: 'facts' },
      kv('Time', fmtTime(r.time, true)), kv('Team', r.team_id), kv('Key', r.key_id), kv('Project', r.project),
      kv('Endpoint', r.endpoint), kv('Model', r.model), kv('Provider', r.provider), kv('Upstream model', r.upstream_model),
      kv('Status', String(r.status)), kv('Error', r.error_type), kv('Stream', r.stream ? 'yes' : 'no'),
      kv('Tokens', `${fmtInt(r.prompt_tokens)} prompt + ${fmtInt(r.completion_tokens)} completion${r.tokens_estimated ? ' (counted here)' : ''}`),
      kv('Cost', fmtUSD(r.cost_usd)), kv('Latency', fmtMS(r.latency_ms)), kv('Time to first token', r.ttft_ms ? fmtMS(r.ttft_ms) : ''),
      kv('Attempts', String(r.attempts)), kv('Attempt log', r.attempt_log), kv('Purpose', r.purpose)),
    r.prompt !== undefined ? [h('h3', {}, 'Prompt'), h('pre', { class: 'body' }, pretty(r.prompt)),
      h('h3', {}, 'Response'), h('pre', { class: 'body' }, r.response)] :
      h('p', { class: 'muted' }, 'The team does not keep prompts and responses (its log_bodies setting).'),
    h('button', { type: 'button', onclick: (ev) => ev.target.closest('section').remove() }, 'Close'));
}

// pretty shows a kept prompt (a JSON list of turns) one turn a paragraph.
function pretty(s) {
  try {
    const turns = JSON.parse(s);
    if (Array.isArray(turns)) return turns.map((t) => `${t.role}: ${t.content}`).join('\n\n');
  } catch { /* shown as kept */ }
  return s;
}
