import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startConsole, launchBrowser, open, signIn, ts, roundTrip } from './harness.mjs';

const DAY = 86_400_000;
let app, browser, risk, investor;
before(async () => {
  app = await startConsole();
  browser = await launchBrowser();
  risk = await signIn(browser, app.base, 'risk');
  investor = await signIn(browser, app.base, 'investor');
  // A position marked daily for 14 days from Thursday 2024-10-24: 2024-W44 is complete.
  await app.post(roundTrip());
  const marks = [];
  for (let d = 1; d <= 14; d++) {
    const mid = String(68_000 + ((d * 137) % 900) - 300);
    marks.push({ event_id: `m${d}`, kind: 'market_snapshot', ts: ts(d * DAY), instrument: 'BTCUSDT', bid: mid, ask: mid, mid, last: mid, volume: '10' });
  }
  await app.post(marks);
});
after(async () => { await browser?.close(); app?.stop(); });

/// Reloads `url` until `selector` is there (the schedule runs every 10 s).
async function waitFor(context, url, selector, ms = 40_000) {
  const page = await open(context, url);
  const until = Date.now() + ms;
  while (!(await page.$(selector))) {
    if (Date.now() > until) throw new Error(`${selector} did not appear on ${url}`);
    await page.waitForTimeout(1_000);
    await page.reload();
    await page.waitForSelector('body[data-hydrated]');
  }
  return page;
}

test('an investor sees the track record and the signed checkpoints, and downloads the week as PDF and HTML', async () => {
  const portal = await waitFor(investor, app.base + '/investor', '[data-testid=checkpoints] tbody tr');
  await portal.waitForSelector('[data-testid=investor-kpis]');
  assert.match(await portal.textContent('[data-testid=checkpoint-key]'), /^[0-9a-f]{64}$/);
  assert.match(await portal.textContent('[data-testid=checkpoints] tbody tr'), /valid/);
  await portal.screenshot({ path: 'screenshots/investor-portal.png', fullPage: true });

  const page = await waitFor(investor, app.base + '/reports', '[data-testid=report-2024-W44]');
  assert.equal(await page.$('[data-testid=generate-form]'), null, 'no generate button for an investor');
  const [pdf] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-pdf-2024-W44]')]);
  assert.equal(pdf.suggestedFilename(), 'tradewatch-report-2024-W44.pdf');
  const pdfBytes = readFileSync(await pdf.path());
  assert.equal(pdfBytes.subarray(0, 5).toString(), '%PDF-');
  const [html] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-html-2024-W44]')]);
  const htmlText = readFileSync(await html.path(), 'utf8');
  assert.match(htmlText, /Executive summary/);
  assert.doesNotMatch(htmlText, /<script/i);
  // The recorded hash is the downloaded file's.
  const { body } = await app.get('/api/v1/reports');
  const { createHash } = await import('node:crypto');
  assert.equal(createHash('sha256').update(pdfBytes).digest('hex'), body.reports.find((r) => r.week === '2024-W44').pdf_sha256);

  await page.click('a[href="/reports/2024-W44"]');
  await page.waitForSelector('[data-testid=report-body] h2');
  assert.match(await page.textContent('[data-testid=report-body]'), /Sharpe/);
  await page.screenshot({ path: 'screenshots/report-page.png', fullPage: false });
  assert.deepEqual(page.errors, []);
  // No operations page for an investor.
  const ops = await open(investor, app.base + '/execution');
  assert.match(ops.url(), /\/investor$/);
});

test('risk generates a week now; the archive shows it', async () => {
  const page = await open(risk, app.base + '/reports');
  await page.fill('[data-testid=generate-form] input[name=week]', '2024-W43');
  await page.click('[data-testid=generate-now]');
  await page.waitForSelector('[data-testid=report-done]');
  assert.match(page.url(), /done=2024-W43/);
  await page.waitForSelector('[data-testid=report-2024-W43]');
  await page.fill('[data-testid=generate-form] input[name=week]', 'last week');
  await page.click('[data-testid=generate-now]');
  await page.waitForSelector('[data-testid=report-error]');
  assert.match(await page.textContent('[data-testid=report-error]'), /ISO week/);
  await page.screenshot({ path: 'screenshots/reports.png', fullPage: true });
});

test('an operations user exports the fills as Parquet and the log as CSV from the audit page', async () => {
  const page = await open(risk, app.base + '/audit');
  await page.click('[data-testid=export] summary');
  await page.selectOption('[data-testid=export-dataset]', 'fills');
  await page.selectOption('[data-testid=export-format]', 'parquet');
  const [parquet] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-download]')]);
  assert.equal(parquet.suggestedFilename(), 'tradewatch-fills.parquet');
  const bytes = readFileSync(await parquet.path());
  assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
  assert.equal(bytes.subarray(-4).toString(), 'PAR1');
  await page.selectOption('[data-testid=export-dataset]', 'events');
  await page.selectOption('[data-testid=export-format]', 'csv');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-download]')]);
  const text = readFileSync(await csv.path(), 'utf8');
  assert.match(text.split('\n')[0], /^seq,event_id,kind,ts,received_at/);
  assert.ok(text.split('\n').length > 20, 'every event of the log');
  await page.screenshot({ path: 'screenshots/export.png' });
});

test('an investor reads every tab of the portal: track record, methodology, backtest, disclosures, decision records', async () => {
  const page = await open(investor, app.base + '/investor');
  await page.waitForSelector('[data-testid=monthly-returns] tbody tr');
  // Three rows a year (gross, net, S&P 500) and a Year column; October 2024 has a figure.
  const rows = await page.$$eval('[data-testid=monthly-returns] tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.equal(rows.length % 3, 0);
  assert.match(rows[0], /2024\*?\s*Gross/);
  assert.match(await page.textContent('[data-testid=track-record]'), /net of fees/);
  assert.match(await page.textContent('[data-testid=presentation-notes]'), /time-weighted/);
  assert.doesNotMatch(await page.textContent('main'), /BTCUSDT/, 'the track record names no instrument');
  await page.screenshot({ path: 'screenshots/investor-track-record.png', fullPage: true });

  await page.click('[data-testid=portal-nav] a[href="/investor/methodology"]');
  await page.waitForSelector('[data-testid=methodology] h2');
  const first = await page.textContent('[data-testid=methodology] h2');
  await page.click('.doc-pager a:has-text("→")');
  await page.waitForFunction((t) => document.querySelector('[data-testid=methodology] h2')?.textContent !== t, first);
  assert.match(page.url(), /\/investor\/methodology\/[a-z0-9-]+$/);
  await page.screenshot({ path: 'screenshots/investor-methodology.png', fullPage: false });

  await page.click('[data-testid=portal-nav] a[href="/investor/backtest"]');
  await page.waitForSelector('[data-testid=simulated-label]');
  assert.match(await page.textContent('[data-testid=backtest-models]'), /Latency model/);

  await page.click('[data-testid=portal-nav] a[href="/investor/disclosures"]');
  await page.waitForSelector('[data-testid=disclosures]');
  assert.match(await page.textContent('[data-testid=disclosures]'), /Loss of capital/);

  await page.click('[data-testid=portal-nav] a[href="/investor/decisions"]');
  await page.waitForSelector('[data-testid=decisions-empty], [data-testid=decision-records]');
  assert.deepEqual(page.errors, []);
  // The data behind an operations page stays closed to an investor, as the page does.
  const res = await page.request.post(app.base + '/api/get_dashboard', { form: {} });
  assert.equal(res.status(), 403);
});
