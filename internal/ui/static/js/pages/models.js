// Models: the admin edits catalog entries and model groups, and sees the
// live state of every deployment (healthy, cooling down, in flight,
// latency). A team key sees the models it may use.

import { h, field, mount, table, fmtMS, fmtPct, fmtTime, list, num } from '../dom.js';
import { get, post, put, del, isAdmin } from '../api.js';
import { toast } from '../shell.js';
import { cancel } from './teams.js';

export async function render(main) {
  if (!isAdmin()) {
    const ms = (await get('/v1/models')).data;
    mount(main, h('div', { class: 'page-head' }, h('h1', {}, 'Models')),
      table('The models this key may use', [
        { label: 'Model', cell: (m) => h('code', {}, m.id) },
        { label: 'Owned by', cell: (m) => m.owned_by },
      ], ms, { empty: 'No model is available to this key.' }));
    return null;
  }
  const [catalog, groups, deps] = await Promise.all([get('/admin/models'), get('/admin/model-groups'), get('/admin/deployments')]);
  const panel = h('div', { class: 'panel-slot' });
  const reload = () => render(main);
  const delButton = (what, path, name) => h('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!confirm(`Delete ${what} ${name}?`)) return;
    try {
      await del(path);
      toast(`${what} ${name} deleted`);
      reload();
    } catch (e) { toast(e.message, true); }
  } }, 'Delete', h('span', { class: 'sr' }, ` ${name}`));
  mount(main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Models'),
      h('button', { type: 'button', class: 'primary', onclick: () => mount(panel, modelForm({}, panel, reload)) }, 'Add model'),
      h('button', { type: 'button', onclick: () => mount(panel, groupForm(null, panel, reload)) }, 'Add model group')),
    panel,
    table('Catalog', [
      { label: 'Name', cell: (m) => h('code', {}, m.name) },
      { label: 'Provider', cell: (m) => m.provider },
      { label: 'Upstream model', cell: (m) => m.upstream_model || '' },
      { label: 'Input $/Mtok', num: true, cell: (m) => m.input_per_mtok ?? '' },
      { label: 'Output $/Mtok', num: true, cell: (m) => m.output_per_mtok ?? '' },
      { label: 'RPM', num: true, cell: (m) => m.rpm || '' },
      { label: 'TPM', num: true, cell: (m) => m.tpm || '' },
      { label: 'Deployments', cell: (m) => (m.deployments || []).map((d) => `${d.provider}/${d.upstream_model || m.name}`).join(', ') },
      { label: 'Strategy', cell: (m) => m.strategy || '' },
      { label: 'Actions', cell: (m) => h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => mount(panel, modelForm(m, panel, reload)) }, 'Edit', h('span', { class: 'sr' }, ` ${m.name}`)),
        delButton('model', `/admin/models/${encodeURIComponent(m.name)}`, m.name)) },
    ], catalog.data, { empty: 'No catalog entry: instance/model names (mock/echo) work without one.' }),
    table('Model groups', [
      { label: 'Name', cell: (g) => h('code', {}, g.name) },
      { label: 'Models, in order', cell: (g) => g.models.join(' → ') },
      { label: 'Strategy', cell: (g) => g.strategy || '' },
      { label: 'Actions', cell: (g) => h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => mount(panel, groupForm(g, panel, reload)) }, 'Edit', h('span', { class: 'sr' }, ` ${g.name}`)),
        delButton('model group', `/admin/model-groups/${encodeURIComponent(g.name)}`, g.name)) },
    ], groups.data, { empty: 'No model group.' }),
    table('Deployments, live', [
      { label: 'Deployment', cell: (d) => h('code', {}, d.id) },
      { label: 'Instance', cell: (d) => d.instance },
      { label: 'State', cell: (d) => h('span', { class: `badge ${d.status === 'healthy' ? 'ok' : 'bad'}` }, d.status.replace('_', ' ')) },
      { label: 'In flight', num: true, cell: (d) => d.in_flight },
      { label: 'Latency', num: true, cell: (d) => (d.latency_ms ? fmtMS(d.latency_ms) : '–') },
      { label: 'Error rate', num: true, cell: (d) => fmtPct(d.error_rate) },
      { label: 'Cooldown until', cell: (d) => (d.cooldown_until ? fmtTime(d.cooldown_until, true) : '') },
    ], deps.data, { empty: 'No deployment has been used yet.' }));
  return null;
}

function modelForm(m, panel, reload) {
  const editing = Boolean(m.name);
  return h('form', { class: 'card form', 'aria-label': editing ? `Edit model ${m.name}` : 'New model', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    let deployments;
    try {
      deployments = f.deployments.value.trim() ? JSON.parse(f.deployments.value) : undefined;
    } catch {
      toast('Deployments must be a JSON list', true);
      return;
    }
    const body = { name: f.name.value.trim(), provider: f.provider.value.trim(), upstream_model: f.upstream_model.value.trim() || undefined,
      input_per_mtok: num(f.input_per_mtok.value) ?? undefined, output_per_mtok: num(f.output_per_mtok.value) ?? undefined,
      rpm: num(f.rpm.value) || undefined, tpm: num(f.tpm.value) || undefined, context_window: num(f.context_window.value) || undefined,
      strategy: f.strategy.value || undefined, deployments };
    try {
      await post('/admin/models', body);
      toast(`Model ${body.name} saved`);
      reload();
    } catch (e) { toast(e.message, true); }
  } },
  h('h2', {}, editing ? `Edit model ${m.name}` : 'New model'),
  field('Name', h('input', { name: 'name', required: true, value: m.name || '', readonly: editing })),
  field('Provider', h('input', { name: 'provider', required: true, value: m.provider || '' }), 'a configured provider instance: mock, openai, ollama, ...'),
  field('Upstream model', h('input', { name: 'upstream_model', value: m.upstream_model || '' }), 'empty: the name'),
  field('Input $/Mtok', h('input', { name: 'input_per_mtok', type: 'number', min: 0, step: 'any', value: m.input_per_mtok ?? '' })),
  field('Output $/Mtok', h('input', { name: 'output_per_mtok', type: 'number', min: 0, step: 'any', value: m.output_per_mtok ?? '' })),
  field('RPM per key', h('input', { name: 'rpm', type: 'number', min: 0, value: m.rpm || '' })),
  field('TPM per key', h('input', { name: 'tpm', type: 'number', min: 0, value: m.tpm || '' })),
  field('Context window', h('input', { name: 'context_window', type: 'number', min: 0, value: m.context_window || '' })),
  strategyField(m.strategy),
  field('Deployments', h('textarea', { name: 'deployments', rows: 3 }, m.deployments ? JSON.stringify(m.deployments) : ''),
    '[{"provider": "gpu1", "upstream_model": "llama3.1", "weight": 3}, ...]; empty: provider and upstream model alone'),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), cancel(panel)));
}

function strategyField(v) {
  return field('Strategy', h('select', { name: 'strategy' }, ['', 'weighted', 'least-outstanding', 'lowest-latency'].map((x) =>
    h('option', { value: x, selected: (v || '') === x }, x || 'default (weighted)'))));
}

function groupForm(g, panel, reload) {
  return h('form', { class: 'card form', 'aria-label': g ? `Edit model group ${g.name}` : 'New model group', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    const body = { name: f.name.value.trim(), models: list(f.models.value), strategy: f.strategy.value || undefined };
    try {
      if (g) await put(`/admin/model-groups/${encodeURIComponent(g.name)}`, body);
      else await post('/admin/model-groups', body);
      toast(`Model group ${body.name} saved`);
      reload();
    } catch (e) { toast(e.message, true); }
  } },
  h('h2', {}, g ? `Edit model group ${g.name}` : 'New model group'),
  field('Name', h('input', { name: 'name', required: true, value: g?.name || '', readonly: Boolean(g) })),
  field('Models', h('input', { name: 'models', required: true, value: (g?.models || []).join(', ') }), 'the primary first, then the fallbacks, comma-separated'),
  strategyField(g?.strategy),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), cancel(panel)));
}
