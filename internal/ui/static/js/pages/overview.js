// Overview: requests, tokens, cost, error rate and latency over the last
// 24 hours, 7 days or 30 days, and the range's breakdowns by model, key and
// project (and team, for the admin). One request draws it all, from the
// usage rollups.

import { h, field, mount, fmtInt, fmtUSD, fmtMS, fmtPct } from '../dom.js';
import { get, qs, isAdmin, scoped } from '../api.js';
import { bars, lines, hbars } from '../charts.js';
import { setQuery, errorBox } from '../shell.js';

const RANGES = [['24h', '24 h'], ['7d', '7 d'], ['30d', '30 d']];

export async function render(main, params) {
  const range = RANGES.some(([r]) => r === params.get('range')) ? params.get('range') : '24h';
  const team = isAdmin() ? params.get('team') || '' : '';
  const breakdown = isAdmin() ? 'model,key,project,team' : 'model,key,project';
  const path = scoped('/admin/usage/series', '/v1/usage/series') + qs({ range, breakdown, team_id: team });

  const picker = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Range' },
    RANGES.map(([r, label]) => h('button', { type: 'button', 'aria-pressed': String(r === range),
      onclick: () => setQuery('overview', { range: r, team }) }, label)));
  const teamFilter = isAdmin() ? h('form', { class: 'inline', onsubmit: (ev) => {
    ev.preventDefault();
    setQuery('overview', { range, team: ev.target.elements.team.value.trim() });
  } }, field('Team filter', h('input', { name: 'team', value: team, placeholder: 'every team' })),
  h('button', { type: 'submit' }, 'Apply')) : null;
  const refresh = h('button', { type: 'button', onclick: () => render(main, params) }, 'Refresh');
  const head = h('div', { class: 'page-head' }, h('h1', {}, 'Overview'), picker, teamFilter, refresh);

  let v;
  try {
    v = await get(path);
  } catch (e) {
    if (e.status === 401) throw e;
    mount(main, head, errorBox(e));
    return null;
  }
  const t = v.total;
  const errRate = t.requests ? t.errors / t.requests : 0;
  const tiles = h('section', { class: 'tiles', 'aria-label': 'Totals' },
    tile('Requests', fmtInt(t.requests)),
    tile('Tokens', fmtInt(t.total_tokens)),
    tile('Cost', fmtUSD(t.cost_usd)),
    tile('Error rate', fmtPct(errRate)),
    tile('Cache hit rate', t.requests ? fmtPct((t.cache_hits || 0) / t.requests) : '–'),
    tile('Saved by the cache', fmtUSD(t.saved_usd || 0)),
    tile('Latency p50 / p95', t.requests ? `${fmtMS(t.p50_latency_ms)} / ${fmtMS(t.p95_latency_ms)}` : '–'));
  const bucket = v.bucket;
  const per = bucket === 'day' ? 'per day' : 'per hour';
  const charts = h('section', { class: 'charts' },
    bars(`Requests ${per}`, v.data, [
      { label: 'succeeded', value: (p) => p.requests - p.errors },
      { label: 'failed', value: (p) => p.errors },
    ], { format: fmtInt, bucket }),
    bars(`Tokens ${per}`, v.data, [
      { label: 'prompt', value: (p) => p.prompt_tokens, color: 0 },
      { label: 'completion', value: (p) => p.completion_tokens, color: 2 },
    ], { format: compact, bucket }),
    bars(`Cost ${per}`, v.data, [
      { label: 'spent', value: (p) => p.cost_usd, color: 3 },
      { label: 'saved by the cache', value: (p) => p.saved_usd || 0, color: 1 },
    ], { format: fmtUSD, bucket }),
    lines(`Cache hit rate ${per}`, v.data, [{ label: 'hits', value: (p) => (p.requests ? (p.cache_hits || 0) / p.requests : null) }],
      { format: fmtPct, bucket }),
    lines(`Error rate ${per}`, v.data, [{ label: 'errors', value: (p) => (p.requests ? p.errors / p.requests : null) }],
      { format: fmtPct, bucket }),
    lines(`Latency ${per}`, v.data, [
      { label: 'p50', value: (p) => (p.requests ? p.p50_latency_ms : null) },
      { label: 'p95', value: (p) => (p.requests ? p.p95_latency_ms : null) },
    ], { format: fmtMS, bucket }));
  const names = v.key_names || {};
  const by = v.breakdowns || {};
  const breakdown1 = (caption, rows, label = (g) => g || '(none)') => hbars(caption, (rows || []).map((r) => ({
    label: label(r.group), value: r.requests,
    note: `${fmtInt(r.requests)} requests, ${fmtInt(r.errors)} failed, ${fmtInt(r.total_tokens)} tokens, ${fmtUSD(r.cost_usd)}`,
  })), { format: fmtInt });
  const breakdowns = h('section', { class: 'breakdowns', 'aria-label': 'Breakdowns' },
    breakdown1('Requests by model', by.model),
    breakdown1('Requests by key', by.key, (g) => (names[g] ? `${names[g]} (${g})` : g || '(none)')),
    breakdown1('Requests by project', by.project),
    by.team ? breakdown1('Requests by team', by.team) : null);
  mount(main, head,
    h('p', { class: 'muted' }, `${team ? `Team ${team}` : isAdmin() ? 'Every team' : 'Your team'}, ${new Date(v.from).toLocaleString()} to ${new Date(v.to).toLocaleString()}`),
    tiles, charts, breakdowns);
  return null;
}

function tile(label, value) {
  return h('div', { class: 'tile' }, h('span', { class: 'tile-label' }, label), h('strong', { class: 'tile-value' }, value));
}

function compact(n) {
  const v = Number(n || 0);
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return String(Math.round(v));
}
