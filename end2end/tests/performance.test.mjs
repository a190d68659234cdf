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
  await page.screenshot({ path: 'screenshots/performance.png', fullPage: true });
  // The same tearsheet at the native bar interval (every mark, not one a day).
  const native = (await app.get('/api/v1/metrics?interval=native')).body;
  await page.click('[data-testid=interval-native]');
  await page.waitForFunction(() => /bar returns/.test(document.querySelector('[data-testid=performance-span]')?.textContent ?? ''));
  assert.match(await page.textContent('[data-testid=performance-span]'), new RegExp(`^${native.periods} bar returns`));
  assert.equal(await row('Sharpe'), native.sharpe.toFixed(2), 'the native-interval Sharpe of the API');
  assert.deepEqual(page.errors, []);
  await page.close();
});

// A book in 2019 (inside the bundled S&P 500 and factor data): a long in AAA with factor
// exposures, opened, marked for 40 days with BBB alongside, and closed by an exit signal; a
// position in BBB stays open.
const DAY_2019 = Date.parse('2019-03-04T15:00:00Z');
const at = (days, ms = 0) => new Date(DAY_2019 + days * DAY + ms).toISOString();
function book() {
  const ev = [];
  const mark = (id, days, instrument, mid, ms = 0) => ev.push({ event_id: id, kind: 'market_snapshot', ts: at(days, ms), instrument, bid: (mid - 0.01).toFixed(2), ask: (mid + 0.01).toFixed(2), mid: mid.toFixed(2), last: mid.toFixed(2), volume: '100' });
  const trade = (p, days, instrument, side, qty, px, intent, extra = {}) => {
    ev.push({ event_id: `${p}-s`, kind: 'signal', ts: at(days, 1), signal_id: `${p}-sig`, automation_id: 'e2e-auto', instrument, intent, signal_type: 'momentum', side, strength: 0.6,
      features: extra.features ?? {}, model_version: 'v1', prediction: 0.01, confidence: 0.7, ...(extra.signal ?? {}) });
    ev.push({ event_id: `${p}-o`, kind: 'order', ts: at(days, 30_000), order_id: `${p}-ord`, signal_id: `${p}-sig`, instrument, side, quantity: String(qty), order_type: 'market', status: 'submitted' });
    ev.push({ event_id: `${p}-f`, kind: 'fill', ts: at(days, 31_000), fill_id: `${p}-fill`, order_id: `${p}-ord`, quantity: String(qty), price: px.toFixed(2), fee: '1.00', fee_currency: 'USD', liquidity: 'taker' });
    ev.push({ event_id: `${p}-o2`, kind: 'order', ts: at(days, 31_001), order_id: `${p}-ord`, signal_id: `${p}-sig`, instrument, side, quantity: String(qty), order_type: 'market', status: 'filled' });
  };
  mark('b-a0', 0, 'AAA', 100); mark('b-b0', 0, 'BBB', 50);
  trade('b-in', 0, 'AAA', 'buy', 1000, 100.01, 'entry', { features: { beta_mtum: 0.8, beta_usmv: 0.3 }, signal: { stop_loss: 90 } });
  trade('b-in2', 0, 'BBB', 'buy', 500, 50.01, 'entry');
  let a = 100, b = 50;
  for (let d = 1; d <= 40; d++) {
    a *= 1 + 0.01 * Math.sin(d * 1.3) + 0.002;
    b *= 1 + 0.012 * Math.sin(d * 1.3 + 0.4);
    mark(`b-a${d}`, d, 'AAA', a); mark(`b-b${d}`, d, 'BBB', b);
  }
  trade('b-out', 40, 'AAA', 'sell', 1000, a - 0.02, 'exit', { signal: { response_window_secs: 600 } });
  mark('b-a41', 41, 'AAA', a * 0.97); mark('b-b41', 41, 'BBB', b);
  return ev;
}

test('the KPIs, Attribution, Execution and Risk pages show the API figures and drill down to a week', async () => {
  const app2 = await startConsole();
  try {
    const risk = await signIn(browser, app2.base, 'risk');
    await app2.post(book());
    const api = (await app2.get('/api/v1/metrics')).body;

    // KPIs: the week of the exit, from a click on its point.
    const kpis = await open(risk, app2.base + '/kpis');
    await kpis.waitForSelector('[data-testid=kpi-table]');
    assert.match(await kpis.textContent('[data-testid=kpi-trend-eaw] h2'), /EAW% — target >= 90%/, 'the target band from config');
    const hits = await kpis.$$('[data-testid=kpi-trend-eaw] .hit');
    assert.equal(hits.length, api.exit_kpis.weekly.filter(([, v]) => v.eaw !== null).length, 'one click target per weekly point');
    await hits[hits.length - 1].click();
    await kpis.waitForSelector('[data-testid=kpi-week-title]');
    const week = await hits[hits.length - 1].getAttribute('data-week');
    const detail = (await app2.get(`/api/v1/kpis/week?week=${week}`)).body;
    assert.equal(detail.exits.length, 1);
    assert.match(await kpis.textContent('[data-testid=kpi-week-exits]'), /b-out-sig/, 'the exit signal behind the point');
    assert.match(await kpis.textContent('[data-testid=kpi-week-trades]'), /AAA.*avoided/s, 'and the trade it closed');
    await kpis.screenshot({ path: 'screenshots/kpis.png', fullPage: true });
    assert.deepEqual(kpis.errors, []);

    // Attribution: totals, factors and regimes as the API has them.
    const attr = await open(risk, app2.base + '/attribution');
    await attr.waitForSelector('[data-testid=factor-attribution]');
    const total = api.attribution.total;
    assert.match(await attr.textContent('[data-testid=attribution-total]'), new RegExp(`over ${api.attribution.trades} trades`));
    const factorRows = await attr.$$eval('[data-testid=factor-attribution] tbody tr', (rows) => rows.map((r) => [r.cells[0].textContent, r.cells[2].textContent]));
    assert.deepEqual(factorRows.map((r) => r[0]), ['MTUM', 'QUAL', 'SIZE', 'USMV', 'VLUE', 'residual']);
    const sum = api.factor_attribution.by_factor.reduce((s, b) => s + Number(b.pnl), 0);
    assert.ok(Math.abs(sum - Number(total)) < 1e-9, 'factors + residual = total');
    assert.notEqual(Number(api.factor_attribution.by_factor[0].pnl), 0, 'MTUM moved over the 40 days');
    assert.ok((await attr.$$('[data-testid=regime-stats] tbody tr')).length >= 3, 'performance by regime');
    assert.equal(api.regimes.stats.length, (await attr.$$('[data-testid=regime-stats] tbody tr')).length);
    await attr.screenshot({ path: 'screenshots/attribution.png', fullPage: true });
    assert.deepEqual(attr.errors, []);

    // Execution: the parts of three fills.
    const exec = await open(risk, app2.base + '/execution');
    await exec.waitForSelector('[data-testid=slippage-table]');
    assert.match(await exec.textContent('[data-testid=slippage-table]'), new RegExp(`All fills${api.slippage.total.fills}`));
    assert.ok(await exec.$('[data-testid=execution-parts] svg'));
    assert.deepEqual(exec.errors, []);

    // Risk: the open BBB position, its concentration, and the correlation heatmap.
    const rp = await open(risk, app2.base + '/risk');
    await rp.waitForSelector('[data-testid=correlation-heatmap] svg');
    assert.equal(api.risk.concentration.hhi, 1, 'one open position');
    assert.equal(await rp.textContent('[data-testid=risk-hhi]'), '1.000');
    assert.equal(api.risk.correlation.instruments.length, 2);
    assert.ok(api.risk.correlation.matrix[0][1] > 0.5, 'AAA and BBB move together');
    assert.match(await rp.textContent('[data-testid=risk-positions]'), /BBB/);
    assert.ok(await rp.$('[data-testid=exposure-chart] svg'));
    await rp.screenshot({ path: 'screenshots/risk.png', fullPage: true });
    assert.deepEqual(rp.errors, []);
    await risk.close();
  } finally {
    app2.stop();
  }
});
