import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startConsole, launchBrowser, open, signIn, ts } from './harness.mjs';

let app, browser, risk, trader, auditor;
before(async () => {
  app = await startConsole();
  browser = await launchBrowser();
  risk = await signIn(browser, app.base, 'risk');
  trader = await signIn(browser, app.base, 'trader');
  auditor = await signIn(browser, app.base, 'auditor');
});
after(async () => { await browser?.close(); app?.stop(); });

/// Three orders of `automation`, each filled 80 bps above the arrival mid: the runbook's
/// slippage rule (above 50 bps on 3 consecutive fills) fires a critical alert.
const slippageRun = (tag, automation, at) => {
  const events = [{ event_id: `${tag}-m`, kind: 'market_snapshot', ts: ts(at), instrument: 'ETHUSDT', bid: '100', ask: '100', mid: '100', last: '100', volume: '5' }];
  for (let i = 0; i < 3; i++) {
    const t = at + 1000 * (i + 1);
    events.push(
      { event_id: `${tag}-s${i}`, kind: 'signal', ts: ts(t), signal_id: `${tag}-sig${i}`, automation_id: automation, instrument: 'ETHUSDT', intent: 'entry',
        signal_type: 'breakout', side: 'buy', strength: 0.6, features: {}, model_version: 'v1', prediction: 0.02, confidence: 0.7 },
      { event_id: `${tag}-o${i}`, kind: 'order', ts: ts(t + 3), order_id: `${tag}-ord${i}`, signal_id: `${tag}-sig${i}`, instrument: 'ETHUSDT', side: 'buy',
        quantity: '1', order_type: 'market', status: 'submitted' },
      { event_id: `${tag}-f${i}`, kind: 'fill', ts: ts(t + 40), fill_id: `${tag}-fill${i}`, order_id: `${tag}-ord${i}`, quantity: '1', price: '100.80',
        fee: '0', fee_currency: 'USD', liquidity: 'taker' },
    );
  }
  return events;
};

test('an alert appears on /alerts without a reload; the trader acknowledges it with a note and risk silences it with a reason', async () => {
  const page = await open(trader, app.base + '/alerts');
  await page.waitForSelector('[data-testid=alerts]');
  const posted = Date.now();
  await app.post(slippageRun('a1', 'breakout-1', 0));
  const row = await page.waitForSelector('[data-testid=alerts] [data-testid=alert-row][data-rule=slippage_consecutive]', { timeout: 10_000 });
  const seenMs = Date.now() - posted;
  assert.ok(seenMs < 2_000, `the alert appeared after ${seenMs} ms`);
  assert.equal(await row.getAttribute('data-state'), 'firing');
  assert.equal(await page.textContent('[data-testid=firing-critical] .kpi-value'), '1');
  const fp = await row.getAttribute('data-fingerprint');
  await page.screenshot({ path: '/tmp/alerts.png', fullPage: true });

  // The dashboard lists it among the critical alerts firing.
  const dash = await open(trader, app.base + '/');
  await dash.waitForSelector('[data-testid=alerts-critical]');
  assert.match(await dash.textContent('[data-testid=alerts-critical]'), /slippage_consecutive/);
  await dash.close();

  // The trader acknowledges it with a note: its escalation stops.
  await page.click(`[data-testid=alerts] a[href="/alerts/${fp}"]`);
  await page.waitForSelector('[data-testid=alert-detail]');
  await page.fill('[data-testid=ack-note]', 'cutting size on breakout-1');
  await page.click('[data-testid=acknowledge]');
  await page.waitForSelector('[data-testid=alert-done]');
  assert.equal(await page.textContent('[data-testid=alert-state]'), 'acknowledged');
  assert.match(await page.textContent('[data-testid=acknowledged]'), /by trader .*cutting size on breakout-1/);
  assert.match(await page.textContent('[data-testid=alert-history]'), /acknowledge\s*trader/);
  await page.screenshot({ path: '/tmp/alert-detail.png', fullPage: true });

  // An auditor sees it but has no buttons.
  const audit = await open(auditor, app.base + `/alerts/${fp}`);
  await audit.waitForSelector('[data-testid=alert-detail]');
  assert.equal(await audit.$('[data-testid=alert-actions]'), null);
  await audit.close();

  // Risk silences it: the browser holds back a short reason (minlength), the server refuses it too.
  const rp = await open(risk, app.base + `/alerts/${fp}`);
  await rp.waitForSelector('[data-testid=form-silence]');
  await rp.fill('[data-testid=silence-reason]', 'short');
  await rp.click('[data-testid=silence]');
  assert.equal(await rp.$('[data-testid=alert-done]'), null, 'the short reason was not sent');
  await rp.fill('[data-testid=silence-reason]', 'exchange maintenance, INC-2231');
  await rp.click('[data-testid=silence]');
  await rp.waitForSelector('[data-testid=alert-done]');
  assert.equal(await rp.textContent('[data-testid=alert-state]'), 'silenced');
  await rp.goto(app.base + '/alerts');
  await rp.waitForSelector('[data-testid=silences] [data-testid=silence-row]');
  assert.match(await rp.textContent('[data-testid=silences]'), /exchange maintenance, INC-2231/);
  // Ended early from the list.
  await rp.click('[data-testid=expire-silence]');
  await rp.waitForSelector('[data-testid=alert-done]');
  assert.equal(await rp.$('[data-testid=silences]'), null);
  await rp.close();
});
