// The demo as a new user gets it: `tradewatch serve --demo` on a fresh data directory, nobody
// touching anything. Within 60 s of "listening" the dashboard shows orders, fills and a moving
// PnL on the bundled real data; the gated automation's entries wait on /signals as compact rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchBrowser, open } from './harness.mjs';

const root = resolve(import.meta.dirname, '..', '..');
const exe = process.env.TRADEWATCH_BIN ?? join(root, 'target', 'debug', 'tradewatch');
let proc, dataDir, browser, base, listeningAt, readToken;
const passwords = {};

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tradewatch-demo-'));
  proc = spawn(exe, ['serve', '--demo', '--addr', '127.0.0.1:0', '--data-dir', dataDir, '--market-data', join(root, 'data')], {
    env: { ...process.env, LEPTOS_SITE_ROOT: join(root, 'target', 'site'), RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('demo did not start in 60 s')), 60_000);
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      for (const m of buf.matchAll(/^\s+(\w+)\s+username (\w+)\s+password (\S+)$/gm)) passwords[m[2]] = m[3];
      readToken = buf.match(/read-only API token \(shown once\): (\S+)/)?.[1] ?? readToken;
      const m = buf.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) { clearTimeout(timer); listeningAt = Date.now(); ok(m[1]); }
    });
    proc.on('exit', (code) => fail(new Error(`demo exited with ${code}`)));
  });
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); proc?.kill('SIGTERM'); rmSync(dataDir, { recursive: true, force: true }); });

async function signIn(role) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await open(context, base + '/login');
  await page.fill('[data-testid=username]', role);
  await page.fill('[data-testid=password]', passwords[role]);
  await page.click('[data-testid=login]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.waitForSelector('body[data-hydrated]');
  return page;
}

const counts = async (page) => (await page.textContent('[data-testid=counts]')).split('/').map((x) => Number(x.trim()));

test('the untouched demo trades within 60 s of listening: orders, fills and a moving PnL', async () => {
  assert.ok(passwords.trader, 'the demo printed its accounts');
  const page = await signIn('trader');
  // Live over SSE: no reload from here on.
  await page.waitForFunction(() => {
    const c = document.querySelector('[data-testid=counts]')?.textContent?.split('/').map((x) => Number(x.trim()));
    return c && c[2] > 0 && c[3] > 0;
  }, null, { timeout: Math.max(1_000, 60_000 - (Date.now() - listeningAt)) });
  const [, , orders, fills] = await counts(page);
  const seconds = (Date.now() - listeningAt) / 1000;
  assert.ok(orders > 0 && fills > 0, `orders ${orders}, fills ${fills}`);
  assert.ok(seconds <= 60, `first fills after ${seconds} s`);
  const equity = async () => (await page.textContent('[data-testid=equity]'))?.trim();
  const first = await equity();
  await page.waitForFunction((before) => document.querySelector('[data-testid=equity]')?.textContent?.trim() !== before, first, { timeout: 30_000 });
  await page.screenshot({ path: join(root, 'end2end', 'screenshots', 'demo-dashboard.png'), fullPage: false });
  // No breaker tripped and nothing paused along the way.
  assert.doesNotMatch(await page.textContent('body'), /heartbeat_missing/);
  await page.context().close();
});

test('the gated automation waits on /signals as compact rows; a keyboard approval is ordered and filled', async () => {
  const page = await signIn('trader');
  await page.goto(base + '/signals');
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForSelector('[data-testid=pending]', { timeout: 90_000 });
  const rows = await page.$$('[data-testid=pending]');
  const heights = await Promise.all(rows.map((r) => r.evaluate((e) => e.getBoundingClientRect().height)));
  assert.ok(heights.every((h) => h <= 48), `one compact row a signal (20 fit on a screen): ${heights}`);
  assert.match(await rows[0].textContent(), /mean_reversion-us-equity/);
  // Details open below the row.
  await rows[0].$eval('[data-testid=details-toggle]', (b) => b.click());
  await page.waitForSelector('[data-testid=pending-detail]');
  // The book keeps trading (the view is refetched on every live update): the open row stays
  // open and stays the same element, so a button is never replaced under the pointer.
  await page.waitForTimeout(6_000); // >= 2 market days of the demo: dozens of events
  assert.ok(await rows[0].evaluate((e) => e.isConnected && !!e.querySelector('[data-testid=pending-detail]')), 'details stay open across live updates');
  assert.match(await page.textContent('[data-testid=pending-detail]'), /Features[\s\S]*Risk checks/);
  await page.screenshot({ path: join(root, 'end2end', 'screenshots', 'demo-signals.png') });
  // Approve with the keyboard: focus the button, press Enter.
  const signal = await rows[0].getAttribute('data-signal');
  await rows[0].$eval('[data-testid=approve]', (b) => b.focus());
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => !document.querySelector(`[data-testid=pending][data-signal="${id}"]`), signal, { timeout: 10_000 });
  // The engine orders it at the instrument's next bar: the lineage shows the fill.
  const token = readToken;
  let fills = 0;
  for (let i = 0; i < 40 && fills === 0; i++) {
    const res = await fetch(`${base}/api/v1/trades/${signal}/lineage`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    fills = JSON.stringify(body).split('"fill"').length - 1;
    if (!fills) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(fills > 0, `the approved entry ${signal} was ordered and filled`);
  await page.context().close();
});

test('an investor sees the backtest of the bundled data, labelled simulated, and the decision records of the exits', async () => {
  const page = await signIn('investor');
  await page.goto(base + '/investor/backtest');
  // Computed once in the background at start-up (a debug build takes longer than a release).
  const until = Date.now() + 240_000;
  while (!(await page.$('[data-testid=backtest-results]'))) {
    assert.ok(Date.now() < until, 'the backtest appeared within 4 minutes of start-up');
    await page.waitForTimeout(3_000);
    await page.reload();
  }
  assert.match(await page.textContent('[data-testid=simulated-label]'), /Simulated results/);
  assert.match(await page.textContent('[data-testid=backtest-results]'), /\d+ closed trades/);
  await page.screenshot({ path: join(root, 'end2end', 'screenshots', 'demo-backtest.png'), fullPage: true });
  // By now the demo has run for minutes of market days: exits older than a day are records.
  await page.goto(base + '/investor/decisions');
  await page.waitForSelector('[data-testid=decision-records] tbody tr', { timeout: 60_000 });
  assert.match(await page.textContent('[data-testid=decision-records] tbody tr'), /not acknowledged|acknowledge by/);
  assert.match(await page.textContent('[data-testid=decision-records]'), /The price reached|average|mean|breakout/);
  await page.screenshot({ path: join(root, 'end2end', 'screenshots', 'demo-decisions.png'), fullPage: false });
  await page.context().close();
});
