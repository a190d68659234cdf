// Starts the real console (target/debug/tradewatch, built by `cargo leptos build`) on a free
// port with a fresh data directory, and drives Debian chromium through playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '..', '..');
const exe = process.env.TRADEWATCH_BIN ?? join(root, 'target', 'debug', 'tradewatch');

export async function startConsole() {
  const dataDir = mkdtempSync(join(tmpdir(), 'tradewatch-e2e-'));
  const tokenFor = (name, scope) =>
    execFileSync(exe, ['token', 'create', '--data-dir', dataDir, '--name', name, '--scope', scope], { encoding: 'utf8' }).trim().split('\n').at(-1);
  const token = tokenFor('e2e', 'ingest,engine');
  const readToken = tokenFor('e2e-read', 'read');
  // One account per role; the password goes in on stdin, as an operator would type it.
  for (const role of ROLES) {
    execFileSync(exe, ['user', 'add', '--data-dir', dataDir, '--username', role, '--role', role], { input: password(role) + '\n' });
  }
  const proc = spawn(exe, ['serve', '--addr', '127.0.0.1:0', '--data-dir', dataDir], {
    // No start-up backtest: it would take a core of the debug build while the tests run.
    env: { ...process.env, LEPTOS_SITE_ROOT: join(root, 'target', 'site'), RUST_LOG: 'warn', TRADEWATCH_BACKTEST: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('console did not start in 30 s')), 30_000);
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    proc.on('exit', (code) => fail(new Error(`console exited with ${code}`)));
  });
  const post = async (events) => {
    const res = await fetch(`${base}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(events),
    });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`ingest ${res.status}: ${JSON.stringify(body)}`);
    return body;
  };
  const get = async (path, bearer = readToken) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    return { status: res.status, body: await res.json() };
  };
  const stop = () => { proc.kill('SIGTERM'); rmSync(dataDir, { recursive: true, force: true }); };
  return { base, token, readToken, post, get, stop, exe };
}

export const ROLES = ['admin', 'trader', 'risk', 'auditor', 'investor'];
export const password = (role) => `${role}-e2e-password`;

/// A browser context signed in as `role` through the login page (its cookie jar keeps the session).
export async function signIn(browser, base, role) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await open(context, base + '/login');
  await page.fill('[data-testid=username]', role);
  await page.fill('[data-testid=password]', password(role));
  await page.click('[data-testid=login]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.waitForSelector('body[data-hydrated]');
  await page.close();
  return context;
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/// Opens a page (in a browser or a signed-in context) and waits until the app has hydrated;
/// collects browser errors.
export async function open(browser, url) {
  const page = await browser.newPage(browser.newContext ? { viewport: { width: 1400, height: 1000 } } : undefined);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  await page.goto(url);
  await page.waitForSelector('body[data-hydrated]', { timeout: 20_000 });
  return page;
}

const t0 = Date.parse('2024-10-24T14:32:15Z');
export const ts = (ms) => new Date(t0 + ms).toISOString();

/// A complete trade: buy 0.1 BTCUSDT at 67,500.25 (fee 0.0675), then a mark of 68,000.
export function roundTrip(prefix = '') {
  const p = (s) => `${prefix}${s}`;
  return [
    { event_id: p('e1'), kind: 'market_snapshot', ts: ts(0), instrument: 'BTCUSDT', bid: '67499', ask: '67501', mid: '67500', last: '67500', volume: '10' },
    { event_id: p('e2'), kind: 'signal', ts: ts(10), signal_id: p('sig-1'), automation_id: 'momentum-1', instrument: 'BTCUSDT', intent: 'entry',
      signal_type: 'momentum', side: 'buy', strength: 0.7, features: { rsi_14: 61.2 }, model_version: 'v3', prediction: 0.01, confidence: 0.8 },
    { event_id: p('e3'), kind: 'risk_check', ts: ts(12), signal_id: p('sig-1'), decision: 'approve', risk_score: 0.4,
      checks: [{ name: 'position_limit', status: 'pass', value: 0.04, limit: 0.1 }] },
    { event_id: p('e4'), kind: 'order', ts: ts(40), order_id: p('ord-1'), signal_id: p('sig-1'), instrument: 'BTCUSDT', side: 'buy',
      quantity: '0.1', order_type: 'market', status: 'submitted' },
    { event_id: p('e5'), kind: 'fill', ts: ts(90), fill_id: p('fill-1'), order_id: p('ord-1'), quantity: '0.1', price: '67500.25',
      fee: '0.0675', fee_currency: 'USDT', liquidity: 'taker' },
    { event_id: p('e6'), kind: 'order', ts: ts(91), order_id: p('ord-1'), signal_id: p('sig-1'), instrument: 'BTCUSDT', side: 'buy',
      quantity: '0.1', order_type: 'market', status: 'filled' },
    { event_id: p('e7'), kind: 'market_snapshot', ts: ts(60_000), instrument: 'BTCUSDT', bid: '67999', ask: '68001', mid: '68000', last: '68000', volume: '10' },
  ];
}
