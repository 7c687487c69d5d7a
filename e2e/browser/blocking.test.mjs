// The main-thread blocking measurement (blocking.mjs, run by `make bench`)
// works: one run at each CPU slowdown, with the long-task observers of the
// shop's page, the chat's frame and the console checked end to end. Only
// that it measures is asserted, never how fast: test machines are shared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needBrowser } from './harness.mjs';
import { measure, merge, blocking } from './blocking.mjs';

test('a task reported by two documents on one main thread counts once', () => {
  const none = { frames: [], ok: true };
  const tasks = merge({
    page: { ...none, tasks: [{ start: 1000, duration: 120, name: 'cross-origin-descendant' }, { start: 2000, duration: 60, name: 'self' }] },
    frame: { ...none, tasks: [{ start: 1000.4, duration: 120.5, name: 'self' }, { start: 2000, duration: 60, name: 'cross-origin-ancestor' }] },
  });
  assert.deepEqual(tasks.map((t) => [t.where, t.duration]), [['frame', 120], ['page', 60]]);
  assert.equal(blocking(tasks), 70 + 10);
  assert.equal(blocking([{ duration: 50 }, { duration: 49 }]), 0, 'a task of 50 ms or less does not block');
});

test('blocking of the widget and the console is measured in Chromium', async (t) => {
  if (!needBrowser(t)) return;
  const r = await measure({ runs: 1, rates: [1, 4], inbox: 4, mine: 2, check: true });
  assert.deepEqual(r.profiles.map((p) => p.cpu_slowdown), [1, 4]);
  for (const p of r.profiles) {
    const [w] = p.widget.runs;
    assert.deepEqual(w.observed, { page: true, frame: true }, 'a long-task observer runs in the page and in the frame');
    assert.deepEqual(w.saw_check, { page: true, frame: true }, 'each observer reports its own document\'s long task');
    assert.equal(w.opened, true, 'the chat opened on its composer');
    const [c] = p.console.runs;
    assert.deepEqual(c.observed, { console: true });
    assert.deepEqual(c.saw_check, { console: true });
    assert.ok(c.inbox_rows >= 1, 'the inbox showed the agent\'s chats');
    for (const run of [w, c]) {
      for (const k of ['blocking', 'longest', 'long_tasks']) assert.ok(Number.isFinite(run[k]) && run[k] >= 0, `${k}: ${run[k]}`);
    }
    for (const k of ['blocking', 'blocking_widget', 'blocking_frame', 'blocking_loader', 'blocking_shop', 'longest']) {
      assert.ok(Number.isFinite(p.widget[k].median) && Number.isFinite(p.widget[k].worst), k);
    }
    assert.ok(Number.isFinite(p.console.blocking.median));
  }
});
