// Playground: pick a model the key may use, send a message, watch the
// reply stream in (Chat Completions with stream: true, read as server-sent
// events). A team key calls with itself. The admin key is no virtual key:
// the admin picks a team, and the page mints that team a key named
// "dashboard playground" that expires within the hour (so the team's
// limits, budget and model access apply, and the calls are billed to it);
// it is kept in this tab and revoked at sign-out.

import { h, field, mount } from '../dom.js';
import { request, post, session, isAdmin, playgroundKey, savePlaygroundKey } from '../api.js';
import { toast, setQuery, errorBox } from '../shell.js';

export async function render(main, params) {
  const head = h('div', { class: 'page-head' }, h('h1', {}, 'Playground'));
  let key = session().key;
  let teamForm = null;
  if (isAdmin()) {
    const team = params.get('team') || '';
    teamForm = h('form', { class: 'inline', onsubmit: (ev) => {
      ev.preventDefault();
      setQuery('playground', { team: ev.target.elements.team.value.trim() });
    } }, field('Team', h('input', { name: 'team', value: team, required: true })),
    h('button', { type: 'submit' }, 'Use team'),
    h('small', { class: 'muted' }, 'The calls use this team\'s model access, limits and budget.'));
    if (!team) {
      mount(main, head, teamForm, h('p', { class: 'muted' }, 'The admin key cannot call models itself: choose a team, and a key of that team that expires within the hour is made for this tab.'));
      return null;
    }
    try {
      key = await adminKey(team);
    } catch (e) {
      mount(main, head, teamForm, errorBox(e));
      return null;
    }
  }
  let models;
  try {
    models = (await request('GET', '/v1/models', undefined, key)).data.map((m) => m.id);
  } catch (e) {
    mount(main, head, teamForm, errorBox(e));
    return null;
  }
  const model = h('select', { name: 'model', required: true }, models.map((m) => h('option', { value: m }, m)));
  const message = h('textarea', { name: 'message', rows: 4, required: true, placeholder: 'Say hello' });
  const reply = h('div', { class: 'reply', 'aria-live': 'polite', 'aria-label': 'Reply' });
  const meta = h('p', { class: 'muted' });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send');
  let abort = null;
  const form = h('form', { class: 'card form', 'aria-label': 'Chat', onsubmit: async (ev) => {
    ev.preventDefault();
    if (abort) abort.abort();
    abort = new AbortController();
    reply.textContent = '';
    meta.textContent = 'Waiting for the first token…';
    send.disabled = true;
    const started = performance.now();
    try {
      const usage = await stream(key, model.value, message.value, (text) => {
        if (!reply.textContent) meta.textContent = `First token after ${Math.round(performance.now() - started)} ms…`;
        reply.append(text);
      }, abort.signal);
      meta.textContent = `Done in ${Math.round(performance.now() - started)} ms` +
        (usage ? `: ${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion tokens.` : '.');
    } catch (e) {
      if (e.name !== 'AbortError') meta.textContent = `Failed: ${e.message}`;
    } finally {
      send.disabled = false;
    }
  } },
  field('Model', model), field('Message', message), h('div', { class: 'actions' }, send));
  mount(main, head, teamForm, models.length ? form : h('p', { class: 'error' }, 'This key may use no model.'), meta, reply);
  return () => abort?.abort();
}

// adminKey returns the tab's playground key of a team, minting one that
// expires in an hour when there is none.
async function adminKey(team) {
  const cached = playgroundKey(team);
  if (cached) return cached.key;
  const expires = new Date(Date.now() + 3600 * 1000).toISOString();
  const k = await post('/admin/keys', { team_id: team, name: 'dashboard playground', expires_at: expires });
  savePlaygroundKey(team, { id: k.id, key: k.key, expires_at: expires });
  toast(`A key of team ${team} that expires in an hour was made for the playground`);
  return k.key;
}

// stream posts a streamed chat completion and calls onText with each piece
// of the reply; it returns the usage of the final chunk.
async function stream(key, model, text, onText, signal) {
  const resp = await fetch('/v1/chat/completions', {
    method: 'POST', signal, cache: 'no-store',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: text }] }),
  });
  if (!resp.ok) {
    let msg = `${resp.status} ${resp.statusText}`;
    try {
      msg = (await resp.json()).error.message || msg;
    } catch { /* the status says it */ }
    throw new Error(msg);
  }
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let usage = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return usage;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        const delta = chunk.choices?.[0]?.delta?.content;
        if (delta) onText(delta);
        if (chunk.usage) usage = chunk.usage;
      }
    }
  }
  return usage;
}
