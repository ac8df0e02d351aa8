// The dashboard in a real browser: Debian's Chromium, headless, driven by
// playwright-core. TestDashboardInBrowser (cmd/llmservice) starts a real
// server with known data and runs this script with:
//
//   BASE_URL      the server, e.g. http://127.0.0.1:41234
//   ADMIN_KEY     its admin key
//   TEAM_ID       a team with usage, a batch and a playground-able key
//   TEAM_KEY      that team's key
//   OTHER_TEAM    another team with usage the team key must never see
//   TOTAL_REQUESTS, TEAM_REQUESTS   the requests in the last 24 hours
//   CACHE_HITS    the response cache hits among them
//   BATCH_ID      an open batch of TEAM_ID to cancel
//   SCREENSHOTS   a directory for overview.png, logs.png, playground.png
//
// Every scenario prints one line; the first failure ends the run with
// exit status 1.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BASE = env('BASE_URL');
const ADMIN_KEY = env('ADMIN_KEY');
const TEAM = env('TEAM_ID');
const TEAM_KEY = env('TEAM_KEY');
const OTHER = env('OTHER_TEAM');
const TOTAL = Number(env('TOTAL_REQUESTS'));
const TEAM_TOTAL = Number(env('TEAM_REQUESTS'));
const HITS = Number(env('CACHE_HITS'));
const BATCH = env('BATCH_ID');
const SHOTS = env('SCREENSHOTS');
const fmt = (n) => n.toLocaleString('en-US');

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const profile = mkdtempSync(join(tmpdir(), 'llmservice-chromium-'));
// A fresh profile directory each run: nothing carries over between runs.
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--no-first-run', '--disable-quic', '--disable-sync', '--disable-dev-shm-usage'],
  viewport: { width: 1360, height: 900 },
  locale: 'en-US',
  timezoneId: 'UTC',
});
let failed = false;
try {
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  // Air-gapped: the page asks nothing of any other origin.
  const foreign = [];
  const apiCalls = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(BASE)) foreign.push(r.url());
    const path = new URL(r.url()).pathname;
    if (!path.startsWith('/ui/')) apiCalls.push(`${r.method()} ${path}`);
  });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  // Refused requests (the sign-in probe, the checks below) log a "Failed
  // to load resource" line; anything else is a bug.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
  });

  const step = async (name, fn) => {
    const t0 = Date.now();
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  };
  // Screenshots for README, without a passing toast.
  const screenshot = async (name) => {
    await page.evaluate(() => { document.getElementById('toast').hidden = true; });
    if (name === 'logs.png') await page.setViewportSize({ width: 1360, height: 1500 });
    await page.screenshot({ path: join(SHOTS, name), fullPage: name !== 'logs.png' });
    await page.setViewportSize({ width: 1360, height: 900 });
    await page.evaluate(() => { document.getElementById('toast').hidden = false; });
  };
  const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const signIn = async (key) => {
    await page.goto(`${BASE}/ui/`);
    await page.getByLabel('Key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await nav('Overview').waitFor();
  };

  await step('sign in with the admin key', async () => {
    await signIn(ADMIN_KEY);
    for (const n of ['Overview', 'Teams', 'Keys', 'Models', 'Logs', 'Batches', 'Playground']) await nav(n).waitFor();
    await page.getByText('Admin', { exact: true }).waitFor();
    const stored = await page.evaluate(() => JSON.stringify(sessionStorage));
    check(stored.includes(ADMIN_KEY), 'the key is not in sessionStorage');
    check(!page.url().includes(ADMIN_KEY), 'the key is in the URL');
  });

  await step('overview shows every request of the last 24 hours, the /v1 one included', async () => {
    const tile = page.locator('.tile', { hasText: 'Requests' }).locator('.tile-value');
    await tile.filter({ hasText: fmt(TOTAL) }).waitFor();
    const chart = page.getByRole('img', { name: /^Requests per hour/ });
    const label = await chart.getAttribute('aria-label');
    check(label.startsWith(`Requests per hour: ${fmt(TOTAL)} in 24 hours`), `requests chart says "${label}"`);
    await page.getByRole('figure').filter({ hasText: 'Requests by model' }).getByText('mock/echo').waitFor();
    await page.getByRole('figure').filter({ hasText: 'Requests by team' }).getByText(OTHER).waitFor();
    await page.getByRole('img', { name: /^Latency per hour: p50 up to/ }).waitFor();
    const hitRate = `${((HITS / TOTAL) * 100).toFixed(1)}%`;
    await page.locator('.tile', { hasText: 'Cache hit rate' }).locator('.tile-value').filter({ hasText: hitRate }).waitFor();
    await page.locator('.tile', { hasText: 'Saved by the cache' }).waitFor();
    await page.getByRole('img', { name: /^Cache hit rate per hour/ }).waitFor();
    await screenshot('overview.png');
    await page.getByRole('button', { name: '7 d' }).click();
    await page.getByRole('img', { name: /^Requests per hour: .* in 168 hours/ }).waitFor();
    await page.getByRole('button', { name: '30 d' }).click();
    await page.getByRole('img', { name: /^Requests per day: .* in 30 days/ }).waitFor();
  });

  await step('create a team', async () => {
    await nav('Teams').click();
    await page.getByRole('button', { name: 'Create team' }).click();
    const form = page.getByRole('form', { name: 'New team' });
    await form.getByLabel('ID', { exact: true }).fill('initech');
    await form.getByLabel('Name', { exact: true }).fill('Initech');
    await form.getByLabel('RPM', { exact: true }).fill('120');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('cell', { name: 'initech', exact: true }).waitFor();
  });

  await step('create a key: its secret is shown once', async () => {
    await nav('Keys').click();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByLabel('Team', { exact: true }).fill('initech');
    await page.getByLabel('Name', { exact: true }).fill('ci');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const secret = page.getByRole('region', { name: 'New key secret' });
    const key = await secret.locator('.key-text').textContent();
    check(/^sk-[A-Z0-9]{30,}$/.test(key), `new key = ${key}`);
    await secret.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('cell', { name: `${key.slice(0, 7)}…` }).waitFor();
    check(!(await page.content()).includes(key), 'the key is still on the page after Done');
  });

  await step('models: a group created, the live deployments listed', async () => {
    await nav('Models').click();
    await page.getByRole('button', { name: 'Add model group' }).click();
    const form = page.getByRole('form', { name: 'New model group' });
    await form.getByLabel('Name', { exact: true }).fill('chat');
    await form.getByLabel('Models', { exact: true }).fill('mock/echo, mock/backup');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('table', { name: 'Model groups' }).getByRole('cell', { name: 'mock/echo → mock/backup' }).waitFor();
    await page.getByRole('table', { name: 'Deployments, live' }).getByText('healthy').first().waitFor();
  });

  await step('logs: one request per page view, the /v1 call with its prompt', async () => {
    apiCalls.length = 0;
    await nav('Logs').click();
    // The newest of the team's mock/echo calls is the /v1 one (the day of
    // usage before it is older).
    const row = page.getByRole('row').filter({ hasText: 'mock/echo' }).filter({ hasText: TEAM }).first();
    await row.waitFor();
    check(apiCalls.length === 1 && apiCalls[0].startsWith('GET /admin/logs'), `the logs page made ${apiCalls.length} requests: ${apiCalls}`);
    await row.getByRole('button').first().click();
    await page.getByRole('region', { name: /^Request / }).getByText('hello dashboard', { exact: false }).first().waitFor();
    check(apiCalls.length === 1, `opening a request made ${apiCalls.length - 1} more requests`);
    await screenshot('logs.png');
    await page.getByLabel('Model', { exact: true }).fill('no-such-model');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No request matches.').waitFor();
  });

  await step('cancel a batch', async () => {
    await nav('Batches').click();
    const row = page.getByRole('row').filter({ hasText: BATCH });
    await row.getByRole('progressbar').waitFor();
    await row.getByRole('button', { name: `Cancel ${BATCH}` }).click();
    await page.getByRole('row').filter({ hasText: BATCH }).getByText(/^cancel(ling|led)$/).waitFor();
  });

  await step('playground: the admin picks a team and watches the reply stream in', async () => {
    await nav('Playground').click();
    await page.getByLabel('Team', { exact: true }).fill(TEAM);
    await page.getByRole('button', { name: 'Use team' }).click();
    await page.getByLabel('Model', { exact: true }).selectOption('mock/echo');
    await page.getByLabel('Message', { exact: true }).fill('stream me a reply please');
    const streamed = page.waitForResponse((r) => r.url().endsWith('/v1/chat/completions'));
    await page.getByRole('button', { name: 'Send' }).click();
    const resp = await streamed;
    check(resp.headers()['content-type'].startsWith('text/event-stream'), `playground answer is ${resp.headers()['content-type']}`);
    await page.getByLabel('Reply').getByText('mock reply: stream me a reply please').waitFor();
    await page.getByText(/^Done in \d+ ms: \d+ prompt \+ \d+ completion tokens\.$/).waitFor();
    await screenshot('playground.png');
  });

  await step('sign out; sign in with a team key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Key', { exact: true }).waitFor();
    check(await page.evaluate(() => sessionStorage.length === 0), 'sessionStorage is not empty after sign-out');
    await signIn(TEAM_KEY);
    await page.getByText(`Team ${TEAM}`, { exact: true }).waitFor();
  });

  await step('a team key sees its own team and no other', async () => {
    const tile = page.locator('.tile', { hasText: 'Requests' }).locator('.tile-value');
    await tile.filter({ hasText: fmt(TEAM_TOTAL + 1) }).waitFor(); // + the playground's call
    check(!(await page.content()).includes(OTHER), `the overview mentions ${OTHER}`);
    for (const n of ['Teams', 'Keys', 'Logs', 'Batches']) {
      await nav(n).click();
      await page.getByRole('heading', { level: 1 }).first().waitFor();
      await page.waitForLoadState('networkidle');
      check(!(await page.content()).includes(OTHER), `the ${n} page mentions ${OTHER}`);
    }
    await nav('Keys').click();
    await page.getByRole('heading', { name: 'Keys' }).waitFor();
    check(await page.getByRole('button', { name: 'Create key' }).count() === 0, 'a team key is offered Create key');
    const status = await page.evaluate(async ([other, key]) => {
      const r = await fetch(`/v1/usage?team_id=${other}`, { headers: { Authorization: `Bearer ${key}` } });
      const a = await fetch('/admin/teams', { headers: { Authorization: `Bearer ${key}` } });
      return [r.status, a.status];
    }, [OTHER, TEAM_KEY]);
    check(status[0] === 403 && status[1] === 401, `another team's usage / the admin API answer a team key ${status}`);
  });

  await step('playground with the team key', async () => {
    await nav('Playground').click();
    await page.getByLabel('Model', { exact: true }).selectOption('mock/echo');
    await page.getByLabel('Message', { exact: true }).fill('hi from the team');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByLabel('Reply').getByText('mock reply: hi from the team').waitFor();
  });

  check(foreign.length === 0, `requests left the server: ${foreign}`);
  check(consoleErrors.length === 0, `console errors: ${consoleErrors.join('; ')}`);
} catch (e) {
  failed = true;
  console.log(`FAIL ${e.message}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
