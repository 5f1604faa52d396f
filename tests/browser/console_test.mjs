// The console in a real browser: starts cascade-server (this build's, on SQLite in a temporary
// folder), drives Debian's chromium or firefox-esr headless through puppeteer-core (Chrome
// DevTools protocol, or WebDriver BiDi for Firefox), submits the book's scenario through the
// page's form, and checks what the page shows. Then the same with tokens required.
//
//   node console_test.mjs --server PATH --browser chrome|firefox --executable PATH --artifacts DIR
//
// It writes DIR/console-BROWSER.png (the page after the scenario) and, when a check fails,
// DIR/console-BROWSER-failure.png with the page as it was. Exit status 0 only if every check held.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';

const { values: args } = parseArgs({
  options: {
    server: { type: 'string' }, browser: { type: 'string' }, executable: { type: 'string' }, artifacts: { type: 'string' },
  },
});
for (const required of ['server', 'browser', 'executable', 'artifacts']) {
  if (!args[required]) throw new Error(`--${required} is required`);
}
if (!['chrome', 'firefox'].includes(args.browser)) throw new Error('--browser is chrome or firefox');
mkdirSync(args.artifacts, { recursive: true });
const WAIT = { timeout: 30_000 };  // an upper bound for each wait, never a timing claim

/** cascade-server on a free port in `folder`; resolves once it listens. */
function startServer(folder, extra = []) {
  const server = spawn(args.server, ['--listen', '127.0.0.1:0', '--db', join(folder, 'allocation.db'), ...extra], {
    cwd: folder,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  return new Promise((resolve, reject) => {
    // A server that neither listens nor exits fails the test with its log, not ctest's timeout.
    const hung = setTimeout(() => {
      server.kill('SIGKILL');
      reject(new Error(`cascade-server did not listen within ${WAIT.timeout} ms:\n${log}`));
    }, WAIT.timeout);
    const seen = (chunk) => {
      log += chunk;
      const match = log.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (match) {
        clearTimeout(hung);
        resolve({ process: server, port: Number(match[1]), log: () => log });
      }
    };
    server.stdout.on('data', seen);
    server.stderr.on('data', seen);
    server.on('exit', (code) => {
      clearTimeout(hung);
      reject(new Error(`cascade-server exited (${code}) before listening:\n${log}`));
    });
  });
}

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

/** The text of every element matching `selector`. */
const texts = (page, selector) => page.$$eval(selector, (nodes) => nodes.map((n) => n.textContent));

async function fillAndSubmit(page, name, fields) {
  await page.select('#message-name', name);
  for (const [field, value] of Object.entries(fields)) {
    const input = `#field-${field}`;
    await page.$eval(input, (el) => (el.value = ''));
    await page.type(input, String(value));
  }
  await page.click('#submit');
}

/** The book's scenario, through the form the catalog generated. */
async function bookScenario(page, port) {
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => document.getElementById('state-text').textContent === 'connected', WAIT);
  check((await page.$eval('#durable', (el) => el.textContent)) === 'durable', 'the header says the server is durable');
  check(/cascade-server \d+\.\d+\.\d+/.test(await page.$eval('#server-version', (el) => el.textContent)), 'the header shows the server version');
  await page.waitForFunction(() => document.querySelectorAll('#message-name option').length > 0, WAIT);
  const offered = await texts(page, '#message-name option');
  check(offered.includes('AllocationRequired') && !offered.includes('Allocated'), 'the form offers the commands, not the events');
  await page.waitForFunction(() => document.getElementById('feed-status').textContent.startsWith('subscribed'), WAIT);

  // A value its schema refuses is stopped in the page: nothing is sent.
  await fillAndSubmit(page, 'AllocationRequired', { orderid: 'o-bad', sku: 'LAMP', qty: 0 });
  check((await page.$eval('#form-error', (el) => el.textContent)).includes('qty: at least 1'), 'qty 0 is refused by the schema before sending');
  check((await page.$$('#cascades > li')).length === 0, 'nothing was submitted');

  // The scenario by hand: stock, a later batch, an order, a batch that shrinks, an unknown SKU.
  const sku = `LAMP-${Date.now()}`;
  const steps = [
    ['BatchCreated', { ref: `${sku}-b1`, sku, qty: 20 }],
    ['BatchCreated', { ref: `${sku}-b2`, sku, qty: 20, eta: '' }],
    ['AllocationRequired', { orderid: `${sku}-o1`, sku, qty: 10 }],
    ['BatchQuantityChanged', { ref: `${sku}-b1`, sku, qty: 5 }],
    ['AllocationRequired', { orderid: `${sku}-o2`, sku: 'NOPE', qty: 1 }],
  ];
  for (const [i, [name, fields]] of steps.entries()) {
    await fillAndSubmit(page, name, fields);
    // Cards are prepended: the newest is first. Wait for its terminal status.
    await page.waitForFunction((n) => {
      const cards = document.querySelectorAll('#cascades > li');
      return cards.length === n && !['sent', 'running'].includes(cards[0].querySelector('.status-badge').textContent);
    }, WAIT, i + 1);
  }
  const cards = await page.$$eval('#cascades > li', (nodes) =>
    nodes.reverse().map((card) => ({
      status: card.querySelector('.status-badge').textContent,
      tree: [...card.querySelectorAll('.node')].map((node) => ({
        name: node.dataset.name,
        depth: node.querySelector('.meta').textContent,
        failed: node.classList.contains('failed'),
        parent: node.parentElement.closest('.node')?.dataset.name ?? null,
      })),
      outcome: card.querySelector('.outcome').textContent,
    })));
  check(cards.slice(0, 4).every((c) => c.status === 'ok'), 'the first four cascades end ok');
  check(cards[2].tree.some((n) => n.name === 'Allocated' && n.parent === 'AllocationRequired'), 'the order raised Allocated, drawn under it');
  check(cards[2].outcome.includes(`"${sku}-b1"`), 'the allocation answers the batch in stock');
  const shrink = cards[3].tree;
  check(shrink.some((n) => n.name === 'Deallocated' && n.parent === 'BatchQuantityChanged' && n.depth.startsWith('depth 1')),
        'the shrinking batch deallocated the line (depth 1)');
  check(shrink.some((n) => n.name === 'Allocated' && n.parent === 'Deallocated' && n.depth.startsWith('depth 2')),
        'which was allocated again, under Deallocated (depth 2)');
  check(cards[4].status === 'failed' && cards[4].outcome.includes('Invalid sku NOPE'), 'the unknown SKU fails with Invalid sku');
  check(cards[4].tree.some((n) => n.name === 'AllocationRequired' && n.failed), 'and its command is marked as the failure');

  // The one-click scenario runs through the same form.
  await page.click('#run-scenario');
  await page.waitForFunction(() => {
    const cards = [...document.querySelectorAll('#cascades > li')];
    return cards.length === 10 && cards.every((c) => !['sent', 'running'].includes(c.querySelector('.status-badge').textContent));
  }, WAIT);
  const oneClick = await texts(page, '#cascades > li .status-badge');
  check(oneClick.slice(0, 5).join() === 'failed,ok,ok,ok,ok', 'Run all submits the five steps: four ok, the unknown SKU failed');

  // The feed saw the events; the charts saw the submits.
  const feed = await texts(page, '#feed li');
  check(feed.some((line) => line.includes(' Allocated ') && line.includes(sku)), 'the live feed shows Allocated');
  check(feed.some((line) => line.includes(' Deallocated ')), 'the live feed shows Deallocated');
  await page.waitForFunction(() => Number(document.querySelector('[data-chart="submits/s"] .value').dataset.peak) > 0, WAIT);
  check(true, 'the submits/s chart rose above zero');
  check((await page.$eval('#letters-status', (el) => el.textContent)) === 'none', 'the dead letters panel loaded (none)');

  // The feed's filter narrows what it shows.
  await page.$eval('#feed-names', (el) => (el.value = 'OutOfStock'));
  await page.click('#feed-subscribe');
  await page.waitForFunction(() => document.getElementById('feed-status').textContent === 'subscribed to OutOfStock', WAIT);
  check(true, 'a filtered subscription is confirmed with its names');

  // Paused, the feed holds what arrives and shows it on resume. More than both batches hold:
  // the order is not allocated, and OutOfStock is raised.
  const shown = (await texts(page, '#feed li')).length;
  await page.click('#feed-pause');
  await fillAndSubmit(page, 'AllocationRequired', { orderid: `${sku}-o3`, sku, qty: 100 });
  await page.waitForFunction(() => document.getElementById('feed-pause').textContent === 'Resume (1 new)', WAIT);
  check((await texts(page, '#feed li')).length === shown, 'paused, the feed shows nothing new, and counts what it holds');
  await page.click('#feed-pause');
  const resumed = await texts(page, '#feed li');
  check(resumed.length === shown + 1 && resumed[0].includes(' OutOfStock ') && resumed[0].includes(sku),
        'resumed, it shows the OutOfStock that arrived meanwhile');
}

/** HS256 token for `secret`, as the server's --auth-jwt-secret expects. */
function token(secret, claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** Under tokens the page still loads, connects only with a token, and shows whose it is. */
async function withTokens(page, port, secret) {
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => document.getElementById('state-text').textContent.startsWith('disconnected'), WAIT);
  check(true, 'without a token the page loads and stays disconnected');
  const jwt = token(secret, {
    sub: 'console-tester', exp: Math.floor(Date.now() / 1000) + 600,
    'cascade.submit': ['AllocationRequired'], 'cascade.subscribe': ['*'],
  });
  await page.type('#token', jwt);
  await page.click('#connect');
  await page.waitForFunction(() => document.getElementById('state-text').textContent === 'connected', WAIT);
  check((await page.$eval('#principal', (el) => el.textContent)) === 'console-tester', 'with a token it connects as its subject');
  await page.waitForFunction(() => document.querySelectorAll('#message-name option').length > 0, WAIT);
  await fillAndSubmit(page, 'BatchCreated', { ref: 'b-x', sku: 'LAMP', qty: 1 });
  await page.waitForFunction(() => document.querySelector('#cascades > li .status-badge')?.textContent === 'refused', WAIT);
  check((await page.$eval('#cascades > li .outcome', (el) => el.textContent)).startsWith('forbidden'), 'a submit its claims do not allow is refused as forbidden');
}

const folder = mkdtempSync(join(tmpdir(), 'cascade-console-'));
const servers = [];
let browser;
let page;
let failed = false;
const pageErrors = [];
try {
  browser = await puppeteer.launch({
    browser: args.browser,
    executablePath: args.executable,
    headless: true,
    args: args.browser === 'chrome' ? ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] : [],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1440, height: 900 });
  // A refused upgrade (no token) is reported in both browsers, worded differently (Firefox as a
  // script error); the page shows it as "disconnected", which the test checks. Everything else
  // counts: an uncaught exception, or an error logged to the console.
  const expected = (text) => /WebSocket|establish a connection to the server at ws:/.test(text);
  page.on('pageerror', (error) => !expected(error.message) && pageErrors.push(error.message));
  page.on('console', (message) => message.type() === 'error' && !expected(message.text()) && pageErrors.push(message.text()));

  const plain = await startServer(folder);
  servers.push(plain);
  await bookScenario(page, plain.port);
  await page.screenshot({ path: join(args.artifacts, `console-${args.browser}.png`) });

  const secret = 'a-secret-of-at-least-thirty-two-bytes!';
  writeFileSync(join(folder, 'secret'), secret);
  const guarded = await startServer(mkdtempSync(join(folder, 'tokens-')), ['--auth-jwt-secret', join(folder, 'secret')]);
  servers.push(guarded);
  await withTokens(page, guarded.port, secret);
  check(pageErrors.length === 0, `no script error in the page${pageErrors.length ? `: ${pageErrors.join('; ')}` : ''}`);
} catch (error) {
  failed = true;
  console.error(`not ok - ${error.stack ?? error}`);
  if (pageErrors.length) console.error(`page errors: ${pageErrors.join('; ')}`);
  for (const server of servers) console.error(`--- server log ---\n${server.log()}`);
  if (page) {
    const path = join(args.artifacts, `console-${args.browser}-failure.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    console.error(`screenshot: ${path}`);
  }
} finally {
  await browser?.close();
  for (const server of servers) server.process.kill('SIGTERM');
  rmSync(folder, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
