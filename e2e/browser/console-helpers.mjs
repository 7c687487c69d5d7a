// Helpers of the console's browser tests. A shopper is driven from Node through the
// widget HTTP API and the realtime protocol (docs/protocol.md) over
// Server-Sent Events plus frame POSTs — no widget UI involved. It keeps
// what the visitor's stream delivers so tests can assert what a visitor
// does and does not see.

export async function siteKey(agent) {
  const { sites } = await agent.call('GET', '/sites');
  return sites[0].widget_key;
}

export async function newVisitor(tiski, shopOrigin, key, profile = {}) {
  const base = `${tiski}/api/widget/v1/sites/${key}`;
  const headers = { 'Content-Type': 'application/json', Origin: shopOrigin };
  const res = await fetch(base + '/visitors', { method: 'POST', headers, body: JSON.stringify({ language: profile.language ?? 'fi' }) });
  if (!res.ok) throw new Error(`new visitor: ${res.status} ${await res.text()}`);
  const { visitor, token } = await res.json();
  const auth = { ...headers, Authorization: 'Bearer ' + token };
  const call = async (method, path, body) => {
    const r = await fetch(base + path, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  if (Object.keys(profile).length) await call('PATCH', '/me', profile);

  const v = { id: visitor.id, token, call, messages: [], frames: [], conv: null, closed: false };
  // The visitor's stream: every frame is kept; msg frames by their seq.
  const ctrl = new AbortController();
  const stream = await fetch(base + '/rt/sse', {
    method: 'POST', headers, signal: ctrl.signal,
    body: JSON.stringify({ t: 'hello', v: 1, token, subs: [] }),
  });
  if (!stream.ok) throw new Error(`visitor stream: ${stream.status} ${await stream.text()}`);
  const pump = (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of stream.body) {
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trimEnd();
          buf = buf.slice(i + 1);
          if (!line.startsWith('data:')) continue;
          const f = JSON.parse(line.slice(5));
          v.frames.push(f);
          if (f.t === 'msg' && !v.messages.some((m) => m.seq === f.seq && m.conv === f.conv)) {
            v.messages.push({ ...f.m, seq: f.seq, conv: f.conv });
          }
          if ((f.t === 'conv' || f.t === 'started') && f.c) v.conv = f.c.id;
        }
      }
    } catch (e) {
      if (e.name !== 'AbortError') throw e;
    }
  })();
  let n = 0;
  v.frame = async (frame) => {
    const r = await fetch(base + '/rt/frames', { method: 'POST', headers: auth, body: JSON.stringify(frame) });
    const text = await r.text();
    if (!r.ok) throw new Error(`frame ${frame.t}: ${r.status} ${text}`);
    return JSON.parse(text);
  };
  v.send = async (body) => {
    const replies = await v.frame({ t: 'send', id: `v-${Date.now()}-${++n}`, body, ...(v.conv ? { conv: v.conv } : {}) });
    const ack = replies.find((f) => f.t === 'ack');
    if (!ack) throw new Error('send: ' + JSON.stringify(replies));
    v.conv = ack.conv;
    return ack;
  };
  v.typing = (text) => v.frame({ t: 'typing', conv: v.conv, on: text !== '', text });
  v.read = (seq) => v.frame({ t: 'read', conv: v.conv, seq });
  v.stop = async () => {
    ctrl.abort();
    await pump.catch(() => {});
  };
  return v;
}

export const desktop = { viewport: { width: 1440, height: 900 } };

/** Signs in through the console's own form. */
export async function signIn(browser, base, agent, initScript) {
  const ctx = await browser.newContext({ ...desktop, locale: 'en-GB' });
  if (initScript) await ctx.addInitScript(initScript);
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && !/status of 4\d\d|ERR_INTERNET_DISCONNECTED/.test(m.text()) && errors.push(m.text()));
  await page.goto(base + '/console');
  await page.getByLabel('Email').fill(agent.email);
  await page.getByLabel('Password').fill(agent.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
  return { ctx, page, errors };
}

export async function goOnline(page) {
  await page.getByLabel('Your status').selectOption('online');
  await page.locator('.status-online').waitFor();
}

