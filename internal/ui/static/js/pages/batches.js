// Batches: OpenAI and StackForDevs batches with their progress and counts,
// and LlmEndpoint's queued completions; both can be cancelled. While
// something is still running the page refreshes itself every 10 seconds,
// and only while it is visible.

import { h, mount, table, fmtInt, fmtTime } from '../dom.js';
import { get, post, isAdmin, scoped, qs } from '../api.js';
import { toast, errorBox } from '../shell.js';

const REFRESH_MS = 10000;

export async function render(main) {
  let timer = null;
  let stopped = false;
  const draw = async () => {
    let bs;
    let qc;
    try {
      [bs, qc] = await Promise.all([get(scoped('/admin/batches', '/v1/team/batches')), get(scoped('/admin/qcompletions', '/v1/team/qcompletions'))]);
    } catch (e) {
      if (e.status === 401) throw e;
      mount(main, h('h1', {}, 'Batches'), errorBox(e));
      return;
    }
    if (stopped) return;
    const cancel = async (what, path, team) => {
      try {
        await post(path + (isAdmin() ? qs({ team_id: team }) : ''));
        toast(`${what} cancelled`);
      } catch (e) { toast(e.message, true); }
      draw();
    };
    const admin = isAdmin();
    mount(main, h('div', { class: 'page-head' }, h('h1', {}, 'Batches'),
      h('button', { type: 'button', onclick: draw }, 'Refresh')),
    table('Batches', [
      { label: 'Batch', cell: (b) => h('code', {}, b.id) },
      admin ? { label: 'Team', cell: (b) => b.team_id } : null,
      { label: 'API', cell: (b) => (b.api === 'openai' ? 'OpenAI' : 'StackForDevs') },
      { label: 'Status', cell: (b) => h('span', { class: `badge ${badge(b.status)}` }, b.status.replace('_', ' ')) },
      { label: 'Progress', cell: (b) => progress(b) },
      { label: 'Succeeded', num: true, cell: (b) => fmtInt(b.counts.succeeded) },
      { label: 'Failed', num: true, cell: (b) => fmtInt(b.counts.failed) },
      { label: 'Cancelled', num: true, cell: (b) => fmtInt(b.counts.cancelled) },
      { label: 'Waiting', num: true, cell: (b) => fmtInt(b.counts.queued + b.counts.running) },
      { label: 'Created', cell: (b) => fmtTime(b.created_at) },
      { label: 'Actions', cell: (b) => (open(b.status) && b.status !== 'cancelling' ? h('button', { type: 'button', class: 'danger',
        onclick: () => cancel(`Batch ${b.id}`, `${scoped('/admin/batches', '/v1/team/batches')}/${encodeURIComponent(b.id)}/cancel`, b.team_id) },
      'Cancel', h('span', { class: 'sr' }, ` ${b.id}`)) : '') },
    ].filter(Boolean), bs.data, { empty: 'No batch.' }),
    table('Queued completions', [
      { label: 'Task', cell: (t) => h('code', {}, t.id) },
      admin ? { label: 'Team', cell: (t) => t.team_id } : null,
      { label: 'Model', cell: (t) => t.model },
      { label: 'State', cell: (t) => h('span', { class: `badge ${badge(t.state)}` }, t.state) },
      { label: 'Credits', num: true, cell: (t) => fmtInt(t.credits) },
      { label: 'Attempts', num: true, cell: (t) => fmtInt(t.attempts) },
      { label: 'Created', cell: (t) => fmtTime(t.created_at) },
      { label: 'Actions', cell: (t) => (t.state === 'queued' ? h('button', { type: 'button', class: 'danger',
        onclick: () => cancel(`Queued completion ${t.id}`, `${scoped('/admin/qcompletions', '/v1/team/qcompletions')}/${encodeURIComponent(t.id)}/cancel`, t.team_id) },
      'Cancel', h('span', { class: 'sr' }, ` ${t.id}`)) : '') },
    ].filter(Boolean), qc.data, { empty: 'No queued completion.' }));
    clearTimeout(timer);
    const busy = bs.data.some((b) => open(b.status)) || qc.data.some((t) => t.state === 'queued' || t.state === 'running');
    if (busy) {
      timer = setTimeout(function tick() {
        if (document.visibilityState === 'visible') draw();
        else timer = setTimeout(tick, REFRESH_MS);
      }, REFRESH_MS);
    }
  };
  await draw();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function open(status) {
  return ['validating', 'in_progress', 'finalizing', 'cancelling'].includes(status);
}

function badge(status) {
  if (['completed', 'succeeded'].includes(status)) return 'ok';
  if (['failed', 'expired', 'cancelled'].includes(status)) return 'bad';
  return 'busy';
}

function progress(b) {
  const done = b.counts.succeeded + b.counts.failed + b.counts.cancelled;
  const total = b.total || done || 1;
  const pct = Math.round((100 * done) / total);
  const fill = h('span', { class: 'fill' });
  fill.style.width = `${pct}%`;
  return h('div', { class: 'progress', role: 'progressbar', 'aria-label': `Progress of ${b.id}`, 'aria-valuemin': 0,
    'aria-valuemax': 100, 'aria-valuenow': pct }, fill, h('span', { class: 'pct' }, `${fmtInt(done)} / ${fmtInt(b.total)}`));
}
