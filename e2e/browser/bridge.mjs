// bridge runs one Chromium page for termcall's browser tests and speaks the
// same line protocol as `termcall headless`: every stdout line is a JSON
// event object with "event" and "ts"; each stdin line is a JSON command
// {"id": N, "eval"|"click"|"fill"|"screenshot": ...}, answered by a REPLY
// event with that id. The page emits its own events through
// window.__termcallEmit(obj). EOF on stdin closes the browser and exits 0.
//
// Websockets the page opens are reported as WEBSOCKET events with their URL.
//
//   node bridge.mjs --url URL [--fulfill PATH=FILE]... [--blank PATH] [--script-origin ORIGIN]
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
let url = '';
const fulfill = new Map(); // URL path -> file served there
const blanks = new Set();  // URL paths answered with an empty page
let scriptOrigin = '';     // another origin a blank page may load scripts from
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--url') url = args[++i];
  else if (a === '--fulfill') {
    const [p, f] = args[++i].split('=');
    fulfill.set(p, f);
  } else if (a === '--blank') blanks.add(args[++i]);
  else if (a === '--script-origin') scriptOrigin = args[++i];
  else {
    process.stderr.write(`bridge: unknown argument ${a}\n`);
    process.exit(2);
  }
}
if (!url) {
  process.stderr.write('bridge: --url is required\n');
  process.exit(2);
}

// The same policy termcall serves its pages with (web/web.go), so pages
// under test run as they would in production. A page on another origin than
// termcall's allows termcall's scripts, as a user's page importing the SDK would.
const csp = "default-src 'self'; " + (scriptOrigin ? `script-src 'self' ${scriptOrigin}; ` : '') +
  "connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; " +
  "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const emit = (ev) => process.stdout.write(JSON.stringify({ ...ev, ts: Date.now() }) + '\n');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    // Pages this bridge fulfils itself (--blank, --fulfill) come from no
    // address, which Local Network Access counts as public and so blocks
    // their websocket to 127.0.0.1. Pages termcall serves need no such flag.
    ...(fulfill.size || blanks.size ? ['--disable-features=LocalNetworkAccessChecks'] : []),
  ],
});
const origin = new URL(url).origin;
const context = await browser.newContext({ viewport: { width: 1024, height: 720 } });
await context.grantPermissions(['camera', 'microphone'], { origin });
const page = await context.newPage();
page.on('console', (m) => process.stderr.write(`console.${m.type()}: ${m.text()}\n`));
page.on('pageerror', (e) => emit({ event: 'PAGE_ERROR', message: String(e && e.stack || e) }));
page.on('websocket', (ws) => emit({ event: 'WEBSOCKET', url: ws.url() }));
await page.exposeBinding('__termcallEmit', (_src, ev) => emit(ev));
await page.route((u) => u.origin === origin && (fulfill.has(u.pathname) || blanks.has(u.pathname)), (route) => {
  const p = new URL(route.request().url()).pathname;
  if (blanks.has(p)) {
    return route.fulfill({ contentType: 'text/html', headers: { 'Content-Security-Policy': csp },
      body: '<!doctype html><meta charset="utf-8"><title>termcall e2e</title><body></body>' });
  }
  // A --fulfill page stands for a user's own page, hosted elsewhere under
  // its own rules: no CSP from us.
  const f = fulfill.get(p);
  const type = f.endsWith('.js') ? 'text/javascript' : 'text/html';
  return route.fulfill({ contentType: type, body: readFileSync(f) });
});
await page.goto(url);
emit({ event: 'PAGE_READY', url });

async function run(cmd) {
  if ('eval' in cmd) {
    // Evaluated through the devtools protocol, which the page's CSP does
    // not restrict; the page's own scripts stay under it.
    return page.evaluate(`(async () => { ${cmd.eval}\n })()`);
  }
  if ('click' in cmd) return page.click(cmd.click, { timeout: 10000 });
  if ('fill' in cmd) return page.fill(cmd.fill[0], cmd.fill[1], { timeout: 10000 });
  if ('screenshot' in cmd) return page.screenshot({ path: cmd.screenshot, fullPage: true });
  throw new Error('unknown command');
}

const rl = createInterface({ input: process.stdin });
const pending = [];
rl.on('line', (line) => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    emit({ event: 'REPLY', id: -1, error: `not JSON: ${e.message}` });
    return;
  }
  pending.push(run(cmd).then(
    (value) => emit({ event: 'REPLY', id: cmd.id, value: value === undefined ? null : value }),
    (e) => emit({ event: 'REPLY', id: cmd.id, error: String(e && e.message || e) }),
  ));
});
rl.on('close', async () => {
  await Promise.allSettled(pending);
  await browser.close();
  process.exit(0);
});
