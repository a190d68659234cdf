import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startConsole, launchBrowser, open, signIn, ts } from './harness.mjs';

let app, browser, risk, trader, investor;
before(async () => {
  app = await startConsole();
  browser = await launchBrowser();
  risk = await signIn(browser, app.base, 'risk');
  trader = await signIn(browser, app.base, 'trader');
  investor = await signIn(browser, app.base, 'investor');
  // The policy: one unit of each coin at most; momentum-1 belongs to alice, not to our trader.
  const config = {
    owners: { 'momentum-1': ['alice'] },
    compliance: {
      market_hours: { enabled: false },
      instruments: { BTCUSDT: { max_position_quantity: '1' }, ETHUSDT: { max_position_quantity: '1' } },
    },
  };
  const res = await risk.request.post(app.base + '/api/save_config_json', {
    headers: { origin: app.base },
    form: { base_version: '0', config_json: JSON.stringify(config), reason: 'compliance desk end-to-end policy' },
  });
  assert.equal(res.status(), 200, await res.text());
});
after(async () => { await browser?.close(); app?.stop(); });

/// A filled buy of `qty` by `automation`, with its mark first.
const buy = (id, automation, instrument, qty, at) => [
  { event_id: `${id}-m`, kind: 'market_snapshot', ts: ts(at), instrument, bid: '99', ask: '101', mid: '100', last: '100', volume: '5' },
  { event_id: `${id}-s`, kind: 'signal', ts: ts(at + 1), signal_id: `${id}-sig`, automation_id: automation, instrument, intent: 'entry',
    signal_type: 'breakout', side: 'buy', strength: 0.6, features: {}, model_version: 'v1', prediction: 0.02, confidence: 0.7 },
  { event_id: `${id}-r`, kind: 'risk_check', ts: ts(at + 2), signal_id: `${id}-sig`, decision: 'approve', risk_score: 0.3, checks: [] },
  { event_id: `${id}-o`, kind: 'order', ts: ts(at + 3), order_id: `${id}-ord`, signal_id: `${id}-sig`, instrument, side: 'buy',
    quantity: qty, order_type: 'market', status: 'submitted' },
  { event_id: `${id}-f`, kind: 'fill', ts: ts(at + 4), fill_id: `${id}-fill`, order_id: `${id}-ord`, quantity: qty, price: '100',
    fee: '0', fee_currency: 'USD', liquidity: 'taker' },
];

test('a breach posted while /compliance is open appears without a reload; risk acknowledges and resolves it', async () => {
  const page = await open(risk, app.base + '/compliance');
  await page.waitForSelector('[data-testid=limits] [data-testid=limit-row]');
  const posted = Date.now();
  await app.post(buy('b1', 'momentum-1', 'BTCUSDT', '1.5', 0));
  const row = await page.waitForSelector('[data-testid=active-issues] [data-testid=issue-row]', { timeout: 5_000 });
  const seenMs = Date.now() - posted;
  assert.ok(seenMs < 1_000, `the breach appeared after ${seenMs} ms`);
  assert.match(await row.textContent(), /max_position_quantity/);
  assert.equal(await page.getAttribute('[data-testid=limit-row][data-level=breach]', 'data-level'), 'breach');
  assert.equal(await page.textContent('[data-testid=count-critical]'), '1');
  const id = await row.getAttribute('data-issue');
  await page.screenshot({ path: '/tmp/compliance-desk.png', fullPage: true });

  await page.click(`[data-testid=active-issues] a[href="/compliance/${id}"]`);
  await page.waitForSelector('[data-testid=issue-detail]');
  await page.click('[data-testid=do-acknowledge]');
  await page.waitForSelector('[data-testid=review-done]');
  assert.equal(await page.textContent('[data-testid=issue-state]'), 'acknowledged');
  // The browser holds back a short resolution note (minlength); the server refuses it too.
  await page.fill('[data-testid=note-resolve]', 'too short');
  await page.click('[data-testid=do-resolve]');
  assert.equal(await page.$('[data-testid=review-error]'), null);
  await page.evaluate(() => document.querySelector('[data-testid=note-resolve]').removeAttribute('minlength'));
  await page.click('[data-testid=do-resolve]');
  await page.waitForSelector('[data-testid=review-error]');
  assert.match(await page.textContent('[data-testid=review-error]'), /at least 10 characters/);
  await page.fill('[data-testid=note-resolve]', 'position cut back under the limit by the desk');
  await page.click('[data-testid=do-resolve]');
  await page.waitForSelector('[data-testid=review-done]');
  assert.equal(await page.textContent('[data-testid=issue-state]'), 'resolved');
  const steps = await page.$$eval('[data-testid=history-row] td:nth-child(3)', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(steps, ['open', 'acknowledge', 'resolve']);
  await page.screenshot({ path: '/tmp/compliance-issue.png', fullPage: true });
  const { body } = await app.get(`/api/v1/compliance/issues/${id}`);
  assert.equal(body.state, 'resolved');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a trader sees only his automations\' issues and may only acknowledge them', async () => {
  await app.post(buy('e1', 'breakout-eth', 'ETHUSDT', '2', 1_000));
  const page = await open(trader, app.base + '/compliance');
  await page.waitForSelector('[data-testid=issues]');
  const rules = await page.$$eval('[data-testid=issues] [data-testid=issue-row]', (rows) => rows.map((r) => r.textContent));
  assert.equal(rules.length, 1, rules.join('\n'));
  assert.match(rules[0], /ETHUSDT/);
  const id = await page.getAttribute('[data-testid=issues] [data-testid=issue-row]', 'data-issue');
  await page.goto(`${app.base}/compliance/${id}`);
  await page.waitForSelector('[data-testid=issue-detail]');
  assert.ok(await page.$('[data-testid=do-acknowledge]'));
  assert.equal(await page.$('[data-testid=do-resolve]'), null, 'resolving is for risk');
  await page.click('[data-testid=do-acknowledge]');
  await page.waitForSelector('[data-testid=review-done]');
  assert.equal(await page.textContent('[data-testid=issue-state]'), 'acknowledged');
  // Another trader's automation's issue is not there for him.
  const { body } = await app.get('/api/v1/compliance/issues?instrument=BTCUSDT');
  const other = body.issues[0].id;
  await page.goto(`${app.base}/compliance/${other}`);
  await page.waitForSelector('[data-testid=issue-error]');
  await page.close();
});

test('an investor gets no compliance page', async () => {
  const page = await investor.newPage();
  await page.goto(app.base + '/compliance');
  assert.equal(new URL(page.url()).pathname, '/investor');
  await page.close();
});

test('risk edits a limit in the form: a wrong value is named, the diff is shown, the save needs a reason', async () => {
  const page = await open(risk, app.base + '/config/compliance');
  await page.waitForSelector('[data-testid=limits-form]');
  // The first blank instrument row takes a new instrument.
  const row = await page.$$eval('[data-testid=limits-instruments] tbody tr', (rows) => rows.length);
  assert.ok(row >= 3, 'BTCUSDT, ETHUSDT and blank rows');
  const blank = await page.$$eval('[data-testid=limits-instruments] input[data-field$=".id"]', (inputs) => inputs.find((i) => i.value === '').dataset.field);
  const n = blank.split('.')[1];
  await page.fill(`[data-field="instruments.${n}.id"]`, 'SOLUSDT');
  await page.fill(`[data-field="instruments.${n}.max_position_notional"]`, 'a lot');
  await page.click('[data-testid=limits-check]');
  await page.waitForSelector(`[data-error-for="instruments.${n}.max_position_notional"]`);
  assert.equal(await page.textContent(`[data-error-for="instruments.${n}.max_position_notional"]`), 'not a number');
  assert.equal(await page.inputValue(`[data-field="instruments.${n}.id"]`), 'SOLUSDT', 'the draft keeps what was typed');
  await page.fill(`[data-field="instruments.${n}.max_position_notional"]`, '75,000');
  await page.click('[data-testid=limits-check]');
  await page.waitForSelector('[data-testid=limits-diff] li');
  assert.match(await page.textContent('[data-testid=limits-diff]'), /compliance\.instruments\.SOLUSDT\.max_position_notional: —\s*→\s*75000/);
  // Saving without a reason is refused by the server, with nothing saved.
  await page.click('[data-testid=limits-save]');
  await page.waitForSelector('[data-testid=limits-errors]');
  assert.match(await page.textContent('[data-testid=limits-errors]'), /reason/);
  await page.fill('[data-testid=limits-reason]', 'new SOL desk: position limit 75k USD');
  await page.click('[data-testid=limits-save]');
  await page.waitForSelector('[data-testid=limits-saved]');
  await page.screenshot({ path: '/tmp/compliance-limits-form.png', fullPage: true });
  const { body } = await app.get('/api/v1/config');
  assert.equal(body.config.compliance.instruments.SOLUSDT.max_position_notional, '75000');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the monthly report downloads with the counts the API gives', async () => {
  const page = await open(risk, app.base + '/compliance');
  await page.waitForSelector('[data-testid=download-monthly]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-monthly]')]);
  const path = await download.path();
  const html = (await import('node:fs')).readFileSync(path, 'utf8');
  const { body } = await app.get('/api/v1/compliance/issues');
  assert.match(html, new RegExp(`data-testid="monthly-opened" class="num">${body.total}<`));
  assert.match(download.suggestedFilename(), /^compliance-\d{4}-\d{2}\.html$/);
  await page.close();
});

test('risk changes a breaker limit in the settings form: the range error is named, the diff shown, then saved', async () => {
  const page = await open(risk, app.base + '/config/settings');
  await page.waitForSelector('[data-testid=settings-form]');
  const field = '[data-field="/breakers/max_open_orders"]';
  await page.fill(field, '0');
  await page.click('[data-testid=settings-check]');
  await page.waitForSelector('[data-error-for="/breakers/max_open_orders"]');
  assert.match(await page.textContent('[data-error-for="/breakers/max_open_orders"]'), /at least 1/);
  await page.fill(field, '25');
  await page.click('[data-testid=settings-check]');
  await page.waitForSelector('[data-testid=settings-diff] li');
  assert.match(await page.textContent('[data-testid=settings-diff]'), /breakers\.max_open_orders: 20\s*→\s*25/);
  await page.fill('[data-testid=settings-reason]', 'more open orders for the SOL desk');
  await page.click('[data-testid=settings-save]');
  await page.waitForSelector('[data-testid=settings-saved]');
  const { body } = await app.get('/api/v1/config');
  assert.equal(body.config.breakers.max_open_orders, 25);
  assert.deepEqual(page.errors, []);
  await page.close();
});
