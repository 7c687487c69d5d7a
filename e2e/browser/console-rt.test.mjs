// The console's realtime client (web/console/rt.ts) against a scripted
// server, in Node: messages in sequence order exactly once, gaps fetched,
// duplicates dropped, resets obeyed, resume after a reconnect with the
// same client message ids, sign-out codes, and the move to Server-Sent
// Events when WebSockets never open. No browser needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { repo } from './harness.mjs';

async function loadRealtime() {
  const out = await esbuild.build({
    entryPoints: [join(repo, 'web', 'console', 'rt.ts')],
    bundle: true, write: false, format: 'esm', platform: 'neutral', target: 'es2022', logLevel: 'silent',
    mainFields: ['module', 'main'],
  });
  const url = 'data:text/javascript;base64,' + Buffer.from(out.outputFiles[0].text).toString('base64');
  return (await import(url)).Realtime;
}

/** A fake browser: sockets the test drives, timers it runs by hand. */
function fakeBrowser() {
  const sockets = [];
  const timers = [];
  const fetches = [];
  class FakeSocket {
    static OPEN = 1;
    constructor(url) {
      this.url = url;
      this.sent = [];
      this.readyState = 0;
      sockets.push(this);
    }
    send(data) {
      this.sent.push(JSON.parse(data));
    }
    close(code = 1000) {
      this.readyState = 3;
      this.onclose?.({ code });
    }
    // test side
    open() {
      this.readyState = 1;
      this.onopen?.();
    }
    push(frame) {
      this.onmessage?.({ data: JSON.stringify(frame) });
    }
    drop(code = 1006) {
      this.readyState = 3;
      this.onclose?.({ code });
    }
    frames(t) {
      return this.sent.filter((f) => f.t === t);
    }
  }
  globalThis.window = globalThis;
  globalThis.location = { protocol: 'http:', host: 'tiski.test' };
  globalThis.WebSocket = FakeSocket;
  globalThis.setTimeout = (fn) => (timers.push(fn), timers.length);
  globalThis.clearTimeout = () => {};
  globalThis.setInterval = () => 0;
  globalThis.clearInterval = () => {};
  globalThis.fetch = (url, init) => {
    fetches.push({ url, init });
    return new Promise(() => {}); // never answers
  };
  return {
    sockets, fetches,
    last: () => sockets[sockets.length - 1],
    runTimers: () => timers.splice(0).forEach((fn) => fn()),
  };
}

const msg = (seq, body = 'm' + seq, extra = {}) => ({ t: 'msg', conv: 'c1', seq, m: { id: 'id' + seq, seq, kind: 'text', from: { kind: 'visitor' }, body, at: '2026-11-23T10:00:00Z', ...extra } });

test('realtime client: order, gaps, duplicates, resets, resume, sign-out, SSE fallback', async () => {
  const b = fakeBrowser();
  const Realtime = await loadRealtime();
  const got = [];
  let resets = 0;
  let signedOut = 0;
  const rt = new Realtime({
    append: (conv, ms) => got.push(...ms.map((m) => m.seq)),
    reset: () => resets++,
    conv: () => {},
    frame: () => {},
    signedOut: () => signedOut++,
  });
  rt.follow('c1');
  rt.start();
  let ws = b.last();
  ws.open();
  assert.deepEqual(ws.frames('hello'), [{ t: 'hello', v: 1, subs: [{ conv: 'c1', epoch: '', after: 0 }] }]);
  ws.push({ t: 'welcome', v: 1, conn: 'k1' });
  ws.push(msg(1));
  ws.push({ t: 'synced', conv: 'c1', epoch: 'E1', seq: 1 });
  ws.push(msg(2));
  ws.push(msg(2)); // duplicate
  ws.push(msg(4)); // ahead: held back, gap fetched
  assert.deepEqual(got, [1, 2]);
  assert.deepEqual(ws.frames('fetch').map((f) => [f.conv, f.after]), [['c1', 2]]);
  ws.push(msg(3));
  assert.deepEqual(got, [1, 2, 3, 4], 'held-back messages follow in order');
  ws.push({ t: 'fetched', conv: 'c1', seq: 4 });
  ws.push(msg(4));
  assert.deepEqual(got, [1, 2, 3, 4], 'nothing twice');

  // A send not yet acknowledged when the connection drops is sent again,
  // with the same id, after the next welcome; resume from seq 4, epoch E1.
  const acked = rt.send('c1', 'text', 'hei', 'cm-1');
  ws.drop();
  assert.equal(rt.connected.value, false);
  b.runTimers();
  ws = b.last();
  ws.open();
  assert.deepEqual(ws.frames('hello')[0].subs, [{ conv: 'c1', epoch: 'E1', after: 4 }]);
  ws.push({ t: 'welcome', v: 1, conn: 'k2' });
  assert.deepEqual(ws.frames('send'), [{ t: 'send', id: 'cm-1', conv: 'c1', kind: 'text', body: 'hei' }]);
  ws.push({ t: 'ack', id: 'cm-1', conv: 'c1', seq: 5, m: msg(5, 'hei', { from: { kind: 'agent' }, cmid: 'cm-1' }).m });
  assert.equal((await acked).seq, 5);
  ws.push(msg(5, 'hei'));
  assert.deepEqual(got, [1, 2, 3, 4, 5]);

  // A reset voids the copy: the stream replays from 1.
  ws.push({ t: 'reset', conv: 'c1', epoch: 'E2' });
  assert.equal(resets, 1);
  ws.push(msg(1));
  assert.deepEqual(got, [1, 2, 3, 4, 5, 1]);

  // Signed out elsewhere: no reconnecting.
  ws.drop(4010);
  assert.equal(signedOut, 1);
  const before = b.sockets.length;
  b.runTimers();
  assert.equal(b.sockets.length, before);

  // WebSockets that never open (a blocking proxy): after two tries the
  // stream moves to Server-Sent Events, whose hello resumes the same way.
  const rt2 = new Realtime({ append: () => {}, reset: () => {}, conv: () => {}, frame: () => {}, signedOut: () => {} });
  rt2.follow('c9');
  rt2.start();
  b.last().drop();
  b.runTimers();
  b.last().drop();
  b.runTimers();
  assert.equal(rt2.via, 'sse');
  const sse = b.fetches.find((f) => f.url.endsWith('/rt/sse'));
  assert.ok(sse, 'the SSE stream was opened');
  assert.deepEqual(JSON.parse(sse.init.body), { t: 'hello', v: 1, subs: [{ conv: 'c9', epoch: '', after: 0 }] });
  rt2.stop();
});
