// Shared set-up of the browser tests: a real Tiski demo (the binary built by
// `make build`, on ephemeral ports and a temporary data directory) and a
// real headless Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, '..', '..');
export const screenshots = join(repo, 'docs', 'screenshots');
const require = createRequire(import.meta.url);

/** Chromium's path, or null. In CI a missing browser is an error. */
export function browserPath() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found && process.env.CI) {
    throw new Error('Chromium is not installed; .ci/run installs it (apt-get install chromium)');
  }
  return found ?? null;
}

/** Skips the test loudly when there is no browser outside CI. */
export function needBrowser(t) {
  if (browserPath()) return true;
  console.error('\n*** SKIPPING browser test: no Chromium found (install chromium or set CHROMIUM) ***\n');
  t.skip('no Chromium');
  return false;
}

export async function launch() {
  return chromium.launch({
    executablePath: browserPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * Starts `tiski demo` and resolves when it prints its addresses. The
 * result has tiski (server URL), shop (demo shop URL), agents (from the
 * printed credentials) and stop().
 */
export async function startDemo() {
  const bin = join(repo, 'bin', 'tiski');
  if (!existsSync(bin)) throw new Error('bin/tiski is missing: run make build first');
  const data = mkdtempSync(join(tmpdir(), 'tiski-browser-'));
  const proc = spawn(bin, ['demo', '--addr', '127.0.0.1:0', '--shop-addr', '127.0.0.1:0', '--data', data,
    '--log-level', 'warn', '--new-visitors-per-sec', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tiski demo did not start:\n' + out)), 30000);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const tiski = out.match(/Tiski server and console:\s+(\S+)/);
      const shop = out.match(/Demo shop \(a shopper's view\):\s+(\S+)/);
      if (tiski && shop && out.includes('Ctrl-C')) {
        clearTimeout(timer);
        const agents = [...out.matchAll(/^\s+(\S+)\s+(\S+@\S+)\s+password (\S+)\s+\((\w+)\)/gm)]
          .map((m) => ({ name: m[1], email: m[2], password: m[3], role: m[4] }));
        resolve({ tiski: tiski[1], shop: shop[1], agents, output: out });
      }
    });
    proc.on('exit', (code) => reject(new Error(`tiski demo exited with ${code}:\n${out}`)));
  });
  const demo = await ready;
  demo.stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(data, { recursive: true, force: true });
  };
  return demo;
}

/** Runs axe-core in a page or frame; returns serious and critical violations. */
export async function axe(pageOrFrame, context = 'document') {
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await pageOrFrame.evaluate(source);
  const result = await pageOrFrame.evaluate(async (ctx) => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(ctx === 'document' ? document : document.querySelector(ctx), {
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  }, context);
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Saves a screenshot under docs/screenshots for people to look at. */
export async function shoot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, name + '.png') });
}

/** A small JSON HTTP client for the console API, as an agent. */
export async function loginAgent(tiski, email, password) {
  const res = await fetch(tiski + '/api/console/v1/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: tiski },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const me = await res.json();
  const call = async (method, path, body) => {
    const r = await fetch(tiski + '/api/console/v1' + path, {
      method,
      headers: { 'Content-Type': 'application/json', Origin: tiski, Cookie: cookie, 'X-CSRF-Token': me.csrf_token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return { me, cookie, call };
}

/** Waits until fn() returns a truthy value (or throws after timeout ms). */
export async function eventually(fn, timeout = 10000, what = 'condition') {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
