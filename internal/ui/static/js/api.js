// The session and the JSON API. The key the user signed in with is kept in
// sessionStorage (this tab only, gone when it closes) and sent as a bearer
// header; it never goes into a URL, where logs and history would keep it.

const KEY = 'llmservice.session';

// session is {key, role: 'admin' | 'team', team} or null.
export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

export function isAdmin() {
  return session()?.role === 'admin';
}

export function signOut() {
  sessionStorage.clear();
}

// ApiError carries the server's message and status.
export class ApiError extends Error {
  constructor(status, message, param) {
    super(message);
    this.status = status;
    this.param = param;
  }
}

// request sends a JSON request with key (the session's by default) and
// returns the decoded answer; an error answer throws an ApiError with the
// server's message.
export async function request(method, path, body, key = session()?.key) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, `The server did not answer (${e.message}).`);
  }
  const text = await resp.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const err = data?.error;
    const msg = (typeof err === 'object' ? err?.message : err) || data?.message || `${resp.status} ${resp.statusText}`;
    throw new ApiError(resp.status, msg, err?.param);
  }
  return data;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body ?? {});
export const patch = (path, body) => request('PATCH', path, body);
export const put = (path, body) => request('PUT', path, body);
export const del = (path) => request('DELETE', path);

// signIn finds out what a key is: the admin key reads /admin/teams; a
// team's virtual key reads its own team at /v1/team.
export async function signIn(key) {
  try {
    await request('GET', '/admin/teams', undefined, key);
    sessionStorage.setItem(KEY, JSON.stringify({ key, role: 'admin' }));
    return session();
  } catch (e) {
    if (e.status !== 401) throw e;
  }
  const t = await request('GET', '/v1/team', undefined, key);
  sessionStorage.setItem(KEY, JSON.stringify({ key, role: 'team', team: t.team.id }));
  return session();
}

// qs builds a query string from the non-empty values of params.
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== '' && v !== null && v !== undefined) p.set(k, v);
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

// scoped is the path of a dashboard read: /admin/... for the admin,
// the team's self-service path for a team key.
export function scoped(adminPath, teamPath) {
  return isAdmin() ? adminPath : teamPath;
}

// Cached within the tab: an admin's playground keys, per team, minted on
// first use and expiring within the hour.
export function playgroundKey(team) {
  try {
    const k = JSON.parse(sessionStorage.getItem(`llmservice.playground.${team}`));
    if (k && new Date(k.expires_at) > new Date(Date.now() + 60000)) return k;
  } catch { /* none */ }
  return null;
}

export function savePlaygroundKey(team, k) {
  sessionStorage.setItem(`llmservice.playground.${team}`, JSON.stringify(k));
}
