// The Performance page: a tearsheet of the console's daily equity returns, checked in Chromium,
// with its figures equal to the metrics API's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startConsole, launchBrowser, open, roundTrip, signIn, ts } from './harness.mjs';

let app, browser, auditor;
before(async () => {
  app = await startConsole();
  browser = await launchBrowser();
  auditor = await signIn(browser, app.base, 'auditor');
});
after(async () => { await browser?.close(); app?.stop(); });

const DAY = 86_400_000;

test('the performance page shows the metric set, charts and monthly returns of the equity', async () => {
  const empty = await open(auditor, app.base + '/performance');
  await empty.waitForSelector('[data-testid=performance-empty]');
  await empty.close();
  // A position held over 40 days of marks: enough for daily returns across two months.
  const events = roundTrip('p-');
  let mid = 67_500;
  for (let d = 1; d <= 40; d++) {
    mid = Math.round(mid * (1 + 0.03 * Math.sin(d * 1.7)));
    events.push({ event_id: `p-m${d}`, kind: 'market_snapshot', ts: ts(d * DAY), instrument: 'BTCUSDT', bid: String(mid - 1), ask: String(mid + 1), mid: String(mid), last: String(mid), volume: '5' });
  }
  await app.post(events);
  const page = await open(auditor, app.base + '/performance');
  await page.waitForSelector('[data-testid=metrics-table]');
  const api = (await app.get('/api/v1/metrics')).body;
  assert.equal(api.periods, 40);
  assert.match(await page.textContent('[data-testid=performance-span]'), /^40 daily returns/);
  const row = async (label) => page.evaluate((l) => [...document.querySelectorAll('[data-testid=metrics-table] tr')].find((tr) => tr.cells[0].textContent === l)?.cells[1].textContent, label);
  assert.equal(await row('Sharpe'), api.sharpe.toFixed(2), 'the page shows the API figure');
  assert.equal(await row('Max drawdown'), `${(api.max_drawdown * 100).toFixed(2)}%`);
  assert.ok(await page.$('[data-testid=growth-chart] svg'), 'the growth chart is an SVG');
  assert.match(await page.textContent('[data-testid=trade-table]'), new RegExp(`^Trades \\(won / lost\\)${api.trades.trades} `), 'per-trade figures beside the per-period ones');
  assert.equal((await page.$$('[data-testid=monthly-returns] tbody tr')).length, api.yearly_returns.length);
  assert.match(await page.textContent('[data-testid=kpi-table]'), /SLAR/, 'exit-quality KPIs on the page');
  assert.equal((await page.$$('[data-testid=attribution]')).length, 4, 'PnL attribution four ways');
  assert.match(await page.textContent('[data-testid=slippage-table]'), /All fills1/, 'the one fill in the slippage decomposition');
  await page.screenshot({ path: 'screenshots/performance.png', fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});
