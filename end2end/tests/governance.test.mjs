import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { join, resolve } from 'node:path';
import { startConsole, launchBrowser, open, signIn, ts } from './harness.mjs';

let app, browser, trader, risk, investor, admin, auditor;
before(async () => {
  app = await startConsole();
  browser = await launchBrowser();
  trader = await signIn(browser, app.base, 'trader');
  risk = await signIn(browser, app.base, 'risk');
  investor = await signIn(browser, app.base, 'investor');
  admin = await signIn(browser, app.base, 'admin');
  auditor = await signIn(browser, app.base, 'auditor');
});
after(async () => { await browser?.close(); app?.stop(); });

const entry = (id, at) => [
  { event_id: `${id}-s`, kind: 'market_snapshot', ts: ts(at), instrument: 'ETHUSDT', bid: '2499', ask: '2501', mid: '2500', last: '2500', volume: '5' },
  { event_id: `${id}-sig`, kind: 'signal', ts: ts(at + 10), signal_id: id, automation_id: 'breakout-eth', instrument: 'ETHUSDT', intent: 'entry',
    signal_type: 'breakout', side: 'buy', strength: 0.6, features: { atr_14: 31.5, beta_mtum: 0.4 }, model_version: 'v1', prediction: 0.02, confidence: 0.7 },
  { event_id: `${id}-risk`, kind: 'risk_check', ts: ts(at + 12), signal_id: id, decision: 'approve', risk_score: 0.3,
    checks: [{ name: 'position_limit', status: 'pass', value: 0.02, limit: 0.1 }] },
  { event_id: `${id}-llm`, kind: 'llm_decision', ts: ts(at + 14), signal_id: id, model: 'gpt-x', prompt: 'p', response: 'r',
    reasoning: 'Range break on rising volume.', confidence: 0.7, decision: 'enter' },
];

test('sign-in refuses a wrong password with one plain message', async () => {
  const context = await browser.newContext();
  const page = await open(context, app.base + '/login');
  await page.fill('[data-testid=username]', 'trader');
  await page.fill('[data-testid=password]', 'not-the-password');
  await page.click('[data-testid=login]');
  await page.waitForSelector('[data-testid=login-error]');
  assert.match(await page.textContent('[data-testid=login-error]'), /wrong username, password or two-factor code/);
  assert.match(page.url(), /\/login/);
  await context.close();
});

test('a trader approves a pending signal and sees its order and fill arrive', async () => {
  await app.post(entry('sig-appr', 0));
  const page = await open(trader, app.base + '/signals');
  const card = '[data-testid=pending][data-signal=sig-appr]';
  await page.waitForSelector(card);
  // One compact row; its features, checks and LLM reasoning open below it.
  await page.click(`${card} [data-testid=details-toggle]`);
  await page.waitForSelector(`${card} [data-testid=pending-detail]`);
  assert.match(await page.textContent(card), /Range break on rising volume/, 'LLM reasoning under the row');
  assert.match(await page.textContent(card), /atr_14/, 'features under the row');
  assert.match(await page.textContent(`${card} [data-testid=countdown]`), /^\d+:\d\d$/);
  await page.click(`${card} [data-testid=approve]`);
  await page.waitForSelector(card, { state: 'detached' });
  // The engine learns of the decision through the API and orders; the feed shows the fill.
  const { body } = await app.get('/api/v1/automations/breakout-eth/decisions?after_seq=0', app.token);
  assert.deepEqual(body.decisions.map((d) => [d.signal_id, d.action, d.actor]), [['sig-appr', 'approve', 'trader']]);
  await app.post([
    { event_id: 'appr-o1', kind: 'order', ts: ts(5000), order_id: 'ord-appr', signal_id: 'sig-appr', instrument: 'ETHUSDT', side: 'buy', quantity: '2', order_type: 'market', status: 'submitted' },
    { event_id: 'appr-f1', kind: 'fill', ts: ts(5050), fill_id: 'f-appr', order_id: 'ord-appr', quantity: '2', price: '2500.5', fee: '0.5', fee_currency: 'USDT', liquidity: 'taker' },
    { event_id: 'appr-o2', kind: 'order', ts: ts(5051), order_id: 'ord-appr', signal_id: 'sig-appr', instrument: 'ETHUSDT', side: 'buy', quantity: '2', order_type: 'market', status: 'filled' },
  ]);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=signals] tr')].some((r) => r.textContent.includes('sig-appr') && r.textContent.includes('filled')), null, { timeout: 10_000 });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('reject without a reason is refused; with one it is recorded', async () => {
  await app.post(entry('sig-rej', 10_000));
  const page = await open(trader, app.base + '/signals');
  const card = '[data-testid=pending][data-signal=sig-rej]';
  await page.waitForSelector(card);
  await page.click(`${card} [data-testid=reject]`);
  await page.waitForSelector(`${card} [data-testid=reject-error]`);
  assert.match(await page.textContent(`${card} [data-testid=reject-error]`), /reason/);
  // The server refuses it too, whatever the client sends.
  const status = await page.evaluate(async () => (await fetch('/api/decide_signal', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'signal_id=sig-rej&action=reject' })).status);
  assert.equal(status, 400);
  await page.fill(`${card} [data-testid=reject-reason]`, 'spread too wide for this size');
  await page.click(`${card} [data-testid=reject]`);
  await page.waitForSelector(card, { state: 'detached' });
  const { body } = await app.get('/api/v1/events?kind=operator_response');
  const rejected = body.events.map((e) => e.event).find((e) => e.signal_id === 'sig-rej');
  assert.equal(rejected.action, 'reject');
  assert.equal(rejected.comment, 'spread too wide for this size');
  assert.deepEqual(page.errors.filter((e) => !/status of 400/.test(e)), [], 'only the deliberate 400');
  await page.close();
});

test('an investor reaches only the investor portal, and approving directly is 403', async () => {
  const page = await open(investor, app.base + '/signals');
  assert.match(page.url(), /\/investor$/);
  assert.match(await page.textContent('h1'), /Investor portal/);
  assert.equal(await page.$('nav a[href="/signals"]'), null, 'no operations links');
  const status = await page.evaluate(async () => (await fetch('/api/decide_signal', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'signal_id=sig-appr&action=approve' })).status);
  assert.equal(status, 403);
  assert.deepEqual(page.errors.filter((e) => !/status of 403/.test(e)), [], 'only the deliberate 403');
  await page.close();
});

test('a config change needs a reason and appears in the history with its diff', async () => {
  // Risk may not weaken the four-eyes control: fewer approvals need an admin.
  const riskPage = await open(risk, app.base + '/config');
  await riskPage.waitForSelector('[data-testid=config-json]');
  const lowered = JSON.parse(await riskPage.inputValue('[data-testid=config-json]'));
  lowered.gating.threshold = 0;
  await riskPage.fill('[data-testid=config-json]', JSON.stringify(lowered, null, 2));
  await riskPage.fill('[data-testid=config-reason]', 'risk tries to drop the approvals');
  await riskPage.click('[data-testid=config-save]');
  await riskPage.waitForSelector('[data-testid=config-error]');
  assert.match(await riskPage.textContent('[data-testid=config-error]'), /does not allow/);
  await riskPage.close();

  const page = await open(admin, app.base + '/config');
  await page.waitForSelector('[data-testid=config-json]');
  const json = JSON.parse(await page.inputValue('[data-testid=config-json]'));
  json.gating.threshold = 0;
  await page.fill('[data-testid=config-json]', JSON.stringify(json, null, 2));
  await page.click('[data-testid=config-save]');
  await page.waitForSelector('[data-testid=config-error]');
  assert.match(await page.textContent('[data-testid=config-error]'), /reason/);
  await page.fill('[data-testid=config-reason]', 'paper engine runs unattended in this test');
  await page.click('[data-testid=config-save]');
  await page.waitForSelector('[data-testid=config-history] [data-testid=config-row]');
  const row = await page.textContent('[data-testid=config-history] [data-testid=config-row]');
  assert.match(row, /paper engine runs unattended in this test/);
  assert.match(row, /gating\.threshold/);
  assert.match(row, /10\s*→\s*0/);
  assert.match(await page.textContent('[data-testid=config-version]'), /Version 1/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the emergency pause stops the replay engine and the dashboard shows it', async () => {
  // The real paper engine, ordering through the public API (gating is 0 after the config test).
  const root = resolve(import.meta.dirname, '..', '..');
  const engine = spawn(app.exe, ['replay', '--console', app.base, '--speed', '200', '--dataset', 'all', '--market-data', join(root, 'data'), '--run-id', 'e2e'], {
    env: { ...process.env, TRADEWATCH_TOKEN: app.token, RUST_LOG: 'warn' }, stdio: 'ignore',
  });
  try {
    const orders = async () => (await app.get('/api/v1/summary')).body.counts.orders;
    const start = await orders();
    for (let i = 0; i < 100 && (await orders()) < start + 3; i++) await new Promise((r) => setTimeout(r, 200));
    assert.ok((await orders()) >= start + 3, 'the engine is ordering before the pause');
    const page = await open(risk, app.base + '/');
    await page.waitForSelector('[data-testid=global-toggle]');
    await page.click('[data-testid=global-toggle]');
    await page.waitForSelector('[data-testid=control-error]');
    await page.fill('[data-testid=control-reason]', 'e2e: emergency stop drill');
    await page.click('[data-testid=global-toggle]');
    await page.waitForFunction(() => /ALL TRADING PAUSED by risk/.test(document.querySelector('[data-testid=global-state]')?.textContent ?? ''), null, { timeout: 10_000 });
    // Within one polling interval (250 ms) the engine stops ordering.
    await new Promise((r) => setTimeout(r, 1000));
    const after = await orders();
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(await orders(), after, 'no new orders while paused');
    await page.screenshot({ path: 'screenshots/paused.png', fullPage: true });
    assert.deepEqual(page.errors, []);
    await page.close();
  } finally {
    engine.kill('SIGTERM');
  }
});

test('the emergency pause is disabled, and says why, for a role that may not pause', async () => {
  // Hiding is not access control (the server refuses too: server tests); the page says who may.
  const page = await open(admin, app.base + '/');
  const toggle = await page.waitForSelector('[data-testid=global-toggle][title]');
  assert.ok(await toggle.isDisabled(), 'disabled for an admin');
  assert.match((await toggle.getAttribute('title')) ?? '', /Only the risk role may pause or resume all trading/);
  assert.deepEqual(page.errors, []);
  await page.close();
  const riskPage = await open(risk, app.base + '/');
  const riskToggle = await riskPage.waitForSelector('[data-testid=global-toggle]:not([disabled])');
  assert.ok(await riskToggle.isEnabled(), 'enabled for risk');
  assert.equal(await riskToggle.getAttribute('title'), null);
  assert.deepEqual(riskPage.errors, []);
  await riskPage.close();
});

test('an admin creates an API token (shown once) and revokes it', async () => {
  const page = await open(admin, app.base + '/admin');
  await page.waitForSelector('[data-testid=tokens]');
  await page.fill('[data-testid=token-name]', 'desk-reader');
  await page.uncheck('[data-testid=scope-ingest]');
  await page.check('[data-testid=scope-read]');
  await page.click('[data-testid=token-create]');
  await page.waitForSelector('[data-testid=token-secret]');
  const secret = (await page.textContent('[data-testid=token-secret]')).trim();
  assert.equal((await app.get('/api/v1/summary', secret)).status, 200, 'the new token reads');
  const row = '[data-testid=token-row][data-name=desk-reader]';
  await page.waitForSelector(row);
  assert.match(await page.textContent(row), /read/);
  assert.ok(!(await page.textContent('[data-testid=tokens] table')).includes(secret), 'the list never shows a secret');
  await page.click(`${row} [data-testid=token-revoke]`);
  await page.waitForFunction((sel) => /revoked/.test(document.querySelector(sel)?.textContent ?? ''), row, { timeout: 10_000 });
  assert.equal((await app.get('/api/v1/summary', secret)).status, 401, 'revoked at once');
  assert.deepEqual(page.errors, []);
  await page.close();
});

/// RFC 6238 code (SHA-1, 6 digits, 30 s) for a base32 secret: the authenticator app's side.
function totp(secretB32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretB32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[19] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

test('a user turns two-factor on: QR code, confirmation code, recovery codes', async () => {
  const page = await open(auditor, app.base + '/account');
  await page.click('[data-testid=totp-begin]');
  await page.waitForSelector('.qr svg');
  const secret = (await page.textContent('[data-testid=totp-secret]')).trim();
  await page.fill('[data-testid=totp-code]', '000000' === totp(secret) ? '111111' : '000000');
  await page.click('[data-testid=totp-confirm]');
  await page.waitForSelector('[data-testid=totp-error]');
  await page.fill('[data-testid=totp-code]', totp(secret));
  await page.click('[data-testid=totp-confirm]');
  await page.waitForSelector('[data-testid=recovery-codes] li');
  assert.equal((await page.$$('[data-testid=recovery-codes] li')).length, 10);
  await page.waitForSelector('[data-testid=totp-on]');
  assert.deepEqual(page.errors.filter((e) => !/status of 400/.test(e)), [], 'only the deliberate wrong code');
  await page.close();
});
