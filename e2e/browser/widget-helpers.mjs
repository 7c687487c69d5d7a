// Helpers of the widget's browser tests: a shopper on the demo shop (its
// own origin) with the chat in Tiski's iframe, and an agent answering
// through the console API and the protocol's frames endpoint.
import { eventually, loginAgent } from './harness.mjs';

/** Opens a shop page in ctx; returns the page and the chat frame. */
export async function shopper(ctx, demo, path = '/fi/') {
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (/Refused to|Content Security Policy/i.test(m.text())) errors.push('CSP: ' + m.text());
  });
  await page.goto(demo.shop + path);
  const frame = page.frameLocator('iframe[title="Chat"]');
  // The launcher, or the panel when the chat was left open on another page.
  await frame.locator('.launcher:not([hidden]), .panel:not([hidden])').first().waitFor({ state: 'visible', timeout: 15000 });
  return { page, frame, errors };
}

/** The frame's stored state (visitor, conversations) as JSON. */
export async function stored(page) {
  const f = page.frames().find((x) => x.url().includes('/frame?'));
  return f.evaluate(() => {
    const k = Object.keys(localStorage).find((x) => x.startsWith('tiski:'));
    return k ? JSON.parse(localStorage.getItem(k)) : null;
  });
}

/** The conversation id the shopper's widget follows. */
export async function convOf(page) {
  return eventually(async () => {
    const s = await stored(page);
    const c = s && s.convs[s.convs.length - 1];
    return c && c.id;
  }, 10000, 'the widget to know its conversation');
}

export async function sendAsShopper(frame, text) {
  const box = frame.locator('#tiski-input');
  await box.fill(text);
  await box.press('Enter');
}

/**
 * An agent of the demo, online, who can take and answer conversations. The
 * agent keeps a console stream open (SSE) as a real console would, or
 * presence would turn them away after its grace period; t.after closes it.
 */
export async function agent(demo, i, t) {
  const a = demo.agents[i];
  const s = await loginAgent(demo.tiski, a.email, a.password);
  const ac = new AbortController();
  const res = await fetch(demo.tiski + '/api/console/v1/rt/sse', {
    method: 'POST', signal: ac.signal, body: JSON.stringify({ t: 'hello', v: 1 }),
    headers: { 'Content-Type': 'application/json', Origin: demo.tiski, Cookie: s.cookie, 'X-CSRF-Token': s.me.csrf_token },
  });
  if (!res.ok) throw new Error(`console stream: ${res.status} ${await res.text()}`);
  const reader = res.body.getReader();
  (async () => {
    try {
      while (!(await reader.read()).done);
    } catch { /* closed at the end of the test */ }
  })();
  const ping = setInterval(() => s.call('POST', '/rt/frames', { t: 'ping' }).catch(() => {}), 20000);
  t.after(() => { clearInterval(ping); ac.abort(); });
  await s.call('PUT', '/me/status', { status: 'online' });
  let n = 0;
  const taken = new Set();
  s.take = async (conv) => {
    if (taken.has(conv)) return;
    await s.call('POST', `/conversations/${conv}/assign`);
    taken.add(conv);
  };
  s.say = async (conv, body) => {
    await s.take(conv);
    const id = `agent-${Date.now()}-${n++}`;
    const replies = await s.call('POST', '/rt/frames', { t: 'send', id, conv, body });
    if (!replies.some((r) => r.t === 'ack')) throw new Error('no ack: ' + JSON.stringify(replies));
    return replies.find((r) => r.t === 'ack');
  };
  s.frames = (f) => s.call('POST', '/rt/frames', f);
  s.messages = async (conv) => (await s.call('GET', `/conversations/${conv}/messages?limit=500`)).messages;
  return s;
}

/** Texts of the message bubbles in the widget. */
export async function bubbles(frame) {
  return frame.locator('.msgs .bubble').allInnerTexts();
}
