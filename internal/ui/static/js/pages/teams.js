// Teams: the admin lists, creates, edits (limits, budget, allowlists,
// body logging), credits and deletes teams; a team key sees its own team,
// its budget and its credit movements.

import { h, field, mount, table, fmtInt, fmtUSD, fmtTime, list, num } from '../dom.js';
import { get, post, patch, del, isAdmin } from '../api.js';
import { toast, errorBox } from '../shell.js';

export async function render(main) {
  if (!isAdmin()) return renderOwn(main);
  const panel = h('div', { class: 'panel-slot' });
  const reload = () => render(main);
  const teams = (await get('/admin/teams')).data;
  const create = h('button', { type: 'button', class: 'primary', onclick: () => mount(panel, createForm(reload, panel)) }, 'Create team');
  mount(main, h('div', { class: 'page-head' }, h('h1', {}, 'Teams'), create), panel,
    table(null, [
      { label: 'ID', cell: (t) => h('code', {}, t.id) },
      { label: 'Name', cell: (t) => t.name },
      { label: 'RPM', num: true, cell: (t) => limit(t.rpm) },
      { label: 'TPM', num: true, cell: (t) => limit(t.tpm) },
      { label: 'Budget', num: true, cell: (t) => budget(t) },
      { label: 'Credits', num: true, cell: (t) => fmtInt(t.credits) },
      { label: 'Models', cell: (t) => (t.models || []).join(', ') || 'all' },
      { label: 'Groups', cell: (t) => (t.model_groups || []).join(', ') || 'all' },
      { label: 'Bodies', cell: (t) => t.log_bodies || 'default' },
      { label: 'Actions', cell: (t) => h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => mount(panel, editForm(t, reload, panel)) }, 'Edit', h('span', { class: 'sr' }, ` ${t.id}`)),
        h('button', { type: 'button', onclick: () => showMoney(t, panel, reload) }, 'Budget and credits', h('span', { class: 'sr' }, ` ${t.id}`)),
        h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(`Delete team ${t.id} and its keys? Its usage stays.`)) return;
          try {
            await del(`/admin/teams/${encodeURIComponent(t.id)}`);
            toast(`Team ${t.id} deleted`);
            reload();
          } catch (e) { toast(e.message, true); }
        } }, 'Delete', h('span', { class: 'sr' }, ` ${t.id}`))) },
    ], teams, { empty: 'No team yet: create one.' }));
  return null;
}

export function limit(v) {
  return v ? fmtInt(v) : '–';
}

export function budget(x) {
  if (x.max_budget_usd === undefined || x.max_budget_usd === null) return '–';
  return `${fmtUSD(x.max_budget_usd)}${x.budget_period ? ` ${x.budget_period}` : ''}`;
}

// limitFields are the inputs shared by team and key forms.
export function limitFields(x = {}) {
  return [
    field('RPM', h('input', { name: 'rpm', type: 'number', min: 0, value: x.rpm ?? '' }), 'requests per minute; empty or 0: no limit'),
    field('TPM', h('input', { name: 'tpm', type: 'number', min: 0, value: x.tpm ?? '' }), 'tokens per minute'),
    field('Max budget (USD)', h('input', { name: 'max_budget_usd', type: 'number', min: 0, step: 'any', value: x.max_budget_usd ?? '' }), 'empty: no budget'),
    field('Budget period', h('select', { name: 'budget_period' }, ['', 'daily', 'weekly', 'monthly'].map((p) =>
      h('option', { value: p, selected: (x.budget_period || '') === p }, p || 'never resets')))),
  ];
}

// readLimits reads limitFields back as a PATCH: empty budget is null.
export function readLimits(f) {
  return {
    rpm: num(f.rpm.value) || 0,
    tpm: num(f.tpm.value) || 0,
    max_budget_usd: num(f.max_budget_usd.value),
    budget_period: f.budget_period.value,
  };
}

function teamFields(t = {}) {
  return [
    field('Name', h('input', { name: 'name', value: t.name || '' })),
    ...limitFields(t),
    field('Models', h('input', { name: 'models', value: (t.models || []).join(', ') }), 'allowlist, comma-separated (mock/*, gpt-4o); empty: all'),
    field('Model groups', h('input', { name: 'model_groups', value: (t.model_groups || []).join(', ') }), 'empty: all'),
    field('Prompt and response logs', h('select', { name: 'log_bodies' }, ['', 'off', 'full', 'redacted'].map((p) =>
      h('option', { value: p, selected: (t.log_bodies || '') === p }, p || 'server default')))),
  ];
}

function readTeam(f) {
  return { name: f.name.value.trim() || undefined, ...readLimits(f), models: list(f.models.value), model_groups: list(f.model_groups.value), log_bodies: f.log_bodies.value };
}

function createForm(reload, panel) {
  return h('form', { class: 'card form', 'aria-label': 'New team', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    const body = { id: f.id.value.trim() || undefined, ...readTeam(f), credits: num(f.credits.value) || 0 };
    if (!body.name) delete body.name;
    try {
      const t = await post('/admin/teams', body);
      toast(`Team ${t.id} created`);
      reload();
    } catch (e) { toast(e.message, true); }
  } },
  h('h2', {}, 'New team'),
  field('ID', h('input', { name: 'id', pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}' }), 'letters, digits, . _ -; empty: generated'),
  ...teamFields(),
  field('Initial credits', h('input', { name: 'credits', type: 'number', min: 0 })),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create'), cancel(panel)));
}

function editForm(t, reload, panel) {
  return h('form', { class: 'card form', 'aria-label': `Edit team ${t.id}`, onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      await patch(`/admin/teams/${encodeURIComponent(t.id)}`, readTeam(ev.target.elements));
      toast(`Team ${t.id} saved`);
      reload();
    } catch (e) { toast(e.message, true); }
  } },
  h('h2', {}, `Edit team ${t.id}`), ...teamFields(t),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), cancel(panel)));
}

export function cancel(panel) {
  return h('button', { type: 'button', onclick: () => mount(panel) }, 'Close');
}

async function showMoney(t, panel, reload) {
  const id = encodeURIComponent(t.id);
  let b;
  let ms;
  try {
    [b, ms] = await Promise.all([get(`/admin/teams/${id}/budget`), get(`/admin/teams/${id}/credits`)]);
  } catch (e) {
    mount(panel, errorBox(e));
    return;
  }
  const add = h('form', { class: 'inline', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    try {
      const r = await post(`/admin/teams/${id}/credits`, { amount: num(f.amount.value), reason: f.reason.value.trim() || undefined });
      toast(`Team ${t.id} now has ${fmtInt(r.credits)} credits`);
      reload();
    } catch (e) { toast(e.message, true); }
  } }, field('Credits to add', h('input', { name: 'amount', type: 'number', required: true }), 'negative to deduct'),
  field('Reason', h('input', { name: 'reason' })), h('button', { type: 'submit' }, 'Add credits'));
  mount(panel, h('section', { class: 'card', 'aria-label': `Budget and credits of ${t.id}` },
    h('h2', {}, `Budget and credits of ${t.id}`), budgetView(b), add, movements(ms.data), cancel(panel)));
}

export function budgetView(b) {
  if (!b || b.max_budget_usd === null || b.max_budget_usd === undefined) return h('p', {}, 'No budget: spending is not capped.');
  const used = b.max_budget_usd > 0 ? Math.min(1, (b.spent_usd + b.reserved_usd) / b.max_budget_usd) : 1;
  const bar = h('span', { class: 'fill' });
  bar.style.width = `${used * 100}%`;
  return h('div', { class: 'budget' },
    h('p', {}, `${fmtUSD(b.spent_usd)} spent and ${fmtUSD(b.reserved_usd)} reserved of ${fmtUSD(b.max_budget_usd)}`,
      b.budget_period ? ` (${b.budget_period}, resets ${fmtTime(b.resets_at)})` : ' (never resets)',
      `; ${fmtUSD(b.remaining_usd)} left.`),
    h('div', { class: 'progress', role: 'progressbar', 'aria-label': 'Budget used', 'aria-valuemin': 0, 'aria-valuemax': 100,
      'aria-valuenow': Math.round(used * 100) }, bar));
}

export function movements(ms) {
  return table('Credit movements', [
    { label: 'Time', cell: (m) => fmtTime(m.time, true) },
    { label: 'Amount', num: true, cell: (m) => fmtInt(m.amount) },
    { label: 'Balance', num: true, cell: (m) => fmtInt(m.balance_after) },
    { label: 'Reason', cell: (m) => m.reason },
    { label: 'Ref', cell: (m) => m.ref || '' },
  ], ms.slice(0, 20), { empty: 'No credit movement.' });
}

async function renderOwn(main) {
  const v = await get('/v1/team');
  const t = v.team;
  mount(main, h('div', { class: 'page-head' }, h('h1', {}, `Team ${t.id}`)),
    h('dl', { class: 'facts' },
      fact('Name', t.name), fact('Credits', fmtInt(t.credits)), fact('RPM', limit(t.rpm)), fact('TPM', limit(t.tpm)),
      fact('Budget', budget(t)), fact('Models', (t.models || []).join(', ') || 'all'),
      fact('Model groups', (t.model_groups || []).join(', ') || 'all'), fact('Keys', fmtInt(v.keys.length))),
    h('section', { class: 'card' }, h('h2', {}, 'Budget'), budgetView(v.budget)),
    h('section', { class: 'card' }, movements(v.credit_movements)));
  return null;
}

export function fact(k, v) {
  return [h('dt', {}, k), h('dd', {}, v)];
}
