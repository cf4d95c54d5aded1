// Page speed of the web UI in headless Chromium on the year-long demo: for each main page, the
// time from navigation to its data on screen (main no longer busy, charts drawn) and the bytes
// its first load transfers (a fresh browser profile: nothing cached; encoded = as on the wire),
// beside the same browser's navigation to a tiny JSON answer of the same server (the floor).
//   LABSHARE_URL=… node web.mjs
import { chromium } from 'playwright-core';

const BASE = process.env.LABSHARE_URL;
const PASSWORD = process.env.LABSHARE_DEMO_PASSWORD || 'labshare-demo-2026';
const RUNS = +(process.env.BENCH_WEB_RUNS || 5);
const pages = [
  ['anonymous', '/'], ['anonymous', '/instrument?id=icp-ms-01'], ['anonymous', '/figures'],
  ['dr.li', '/calendar?ids=icp-ms-01'], ['dr.li', '/bookings'], ['dr.li', '/usage'], ['dr.li', '/charges'],
  ['manager.chen', '/approvals'], ['manager.chen', '/instruments'], ['manager.chen', '/dashboard'],
  ['manager.chen', '/statements'], ['manager.chen', '/gateways'],
  ['auditor.liu', '/metrics'], ['auditor.liu', '/evaluation'], ['auditor.liu', '/collaboration'],
  ['auditor.liu', '/idle'], ['auditor.liu', '/audit'],
];

async function cookiesOf(user) {
  if (user === 'anonymous') return [];
  const r = await fetch(`${BASE}/api/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: user, password: PASSWORD }) });
  if (r.status !== 200) throw new Error(`login of ${user}: ${r.status}`);
  return r.headers.getSetCookie().map((c) => {
    const [kv] = c.split(';');
    const [name, ...v] = kv.split('=');
    return { name, value: v.join('='), url: BASE };
  });
}

// One cold load: a new profile, the page, wait for its data; ms and bytes on the wire.
async function load(browser, cookies, hash, ready) {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1366, height: 900 } });
  await ctx.addCookies(cookies);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  const t0 = performance.now();
  await page.goto(`${BASE}${hash}`);
  await page.waitForSelector(ready, { timeout: 30000 });
  const ms = performance.now() - t0;
  await page.waitForTimeout(100);
  await ctx.close();
  return { ms, bytes };
}

function median(xs) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'] });
const floor = [];
for (let i = 0; i < RUNS; i++) floor.push((await load(browser, [], '/healthz', 'body')).ms);
const base = median(floor);
console.log(`baseline: Chromium navigation to /healthz (a tiny JSON), median of ${RUNS}: ${base.toFixed(0)} ms`);
console.log('page (role)                                   data on screen  × baseline   first load (compressed)');
let worstMs = 0, worstKb = 0;
for (const [user, p] of pages) {
  const cookies = await cookiesOf(user);
  const route = p.split('?')[0];
  const charts = ['/dashboard', '/collaboration'].includes(route) ? ' .chart[data-ready] canvas' : '';
  const ready = `main[data-page="${route}"]:not([aria-busy])${charts}`;
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await load(browser, cookies, `/#${p}`, ready));
  const ms = median(runs.map((r) => r.ms));
  const kb = Math.max(...runs.map((r) => r.bytes)) / 1024;
  worstMs = Math.max(worstMs, ms);
  worstKb = Math.max(worstKb, kb);
  console.log(`${(p + ' (' + user + ')').padEnd(46)} ${ms.toFixed(0).padStart(8)} ms  ${(ms / base).toFixed(1).padStart(8)}×  ${kb.toFixed(0).padStart(10)} KB`);
}
console.log(`slowest page: ${worstMs.toFixed(0)} ms to its data (goal ≤ 1000 ms); heaviest first load: ${worstKb.toFixed(0)} KB (goal ≤ 600 KB)`);
await browser.close();
