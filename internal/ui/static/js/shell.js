// What every page shares: a toast, an error box, and the hash's query.

import { h } from './dom.js';
import { ApiError } from './api.js';

// toast says something briefly (an aria-live region).
export function toast(msg, bad = false) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.className = `toast show${bad ? ' bad' : ''}`;
  clearTimeout(toast.t);
  toast.t = setTimeout(() => { el.className = 'toast'; }, 4000);
}

// errorBox shows a failed request in place of a page's content.
export function errorBox(e) {
  return h('p', { class: 'error', role: 'alert' }, e instanceof ApiError || e instanceof Error ? e.message : String(e));
}

// setQuery puts a page's filters in the hash, so that a reload or a link
// keeps them; the hash change renders the page again.
export function setQuery(page, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  location.hash = `#/${page}${s ? `?${s}` : ''}`;
}

