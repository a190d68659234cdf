import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startConsole, launchBrowser, open, roundTrip, signIn, ts } from './harness.mjs';

let consoleApp, browser, trader;
before(async () => {
  consoleApp = await startConsole();
  browser = await launchBrowser();
  trader = await signIn(browser, consoleApp.base, 'trader');
});
after(async () => { await browser?.close(); consoleApp?.stop(); });

test('the dashboard renders, hydrates, and its chart tabs respond', async () => {
  const page = await open(trader, consoleApp.base + '/');
  assert.match(await page.textContent('h1'), /Trading dashboard/);
  assert.match(await page.textContent('.empty-state'), /No events yet/);
  await page.click('[data-testid=chart-drawdown]');
  await page.waitForFunction(() => document.querySelector('.panel-head h2')?.textContent === 'Drawdown (%)');
  assert.ok(await page.$eval('[data-testid=chart-drawdown]', (b) => b.classList.contains('active')));
  await page.click('[data-testid=chart-equity]');
  await page.waitForFunction(() => document.querySelector('.panel-head h2')?.textContent === 'Equity curve (USD)');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the browser bundle: hashed names, served gzip with a one-year cache, and the page hydrates', async () => {
  const res = await fetch(consoleApp.base + '/login');
  const html = await res.text();
  const assets = [...html.matchAll(/\/pkg\/tradewatch\.([0-9a-f]{16})\.(js|wasm|css)/g)].map((m) => m[0]);
  assert.deepEqual(new Set(assets.map((a) => a.split('.').pop())), new Set(['js', 'wasm', 'css']), `hashed names in the page: ${assets}`);
  for (const a of new Set(assets)) {
    const r = await fetch(consoleApp.base + a, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.status, 200, a);
    assert.equal(r.headers.get('content-encoding'), 'gzip', `${a} served precompressed`);
    assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable', a);
  }
  const missing = await fetch(consoleApp.base + '/pkg/tradewatch.0000000000000000.js');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('cache-control'), null, 'a 404 is not cached');
  // Hydration time of this (debug) build, printed for the record; the release figure is in the README.
  const page = await open(trader, consoleApp.base + '/login');
  const ms = await page.evaluate(() => performance.now());
  console.log(`# hydrated /login in <= ${ms.toFixed(0)} ms (debug bundle)`);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('PnL on an open dashboard changes when events are posted, without a reload', async () => {
  const page = await open(trader, consoleApp.base + '/');
  await page.waitForSelector('[data-testid=live-status].on', { timeout: 10_000 });
  await page.evaluate(() => { window.__noReload = true; });
  assert.equal((await page.textContent('[data-testid=pnl-total]')).trim(), '0.00');
  await consoleApp.post(roundTrip());
  // unrealized 0.1 x (68,000 - 67,500.25) = 49.975, minus the 0.0675 fee = 49.9075
  await page.waitForFunction(() => document.querySelector('[data-testid=pnl-total]')?.textContent.trim() === '+49.91', null, { timeout: 10_000 });
  assert.equal((await page.textContent('[data-testid=pnl-unrealized]')).trim(), '+49.98');
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
  await page.waitForSelector('[data-testid=chart] svg');
  assert.match(await page.textContent('[data-testid=positions]'), /BTCUSDT/);
  assert.match(await page.textContent('[data-testid=signals]'), /sig-1/);
  // A later mark moves unrealized PnL live too.
  await consoleApp.post([{ event_id: 'mark-2', kind: 'market_snapshot', ts: ts(120_000), instrument: 'BTCUSDT',
    bid: '66999', ask: '67001', mid: '67000', last: '67000', volume: '1' }]);
  await page.waitForFunction(() => document.querySelector('[data-testid=pnl-total]')?.textContent.trim() === '-50.09', null, { timeout: 10_000 });
  await page.screenshot({ path: 'screenshots/dashboard.png', fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the audit filter narrows the log and the chain verifies', async () => {
  const page = await open(trader, consoleApp.base + '/audit');
  await page.selectOption('select[name=kind]', 'fill');
  await page.click('[data-testid=filter]');
  await page.waitForURL(/kind=fill/);
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid=events] tbody tr')];
    return rows.length > 0 && rows.every((r) => r.children[1].textContent === 'fill');
  });
  // The instrument filter takes in the fill, which names its order: its cell links to the order.
  await page.selectOption('select[name=kind]', '');
  await page.fill('input[name=instrument]', 'BTCUSDT');
  await page.click('[data-testid=filter]');
  await page.waitForURL(/instrument=BTCUSDT/);
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid=events] tbody tr')];
    return rows.some((r) => r.children[1].textContent === 'fill') && rows.some((r) => r.children[1].textContent === 'order');
  });
  const fillOrder = await page.textContent('[data-testid=events] tbody tr [data-testid=fill-order]');
  assert.match(fillOrder, /^order \S*ord-1$/);
  await page.click('[data-testid=events] tbody tr [data-testid=fill-order]');
  await page.waitForURL(/\/audit\?id=\S*ord-1$/);
  await page.waitForFunction(() => {
    const kinds = [...document.querySelectorAll('[data-testid=events] tbody tr')].map((r) => r.children[1].textContent);
    // The order's page: its order events and its fill (and any finding on it), none of the
    // instrument's marks or signals.
    return kinds.includes('order') && kinds.includes('fill') && kinds.every((k) => ['order', 'fill', 'compliance_issue'].includes(k));
  });
  await page.fill('input[name=instrument]', '');
  await page.fill('input[name=id]', 'nothing-has-this-id');
  await page.click('[data-testid=filter]');
  await page.waitForSelector('[data-testid=no-events]');
  await page.click('[data-testid=verify]');
  await page.waitForFunction(() => /chain verified: \d+ events/.test(document.querySelector('[data-testid=verify-result]')?.textContent ?? ''));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a signal opens its lineage, and a step opens the stored event', async () => {
  const page = await open(trader, consoleApp.base + '/signals');
  await page.click('[data-testid=signals] a:text("sig-1")');
  await page.waitForURL(/\/trades\/sig-1$/);
  await page.waitForSelector('[data-testid=lineage] li');
  const kinds = await page.$$eval('[data-testid=lineage] .step-kind', (els) => els.map((e) => e.textContent));
  assert.deepEqual(kinds, ['signal', 'risk_check', 'order', 'fill', 'order']);
  assert.equal((await page.textContent('[data-testid=signal-to-order]')).trim(), '30 ms');
  await page.click('[data-testid=lineage] li.fill a');
  await page.waitForURL(/\/audit\/\d+$/);
  await page.waitForSelector('[data-testid=event-detail]');
  assert.match(await page.textContent('pre.raw'), /"fill_id": "fill-1"/);
  assert.match(await page.textContent('[data-testid=event-detail]'), /[0-9a-f]{64}/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the chart chosen stays chosen when the live stream redraws the dashboard', async () => {
  const page = await open(trader, consoleApp.base + '/');
  await page.waitForSelector('[data-testid=live-status].on', { timeout: 10_000 });
  await page.click('[data-testid=chart-drawdown]');
  await page.waitForFunction(() => document.querySelector('.panel-head h2')?.textContent === 'Drawdown (%)');
  assert.ok(await page.isVisible('[data-chart-pane=drawdown] svg'), 'the drawdown chart is shown');
  assert.ok(!(await page.isVisible('[data-chart-pane=equity]')), 'the equity chart is hidden');
  const before = (await page.textContent('[data-testid=head-seq]')).trim();
  await consoleApp.post([{ event_id: 'mark-redraw', kind: 'market_snapshot', ts: ts(180_000), instrument: 'BTCUSDT',
    bid: '67499', ask: '67501', mid: '67500', last: '67500', volume: '1' }]);
  // The live stream swaps in the server's new HTML (a new head seq)...
  await page.waitForFunction((b) => document.querySelector('[data-testid=head-seq]')?.textContent.trim() !== b, before, { timeout: 10_000 });
  // ...and the drawdown chart is still the one shown.
  assert.equal(await page.textContent('.panel-head h2'), 'Drawdown (%)');
  assert.ok(await page.$eval('[data-testid=chart-drawdown]', (b) => b.classList.contains('active')));
  assert.ok(!(await page.$eval('[data-testid=chart-equity]', (b) => b.classList.contains('active'))));
  assert.ok(await page.isVisible('[data-chart-pane=drawdown] svg'));
  assert.ok(!(await page.isVisible('[data-chart-pane=equity]')));
  await page.click('[data-testid=chart-equity]');
  await page.waitForFunction(() => document.querySelector('.panel-head h2')?.textContent === 'Equity curve (USD)');
  assert.ok(await page.isVisible('[data-chart-pane=equity] svg'));
  assert.deepEqual(page.errors, []);
  await page.close();
});
