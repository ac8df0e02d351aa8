// Keys: the admin lists keys (of a team or all), creates one (its key and
// secret shown once), edits its limits and allowlists, and revokes it. A
// team key sees its team's keys by prefix only.

import { h, field, mount, table, fmtTime, list, num } from '../dom.js';
import { get, post, patch, del, isAdmin, qs } from '../api.js';
import { toast, setQuery } from '../shell.js';
import { limit, budget, limitFields, readLimits, cancel } from './teams.js';

export async function render(main, params) {
  const admin = isAdmin();
  const team = admin ? params.get('team') || '' : '';
  const keys = admin ? (await get(`/admin/keys${qs({ team_id: team })}`)).data : (await get('/v1/team')).keys;
  const panel = h('div', { class: 'panel-slot' });
  const reload = () => render(main, params);
  const head = h('div', { class: 'page-head' }, h('h1', {}, 'Keys'),
    admin ? h('form', { class: 'inline', onsubmit: (ev) => {
      ev.preventDefault();
      setQuery('keys', { team: ev.target.elements.team.value.trim() });
    } }, field('Team filter', h('input', { name: 'team', value: team, placeholder: 'every team' })), h('button', { type: 'submit' }, 'Apply')) : null,
    admin ? h('button', { type: 'button', class: 'primary', onclick: async () => mount(panel, await createForm(panel, reload, team)) }, 'Create key') : null);
  const cols = [
    { label: 'Key', cell: (k) => h('code', { title: 'Only the prefix is kept; the key itself was shown once.' }, `${k.prefix}…`) },
    { label: 'Name', cell: (k) => k.name || '' },
    { label: 'ID', cell: (k) => h('code', {}, k.id) },
    { label: 'Team', cell: (k) => k.team_id },
    { label: 'Status', cell: (k) => status(k) },
    { label: 'Models', cell: (k) => (k.models || []).join(', ') || 'team\'s' },
    { label: 'RPM', num: true, cell: (k) => limit(k.rpm) },
    { label: 'TPM', num: true, cell: (k) => limit(k.tpm) },
    { label: 'Budget', num: true, cell: (k) => budget(k) },
    { label: 'IP allowlist', cell: (k) => (k.ip_allowlist || []).join(', ') || 'anywhere' },
    { label: 'Expires', cell: (k) => (k.expires_at ? fmtTime(k.expires_at) : 'never') },
    { label: 'Created', cell: (k) => fmtTime(k.created_at) },
  ];
  if (admin) {
    cols.push({ label: 'Actions', cell: (k) => (k.revoked_at ? '' : h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => mount(panel, editForm(k, panel, reload)) }, 'Edit', h('span', { class: 'sr' }, ` ${k.id}`)),
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!confirm(`Revoke key ${k.prefix}… (${k.name || k.id})? Calls with it fail at once.`)) return;
        try {
          await del(`/admin/keys/${encodeURIComponent(k.id)}`);
          toast(`Key ${k.id} revoked`);
          reload();
        } catch (e) { toast(e.message, true); }
      } }, 'Revoke', h('span', { class: 'sr' }, ` ${k.id}`)))) });
  }
  mount(main, head, panel, table(null, cols, keys, { empty: 'No key.' }));
  return null;
}

function status(k) {
  if (k.revoked_at) return h('span', { class: 'badge bad' }, 'revoked');
  if (k.expires_at && new Date(k.expires_at) < new Date()) return h('span', { class: 'badge bad' }, 'expired');
  return h('span', { class: 'badge ok' }, 'active');
}

function keyFields(k = {}) {
  return [
    field('Models', h('input', { name: 'models', value: (k.models || []).join(', ') }), 'allowlist, comma-separated; empty: whatever the team may use'),
    ...limitFields(k),
    field('IP allowlist', h('input', { name: 'ip_allowlist', value: (k.ip_allowlist || []).join(', ') }), 'CIDRs or addresses, comma-separated; empty: anywhere'),
    field('Expires at', h('input', { name: 'expires_at', type: 'datetime-local', value: k.expires_at ? localInput(k.expires_at) : '' }), 'empty: never'),
  ];
}

function localInput(t) {
  const d = new Date(t);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function readKey(f) {
  const v = f.expires_at.value;
  return { models: list(f.models.value), ...readLimits(f), ip_allowlist: list(f.ip_allowlist.value), expires_at: v ? new Date(v).toISOString() : null };
}

async function createForm(panel, reload, team) {
  let teams = [];
  try {
    teams = (await get('/admin/teams')).data;
  } catch { /* the field still takes a typed ID */ }
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card form', 'aria-label': 'New key', onsubmit: async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    const body = { team_id: f.team.value.trim(), name: f.name.value.trim(), ...readKey(f) };
    if (!body.expires_at) delete body.expires_at;
    try {
      const k = await post('/admin/keys', body);
      form.replaceWith(created(k, panel, reload));
    } catch (e) { toast(e.message, true); }
  } },
  h('h2', {}, 'New key'),
  field('Team', h('input', { name: 'team', required: true, list: 'team-ids', value: team, autocomplete: 'off' })),
  h('datalist', { id: 'team-ids' }, teams.map((t) => h('option', { value: t.id }, t.name))),
  field('Name', h('input', { name: 'name' })),
  ...keyFields(),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create'), cancel(panel)));
  return h('div', {}, form, out);
}

// created shows a new key's key and secret, the only time they are shown.
function created(k, panel, reload) {
  const copy = (label, v) => h('button', { type: 'button', onclick: async () => {
    try {
      await navigator.clipboard.writeText(v);
      toast(`${label} copied`);
    } catch { toast('Copy failed: select the text instead', true); }
  } }, `Copy ${label.toLowerCase()}`);
  return h('section', { class: 'card secret', role: 'region', 'aria-label': 'New key secret' },
    h('h2', {}, `Key created for team ${k.team_id}`),
    h('p', { class: 'warn' }, 'Copy the key now: it is shown this once, and only its hash is stored.'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Key'), h('dd', {}, h('code', { class: 'key-text' }, k.key), ' ', copy('Key', k.key)),
      h('dt', {}, 'Secret'), h('dd', {}, h('code', {}, k.secret), ' ', copy('Secret', k.secret),
        h('small', { class: 'hint' }, ' (StackForDevs\' x-secret-key)')),
      h('dt', {}, 'ID'), h('dd', {}, h('code', {}, k.id))),
    h('button', { type: 'button', class: 'primary', onclick: () => { mount(panel); reload(); } }, 'Done'));
}

function editForm(k, panel, reload) {
  return h('form', { class: 'card form', 'aria-label': `Edit key ${k.id}`, onsubmit: async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    try {
      await patch(`/admin/keys/${encodeURIComponent(k.id)}`, { name: f.name.value.trim(), ...readKey(f) });
      toast(`Key ${k.id} saved`);
      reload();
    } catch (e) { toast(e.message, true); }
  } },
  h('h2', {}, `Edit key ${k.name || k.id}`),
  field('Name', h('input', { name: 'name', value: k.name || '' })),
  ...keyFields(k),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), cancel(panel)));
}
