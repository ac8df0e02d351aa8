// The dashboard's shell: sign in, the navigation and a hash router
// (#/overview, #/logs?model=x, ...). Each page module exports
// render(main, params) and may return a function that stops its timers.

import { h, field, mount } from './dom.js';
import { errorBox } from './shell.js';
import { session, signIn, signOut, isAdmin, del } from './api.js';
import * as overview from './pages/overview.js';
import * as teams from './pages/teams.js';
import * as keys from './pages/keys.js';
import * as models from './pages/models.js';
import * as logs from './pages/logs.js';
import * as batches from './pages/batches.js';
import * as playground from './pages/playground.js';

const pages = { overview, teams, keys, models, logs, batches, playground };
const main = document.getElementById('main');
let stop = null;

function signInPage(msg) {
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const err = h('p', { class: 'error', role: 'alert', hidden: !msg }, msg || '');
  const form = h('form', { class: 'card signin', onsubmit: async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    try {
      await signIn(input.value.trim());
      location.hash = '#/overview';
      route();
    } catch (e) {
      err.textContent = e.status === 401 ? 'That key is not valid here.' : e.message;
      err.hidden = false;
    }
  } },
  h('h1', {}, 'Sign in'),
  h('p', {}, 'Use the admin key to manage everything, or a team\'s virtual key to see that team\'s usage, logs, budget and keys.'),
  field('Key', input, 'Kept in this browser tab only, and sent as a bearer header.'),
  h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  err);
  mount(main, form);
  input.focus();
}

function shell() {
  const sess = session();
  document.getElementById('nav').hidden = !sess;
  document.getElementById('who').hidden = !sess;
  if (sess) {
    document.getElementById('who-label').textContent = sess.role === 'admin' ? 'Admin' : `Team ${sess.team}`;
  }
}

// route renders the page the hash names.
async function route() {
  if (stop) {
    stop();
    stop = null;
  }
  shell();
  if (!session()) {
    signInPage();
    return;
  }
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const name = pages[path] ? path : 'overview';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · llmservice`;
  mount(main, h('p', { class: 'loading' }, 'Loading…'));
  try {
    stop = (await pages[name].render(main, new URLSearchParams(query || ''))) || null;
  } catch (e) {
    if (e.status === 401) {
      signOut();
      shell();
      signInPage('The key is no longer valid; sign in again.');
      return;
    }
    mount(main, errorBox(e));
  }
}

document.getElementById('sign-out').addEventListener('click', async () => {
  // The playground keys an admin minted go with the session.
  if (isAdmin()) {
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i);
      if (!k.startsWith('llmservice.playground.')) continue;
      try {
        await del(`/admin/keys/${encodeURIComponent(JSON.parse(sessionStorage.getItem(k)).id)}`);
      } catch { /* expires within the hour anyway */ }
    }
  }
  signOut();
  location.hash = '';
  route();
});
window.addEventListener('hashchange', route);
route();
