// Main-thread blocking of the widget and the console in headless Chromium.
//
//   node e2e/browser/blocking.mjs [--runs 5] [--rates 1,4] [--json FILE]
//
// Blocking is Total Blocking Time's definition: the sum over long tasks
// (over 50 ms) of the time each ran beyond 50 ms; a long task is what the
// browser's 'longtask' PerformanceObserver reports. An observer starts in
// every document before its own scripts (buffered, so nothing earlier is
// missed) and keeps what it sees; it runs in the shop's page and, apart,
// in the chat's iframe, which is another origin and reads its own tasks.
//
// Widget: a fresh shopper (new browser context) loads the demo shop, the
// loader waits for the page's load event and adds the chat's iframe, the
// launcher appears, the shopper opens the chat and the composer appears.
// Console: a fresh agent loads /console, signs in through the form and the
// inbox renders its first page (the demo is seeded with waiting chats).
// Everything from navigation to a quiet second after the last step counts,
// a stricter window than Lighthouse's (first paint to interactive).
//
// Each run is repeated at each CPU slowdown: 1 is this machine as it is;
// 4 is Chrome DevTools' CPU throttling (Emulation.setCPUThrottlingRate),
// which Lighthouse's mobile profile uses. The JSON file (--json, or
// TISKI_BLOCKING_JSON) has every run's tasks; the table has median / worst.
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startDemo, launch, browserPath, loginAgent } from './harness.mjs';
import { siteKey, newVisitor, desktop } from './console-helpers.mjs';
import { agent } from './widget-helpers.mjs';

export const LONG = 50; // ms: a task longer than this is a long task
const QUIET = 1000; // ms left for the last tasks to end and be reported

// Runs in every document before its scripts. Long tasks are kept with an
// absolute start (timeOrigin + startTime), so tasks seen by two documents
// on one main thread can be matched; long animation frames (Chromium's
// successor API) say which scripts ran in them.
function observe() {
  const seen = { tasks: [], frames: [], ok: false };
  Object.defineProperty(window, '__tiskiBlocking', { value: seen });
  const at = (t) => Math.round((performance.timeOrigin + t) * 10) / 10;
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) seen.tasks.push({ start: at(e.startTime), duration: e.duration, name: e.name });
    }).observe({ type: 'longtask', buffered: true });
    // observe() ignores an unknown type without an error.
    seen.ok = PerformanceObserver.supportedEntryTypes.includes('longtask');
  } catch { /* no PerformanceObserver: ok stays false */ }
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        seen.frames.push({
          start: at(e.startTime), duration: e.duration, blocking: e.blockingDuration,
          render: e.renderStart ? Math.round(e.startTime + e.duration - e.renderStart) : 0,
          scripts: e.scripts.filter((s) => s.duration >= 5).map((s) => ({
            duration: s.duration, invoker: s.invoker, source: s.sourceURL.replace(/^.*\//, ''),
          })),
        });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch { /* older Chromium: no script attribution */ }
}

/**
 * What each document's observer kept. With `check` (the test's mode), a
 * task of 80 ms is first set off in each document, from a timer as page
 * scripts run, and `saw_check` says whether that document's own observer
 * reported it; those tasks are then dropped, so the figures stay the run's.
 */
async function collect(docs, check) {
  const checks = [];
  if (check) {
    for (const doc of Object.values(docs)) {
      checks.push(await doc.evaluate(() => new Promise((resolve) => setTimeout(() => {
        const start = performance.timeOrigin + performance.now();
        while (performance.timeOrigin + performance.now() < start + 80);
        resolve(start);
      }))));
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const out = {};
  for (const [i, [where, doc]] of Object.entries(docs).entries()) {
    const seen = await doc.evaluate(() => JSON.parse(JSON.stringify(window.__tiskiBlocking ?? { tasks: [], frames: [], ok: false })));
    if (check) {
      const mine = checks[i];
      seen.saw_check = seen.tasks.some((t) => t.name === 'self' && t.start <= mine + 1 && t.start + t.duration >= mine + 79);
      const before = (t) => t.start + t.duration <= checks[0];
      seen.tasks = seen.tasks.filter(before);
      seen.frames = seen.frames.filter(before);
    }
    out[where] = seen;
  }
  return out;
}

/**
 * One main thread's long tasks from several documents' observers: a task
 * two documents report (the chat's iframe shares the shop page's renderer
 * when both are on one site, as in the demo) is counted once, and is
 * charged to the document that reports it as its own ('self').
 */
export function merge(sources) {
  const tasks = [];
  for (const [where, seen] of Object.entries(sources)) {
    for (const t of seen.tasks) {
      let same = tasks.find((x) => Math.abs(x.start - t.start) < 2 && Math.abs(x.duration - t.duration) < 2);
      if (!same) tasks.push((same = { start: t.start, duration: t.duration, where: 'unknown' }));
      if (t.name === 'self') same.where = where;
    }
  }
  const frames = Object.values(sources).flatMap((s) => s.frames);
  for (const t of tasks) {
    // The long animation frame around the task: its scripts, and the
    // time spent on style, layout and paint after them.
    const f = frames.find((x) => x.start <= t.start + 1 && t.start + t.duration <= x.start + x.duration + 1);
    if (f) Object.assign(t, { scripts: f.scripts, render: f.render });
  }
  return tasks.sort((a, b) => a.start - b.start);
}

export function blocking(tasks) {
  return Math.round(tasks.reduce((sum, t) => sum + Math.max(0, t.duration - LONG), 0));
}

function summary(tasks) {
  return {
    blocking: blocking(tasks),
    longest: Math.round(Math.max(0, ...tasks.map((t) => t.duration))),
    long_tasks: tasks.length,
  };
}

async function newPage(browser, rate, options = {}) {
  const ctx = await browser.newContext(options);
  await ctx.addInitScript(observe);
  const page = await ctx.newPage();
  page.setDefaultTimeout(60000);
  if (rate > 1) {
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate });
  }
  return { ctx, page };
}

/** A shopper's first visit to the demo shop, then opening the chat. */
async function widgetRun(browser, demo, rate, check) {
  const { ctx, page } = await newPage(browser, rate);
  try {
    await page.goto(demo.shop + '/fi/', { waitUntil: 'load' });
    const chat = page.frameLocator('iframe[title="Chat"]');
    await chat.locator('.launcher').waitFor({ state: 'visible' });
    await page.waitForTimeout(QUIET);
    await chat.locator('.launcher').click();
    await chat.locator('#tiski-input').waitFor({ state: 'visible' });
    await page.waitForTimeout(QUIET);
    const frame = page.frames().find((f) => f.url().includes('/frame?'));
    // A frame with a CDP session of its own runs in its own process, which
    // the throttling set on the page would not reach.
    const ownProcess = await ctx.newCDPSession(frame).then(() => true, () => false);
    const seen = await collect({ page, frame }, check);
    const tasks = merge(seen);
    // The page's own tasks are the shop's, or the loader's when most of
    // their script time is widget.js.
    for (const t of tasks.filter((x) => x.where === 'page')) {
      const top = (t.scripts ?? []).reduce((a, b) => (b.duration > (a?.duration ?? 0) ? b : a), null);
      t.where = top?.source === 'widget.js' ? 'loader' : 'shop';
    }
    const of = (...where) => blocking(tasks.filter((t) => where.includes(t.where)));
    return {
      ...summary(tasks),
      blocking_widget: of('frame', 'loader'),
      blocking_frame: of('frame'),
      blocking_loader: of('loader'),
      blocking_shop: of('shop'),
      blocking_unattributed: of('unknown'),
      observed: { page: seen.page.ok, frame: seen.frame.ok },
      ...(check ? { saw_check: { page: seen.page.saw_check, frame: seen.frame.saw_check } } : {}),
      opened: true,
      frame_process: ownProcess ? 'own' : 'shared with the page',
      tasks,
    };
  } finally {
    await ctx.close();
  }
}

/** An agent loads the console, signs in and sees the first inbox page. */
async function consoleRun(browser, demo, rate, check) {
  const { ctx, page } = await newPage(browser, rate, { ...desktop, locale: 'en-GB' });
  try {
    const a = demo.agents[0];
    await page.goto(demo.tiski + '/console', { waitUntil: 'load' });
    await page.getByLabel('Email').fill(a.email);
    await page.getByLabel('Password').fill(a.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.conv-list .conv').first().waitFor({ state: 'visible' });
    await page.waitForTimeout(QUIET);
    const rows = await page.locator('.conv-list .conv').count();
    const seen = await collect({ console: page }, check);
    const tasks = merge(seen);
    return {
      ...summary(tasks),
      observed: { console: seen.console.ok },
      ...(check ? { saw_check: { console: seen.console.saw_check } } : {}),
      inbox_rows: rows,
      tasks,
    };
  } finally {
    await ctx.close();
  }
}

/**
 * Chats for the inbox's first page: the signing-in agent has `mine` of
 * them (the tab the console opens on), the rest wait in the queue.
 */
async function seed(demo, n, mine) {
  const a = demo.agents[0];
  const aino = await loginAgent(demo.tiski, a.email, a.password);
  const key = await siteKey(aino);
  await aino.call('PATCH', `/users/${aino.me.user.id}`, { max_chats: mine });
  for (let i = 0; i < n; i++) {
    const v = await newVisitor(demo.tiski, demo.shop, key, { name: `Asiakas ${i + 1}` });
    await v.send(`Hei, kysymys numero ${i + 1}: onko tuote varastossa?`);
    await v.stop();
    if (i < mine) await aino.call('POST', `/conversations/${v.conv}/assign`);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const worst = (xs) => Math.max(...xs);

function stats(runs, keys) {
  const out = { runs };
  for (const k of keys) out[k] = { median: median(runs.map((r) => r[k])), worst: worst(runs.map((r) => r[k])) };
  return out;
}

/**
 * Measures `runs` times at each CPU slowdown in `rates`; returns the
 * report the JSON file holds. Starts its own demo and browser. `inbox`
 * chats are seeded, `mine` of them the signing-in agent's; `check` is the
 * test's self-check of the observers (see collect).
 */
export async function measure({ runs = 5, rates = [1, 4], inbox = 25, mine = 10, check = false, log = () => {} } = {}) {
  const demo = await startDemo();
  const browser = await launch();
  const cleanups = [];
  try {
    await seed(demo, inbox, mine);
    // An agent online (console stream open), so the chat opens on its
    // composer rather than on the offline form.
    await agent(demo, 1, { after: (f) => cleanups.push(f) });
    const report = {
      browser: `Chromium ${browser.version()}`,
      definition: `sum over long tasks (> ${LONG} ms) of (duration − ${LONG} ms)`,
      machine: { cpu: cpus()[0]?.model ?? '', cores: cpus().length, load_start: loadavg().map((x) => +x.toFixed(2)) },
      runs,
      profiles: [],
    };
    // A first run starts what a browser starts once (its audio service for
    // the console's alert sound, network and cache machinery); it is kept
    // in the JSON as `warm_up` but not in the figures.
    report.warm_up = { widget: await widgetRun(browser, demo, 1), console: await consoleRun(browser, demo, 1) };
    log(`warm-up: widget ${report.warm_up.widget.blocking} ms, console ${report.warm_up.console.blocking} ms`);
    for (const rate of rates) {
      const w = [];
      const c = [];
      for (let i = 0; i < runs; i++) {
        // Alternate so that a busy moment of a shared machine hits both.
        w.push(await widgetRun(browser, demo, rate, check));
        c.push(await consoleRun(browser, demo, rate, check));
        log(`cpu ×${rate} run ${i + 1}/${runs}: widget ${w[i].blocking} ms, console ${c[i].blocking} ms`);
      }
      if (rate > 1 && w.some((x) => x.frame_process === 'own')) {
        log(`note: the chat frame ran in a process of its own, which the ${rate}× throttling did not reach`);
      }
      report.profiles.push({
        cpu_slowdown: rate,
        widget: stats(w, ['blocking', 'blocking_widget', 'blocking_frame', 'blocking_loader', 'blocking_shop',
          'blocking_unattributed', 'longest', 'long_tasks']),
        console: stats(c, ['blocking', 'longest', 'long_tasks']),
      });
    }
    report.machine.load_end = loadavg().map((x) => +x.toFixed(2));
    return report;
  } finally {
    cleanups.forEach((f) => f());
    await browser.close();
    await demo.stop();
  }
}

export function table(r) {
  const lines = [];
  const p = (s) => lines.push(s);
  const mw = (x) => `${x.median} / ${x.worst}`.padStart(12);
  p(`Main-thread blocking in headless ${r.browser}, ${r.runs} runs each: median / worst, ms`);
  p(`blocking = ${r.definition}; target ≤ 30 ms`);
  p(`load average ${r.machine.load_start.join(' ')} at the start, ${r.machine.load_end.join(' ')} at the end, ${r.machine.cores} cores`);
  p('');
  p('                                            ' + r.profiles.map((x) => (x.cpu_slowdown === 1 ? 'unthrottled' : `CPU ${x.cpu_slowdown}× slower`).padStart(16)).join(''));
  const row = (label, get) => p(label.padEnd(44) + r.profiles.map((x) => mw(get(x)).padStart(16)).join(''));
  p('widget: shop page loads, chat opens');
  row('  blocking, whole main thread', (x) => x.widget.blocking);
  row('    Tiski: chat frame + loader', (x) => x.widget.blocking_widget);
  row('      chat frame', (x) => x.widget.blocking_frame);
  row('      loader (widget.js in the page)', (x) => x.widget.blocking_loader);
  row('    the shop page\'s own work', (x) => x.widget.blocking_shop);
  row('    not attributed', (x) => x.widget.blocking_unattributed);
  row('  longest task', (x) => x.widget.longest);
  row('  long tasks', (x) => x.widget.long_tasks);
  p('console: loads, signs in, first inbox page');
  row('  blocking', (x) => x.console.blocking);
  row('  longest task', (x) => x.console.longest);
  row('  long tasks', (x) => x.console.long_tasks);
  return lines.join('\n');
}

// As a command: measure, print the table, write the JSON.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf('--' + name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  let chromium = null;
  try {
    chromium = browserPath();
  } catch { /* CI without Chromium: reported below */ }
  if (!chromium) {
    // Not an error: bench runs on machines without a browser too.
    console.log('\n*** main-thread blocking: NOT MEASURED: no Chromium (install chromium or set CHROMIUM) ***\n');
    process.exit(0);
  }
  const report = await measure({
    runs: Number(arg('runs', 5)),
    rates: arg('rates', '1,4').split(',').map(Number),
    log: (s) => console.error(s),
  });
  console.log(table(report));
  const json = arg('json', process.env.TISKI_BLOCKING_JSON);
  if (json) {
    writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nevery run's long tasks: ${json}`);
  }
}
