// The HTML view in a real browser: Debian's chromium, headless, driven by
// playwright-core. Runs sample programs under `heapgap run`, writes their
// pages with `heapgap view`, and checks what a person would see against
// `heapgap report --format json` for the same traces. Screenshots go to
// $VIEWER_ARTIFACTS.
//
// Environment (set by tests/viewer/CMakeLists.txt): HEAPGAP_BIN,
// HEAPGAP_SAMPLES, HTML_NAME, VIEWER_ARTIFACTS, NODE_PATH.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { chromium } = require('playwright-core');

const HEAPGAP = process.env.HEAPGAP_BIN;
const SAMPLES = process.env.HEAPGAP_SAMPLES;
const HTML_NAME = process.env.HTML_NAME;
const ARTIFACTS = process.env.VIEWER_ARTIFACTS || path.join(os.tmpdir(), 'heapgap-viewer-artifacts');

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const HTML_FUNCTION = '<img src=x onerror=alert(1)>';
const HTML_CALLEE = '</script><b>bold</b>';
const HTML_ARGUMENT = '<script>alert(2)</script>';

let work;
let userData;
let context;
const traces = {};

const fmt = (n) => new Intl.NumberFormat('en-US').format(n);

function heapgap(...args) {
  return execFileSync(HEAPGAP, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Runs a program under `heapgap run` into its own directory under `work`,
// copies the trace into work/all/ and returns its path.
function trace(name, argv) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  heapgap('run', '-q', '-o', dir + '/', ...argv);
  const files = fs.readdirSync(dir);
  assert.equal(files.length, 1, 'one trace for ' + name);
  const file = path.join(dir, files[0]);
  fs.copyFileSync(file, path.join(work, 'all', files[0]));
  return file;
}

// The page of `file`, with the JSON report of the same trace.
function pageFor(file) {
  heapgap('view', '-q', file);
  return { url: pathToFileURL(file + '.html').href, report: JSON.parse(heapgap('report', '--format', 'json', file)) };
}

// Opens `url` in a fresh tab; collects console errors, page errors, dialogs
// and any request that is not the page itself.
async function open(url) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push('console ' + m.type() + ': ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('dialog', async (d) => {
    problems.push('dialog: ' + d.message());
    await d.dismiss();
  });
  page.on('request', (r) => {
    if (r.url() !== url && !r.url().startsWith(url + '#')) problems.push('request: ' + r.url());
  });
  const started = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('[data-testid=cards], [data-testid=processes]'));
  const loadMs = Date.now() - started;
  return { page, problems, loadMs };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, name + '.png'), fullPage: true });
}

async function text(page, selector) {
  return (await page.locator(selector).first().textContent()).trim();
}

before(async () => {
  for (const [name, value] of Object.entries({ HEAPGAP_BIN: HEAPGAP, HEAPGAP_SAMPLES: SAMPLES, HTML_NAME })) {
    assert.ok(value, name + ' must be set');
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'heapgap-viewer-'));
  fs.mkdirSync(path.join(work, 'all'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  traces.leaky = trace('leaky', [path.join(SAMPLES, 'leaky')]);
  traces.fragment = trace('fragment', [path.join(SAMPLES, 'fragment')]);
  traces.html = trace('html', [HTML_NAME, HTML_ARGUMENT]);
  // A fresh profile: playwright passes it to chromium as --user-data-dir.
  userData = fs.mkdtempSync(path.join(os.tmpdir(), 'heapgap-chromium-'));
  context = await chromium.launchPersistentContext(userData, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1400, height: 900 },
  });
});

after(async () => {
  if (context) await context.close();
  for (const dir of [work, userData]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('leaky: the figures of the JSON report, and a leak row opens its stack', async () => {
  const { url, report } = pageFor(traces.leaky);
  const { page, problems, loadMs } = await open(url);
  assert.ok(loadMs < 10000, 'opened in ' + loadMs + ' ms');

  assert.equal(await text(page, '[data-testid=figure-leaked]'), fmt(report.leaks.bytes) + ' B');
  assert.equal(report.leaks.bytes, 41160);
  assert.equal(await text(page, '[data-testid=figure-peak]'), fmt(report.peak.live_bytes) + ' B');
  assert.equal(await text(page, '[data-testid=figure-allocations]'), fmt(report.totals.allocations));
  assert.match(await text(page, '[data-testid=title]'), new RegExp('^leaky \\(pid ' + report.process.pid + '\\)$'));

  const rows = page.locator('[data-testid=leaks-row]');
  assert.equal(await rows.count(), report.leaks.records.length);
  const first = report.leaks.records[0];
  assert.match(await rows.first().textContent(), new RegExp(fmt(first.bytes) + ' B'));
  await rows.first().click();
  const stack = page.locator('[data-testid=stack-row]');
  await stack.waitFor();
  const stackText = await stack.textContent();
  for (const frame of first.stack) {
    if (frame.function) assert.ok(stackText.includes(frame.function), 'stack shows ' + frame.function);
  }
  assert.match(stackText, /leak_big \(.*leaky\.c:\d+\)/);
  // A second click closes it.
  await rows.first().click();
  assert.equal(await page.locator('[data-testid=stack-row]').count(), 0);

  // Flame graph totals per measure are the report's.
  const flame = await page.evaluate(() => {
    const f = window.HG.app.flame;
    const out = { measure: f.measure, leaked: f.root().value };
    f.setMeasure('allocated');
    out.allocated = f.root().value;
    f.setMeasure('peak');
    out.peak = f.root().value;
    f.setMeasure('temporary');
    out.temporary = f.root().value;
    f.inverted = true;
    f.render();
    out.invertedTop = f.root().sorted.map((n) => n.name);
    f.inverted = false;
    f.setMeasure('leaked');
    return out;
  });
  assert.equal(flame.measure, 'leaked');
  assert.equal(flame.leaked, report.leaks.bytes);
  assert.equal(flame.allocated, report.totals.bytes_allocated);
  assert.equal(flame.peak, report.peak.live_bytes);
  assert.equal(flame.temporary, report.totals.temporary_allocations);
  assert.deepEqual(flame.invertedTop, ['churn']);
  await page.fill('[data-testid=flame-search]', 'leak_big');
  assert.equal(await text(page, '[data-testid=flame-match]'), 'matched 40,000 B (39.1 KiB) (97.2%)');

  // Other lists, and sorting by a column.
  await page.click('button[data-list=most_allocations]');
  assert.equal(await page.locator('[data-testid=most_allocations-row]').count(), report.most_allocations.records.length);
  await page.click('button[data-list=leaks]');
  await page.click('[data-testid=leaks-table] th[data-column=blocks]');
  assert.match(await page.locator('[data-testid=leaks-row]').first().locator('td.site').textContent(), /^leak_small /);

  await page.fill('[data-testid=flame-search]', '');
  await shot(page, 'leaky');
  assert.deepEqual(problems, []);
  await page.close();
});

test('fragment: the heap map highlights the block that pins the freed heap', async () => {
  const { url, report } = pageFor(traces.fragment);
  const { page, problems } = await open(url);
  assert.equal(report.leaks.bytes, 4096);
  assert.equal(await text(page, '[data-testid=figure-leaked]'), '4,096 B');
  assert.equal(await text(page, '[data-testid=figure-peak]'), fmt(report.peak.live_bytes) + ' B');

  // At the end: the main heap's topmost live chunk is make_pin's 4096 B
  // block, with the ~19 MB drained by drain() free below it.
  const main = page.locator('[data-testid=heap-region][data-kind=main]');
  assert.equal(await main.count(), 1);
  const pinner = main.locator('[data-testid=pinner]');
  assert.equal(await pinner.count(), 1);
  const pinText = await pinner.textContent();
  assert.match(pinText, /^▲ 4,096 B \(4\.00 KiB\) from make_pin \(.*fragment\.c:\d+\)/);
  const pinners = report.heap && Array.isArray(report.heap.pinners) ? report.heap.pinners : null;
  if (pinners) {
    // The report's heap analysis names the pinner and what freeing it gives.
    const pin = pinners.find((p) => p.stack.some((f) => f.function === 'make_pin'));
    assert.ok(pin, 'the heap analysis names make_pin');
    assert.ok(pinText.endsWith('give back ' + fmt(pin.bytes_released_if_freed) + ' B (' + (pin.bytes_released_if_freed / 1048576).toFixed(1) + ' MiB) (heap analysis)'), pinText);
  } else {
    assert.match(pinText, /topmost live chunk/);
  }
  const holes = await page.evaluate(() => {
    const strip = window.HG.app.heapMap.strips.find((s) => s.region.kind === 'main');
    return strip.region.hole_bytes;
  });
  assert.ok(holes > 19000000 && holes < 21000000, 'free below the pin: ' + holes);

  // Clicking the highlighted chunk shows its stack, size and age.
  const box = await page.evaluate(() => {
    const strip = window.HG.app.heapMap.strips.find((s) => s.region.kind === 'main');
    const i = [...strip.pins.keys()][0];
    const c = strip.region.chunk;
    const r = strip.canvas.getBoundingClientRect();
    const scale = r.width / (strip.view[1] - strip.view[0]);
    strip.canvas.scrollIntoView({ block: 'center' });
    const r2 = strip.canvas.getBoundingClientRect();
    return { x: r2.left + (c.offset[i] - strip.view[0]) * scale + Math.max(1, (c.bytes[i] * scale) / 2), y: r2.top + 20 };
  });
  await page.mouse.click(box.x, box.y);
  const details = await text(page, '[data-testid=heap-details]');
  assert.match(details, /requested 4,096 B/);
  assert.match(details, /Pins the heap/);
  assert.match(details, /make_pin/);

  // The same heap at the peak: the 20000 filled blocks are live.
  await page.click('button[data-map=peak]');
  const peakChunks = await page.evaluate(() => window.HG.app.heapMap.strips.reduce((n, s) => n + s.region.live_chunks, 0));
  assert.equal(peakChunks, report.peak.blocks);

  // With the heap analysis, the flame graph weighs stacks by pinned bytes:
  // all of them are make_pin's.
  if (pinners) {
    const pinned = await page.evaluate(() => {
      const f = window.HG.app.flame;
      f.setMeasure('pinned');
      const root = f.root();
      const leaf = (n) => (n.sorted.length ? leaf(n.sorted[0]) : n.name);
      return { total: root.value, leaf: leaf(root) };
    });
    assert.equal(pinned.total, report.heap.pinned_bytes);
    assert.equal(pinned.leaf, 'make_pin');
  }

  // Picking an instant on the timeline shows the nearest heap map.
  await page.click('button[data-map=end]');
  const picked = await page.evaluate(() => {
    const app = window.HG.app;
    app.timeline.onPick(app.report.peak.time_ns);
    return app.heapMap.current.name;
  });
  assert.equal(picked, 'peak');

  if (report.heap && typeof report.heap.hole_bytes === 'number') {
    const holes = report.heap.total_hole_bytes ?? report.heap.hole_bytes;
    assert.equal(await text(page, '[data-testid=figure-holes]'), fmt(holes) + ' B');
  }
  await page.click('button[data-map=end]');
  await page.locator('#heap').scrollIntoViewIfNeeded();
  await shot(page, 'fragment');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a function named with HTML shows as text', async () => {
  const { url, report } = pageFor(traces.html);
  const { page, problems } = await open(url);
  const functions = report.leaks.records.flatMap((r) => r.stack.map((f) => f.function));
  assert.ok(functions.includes(HTML_FUNCTION), 'the symbolizer names the function ' + HTML_FUNCTION);
  assert.ok(functions.includes(HTML_CALLEE));

  assert.equal(await text(page, '[data-testid=cmdline]'), HTML_NAME + ' ' + HTML_ARGUMENT);
  const sites = await page.locator('[data-testid=leaks-row] td.site').allTextContents();
  assert.ok(sites.some((s) => s.startsWith(HTML_FUNCTION + ' (')), sites.join('\n'));
  assert.ok(sites.some((s) => s.startsWith(HTML_CALLEE + ' (')), sites.join('\n'));
  for (const row of await page.locator('[data-testid=leaks-row]').all()) await row.click();
  const stacks = (await page.locator('[data-testid=stack-row]').allTextContents()).join('\n');
  assert.ok(stacks.includes(HTML_FUNCTION) && stacks.includes(HTML_CALLEE));
  await page.click('[data-testid=flame-canvas]', { position: { x: 5, y: 5 } });

  // The bad release (new[] released by free inside the HTML-named function)
  // is listed with both stacks, names as text.
  assert.equal(report.errors.length, 1);
  await page.click('button[data-list=errors]');
  const errorRows = page.locator('[data-testid=errors-row]');
  assert.equal(await errorRows.count(), 1);
  assert.match(await errorRows.first().textContent(), /mismatched free.*free.*operator new\[\]/);
  await errorRows.first().click();
  const both = await text(page, '[data-testid=stack-row]');
  assert.match(both, /^Released at 0x[0-9a-f]+:/);
  assert.ok(both.includes('Allocated at:') && both.includes(HTML_CALLEE) && both.includes(HTML_FUNCTION), both);

  // Nothing was parsed as markup: no image, no bold element, no extra
  // script, no alert.
  const counts = await page.evaluate(() => ({
    img: document.querySelectorAll('img').length,
    b: [...document.querySelectorAll('b')].filter((b) => b.textContent === 'bold').length,
    scripts: document.querySelectorAll('script').length,
    title: document.title,
  }));
  assert.deepEqual(counts, { img: 0, b: 0, scripts: 3, title: 'html_name (' + report.process.pid + ') — heapgap' });
  const flameNames = await page.evaluate(() => {
    const names = [];
    const walk = (n) => {
      names.push(n.name);
      n.sorted.forEach(walk);
    };
    walk(window.HG.app.flame.root());
    return names;
  });
  assert.ok(flameNames.includes(HTML_FUNCTION));
  await shot(page, 'html-names');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a directory: one row per process, each opening its view', async () => {
  const dir = path.join(work, 'all');
  // A trace the process never got to write: listed as unreadable.
  fs.writeFileSync(path.join(dir, 'heapgap.broken.1.trace'), '');
  heapgap('view', '-q', dir);
  const url = pathToFileURL(path.join(dir, 'heapgap-view.html')).href;
  const { page, problems } = await open(url);
  const rows = page.locator('[data-testid=process-row]');
  assert.equal(await rows.count(), 4);
  const texts = await rows.allTextContents();
  const broken = texts.find((t) => t.startsWith('heapgap.broken.1.trace'));
  assert.match(broken, /unreadable: .*empty/);
  const leaky = texts.findIndex((t) => t.startsWith('leaky'));
  assert.ok(leaky >= 0, texts.join('\n'));
  // A process fails when it leaks (by leak class when the report has them:
  // definitely or indirectly lost; else any block in use at exit) or
  // released a block wrongly.
  const failing = Object.values(traces).filter((file) => {
    const report = JSON.parse(heapgap('report', '--format', 'json', file));
    const leaks = report.leaks;
    const classified = leaks.definitely_lost !== undefined;
    const leaked = classified ? leaks.definitely_lost.bytes + leaks.indirectly_lost.bytes > 0 : leaks.bytes > 0;
    return leaked || (report.errors || []).length > 0;
  }).length;
  assert.ok(failing >= 1);
  assert.equal(await page.locator('td.verdict.bad').count(), failing);
  assert.match(texts[leaky], /40\.2 KiB/);
  await shot(page, 'directory');

  await rows.nth(leaky).click();
  await page.waitForSelector('[data-testid=cards]');
  assert.match(await text(page, '[data-testid=title]'), /^leaky \(pid \d+\)$/);
  assert.equal(await text(page, '[data-testid=figure-leaked]'), '41,160 B');
  await page.click('[data-testid=back]');
  await page.waitForSelector('[data-testid=processes]');
  assert.equal(await page.locator('[data-testid=process-row]').count(), 4);
  assert.deepEqual(problems, []);
  await page.close();
});
