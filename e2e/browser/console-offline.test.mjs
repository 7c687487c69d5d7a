// The console's offline messages: what a shopper leaves in the widget's
// offline form shows in the console (as text), can be answered by email
// and is then marked handled; the badge follows new messages live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, needBrowser, loginAgent, eventually, axe, shoot } from './harness.mjs';
import { siteKey, signIn } from './console-helpers.mjs';

const xssName = '<img src=x onerror="window.__xss=1">';
const xssMessage = 'Onko koko 44 tulossa?\n<script>window.__xss=1</script><b>bold</b>';

/** Leaves an offline message as a new visitor, through the widget HTTP API. */
async function leaveOffline(tiski, shopOrigin, key, body) {
  const base = `${tiski}/api/widget/v1/sites/${key}`;
  const headers = { 'Content-Type': 'application/json', Origin: shopOrigin };
  const res = await fetch(base + '/visitors', { method: 'POST', headers, body: JSON.stringify({ language: 'fi' }) });
  if (!res.ok) throw new Error(`new visitor: ${res.status} ${await res.text()}`);
  const { token } = await res.json();
  const r = await fetch(base + '/offline', { method: 'POST', headers: { ...headers, Authorization: 'Bearer ' + token }, body: JSON.stringify(body) });
  const text = await r.text();
  assert.equal(r.status, 201, `offline form: ${r.status} ${text}`);
  return JSON.parse(text);
}

test('an offline message is shown inert, answered by email and marked handled', async (t) => {
  if (!needBrowser(t)) return;
  const demo = await startDemo();
  t.after(() => demo.stop());
  const agent = demo.agents.find((a) => a.role === 'agent') ?? demo.agents[0];
  const api = await loginAgent(demo.tiski, agent.email, agent.password);
  const key = await siteKey(api);
  const shop = new URL(demo.shop).origin;

  const left = await leaveOffline(demo.tiski, shop, key, {
    name: xssName, email: 'olli@example.com', message: xssMessage, page: demo.shop.replace(/\/?$/, '/') + 'fi/',
  });
  const before = (await api.call('GET', '/offline?state=open')).open;
  assert.ok(before >= 1, 'the message counts as open');

  const browser = await launch();
  t.after(() => browser.close());
  const a = await signIn(browser, demo.tiski, agent);
  const page = a.page;

  // The badge in the inbox area leads to the view.
  const entry = page.getByTestId('inbox-offline');
  await entry.getByText(String(before), { exact: true }).waitFor();
  await entry.click();
  await page.getByRole('heading', { level: 1, name: 'Offline messages' }).waitFor();
  const item = page.locator(`[data-offline="${left.id}"]`);
  await item.waitFor();

  // Shopper text is shown literally; nothing ran or was injected.
  await item.getByRole('heading', { level: 2, name: xssName }).waitFor();
  assert.equal(await item.getByTestId('offline-text').textContent(), xssMessage);
  assert.equal(await item.getByText('olli@example.com').count() > 0, true);
  const inert = await page.evaluate(() => ({
    flag: window.__xss,
    imgs: document.querySelectorAll('.offline-item img').length,
    scripts: document.querySelectorAll('.offline-item script, .offline-item b').length,
  }));
  assert.deepEqual(inert, { flag: undefined, imgs: 0, scripts: 0 });

  // A new message arrives while the console is open: the badge follows.
  await leaveOffline(demo.tiski, shop, key, { name: 'Outi', email: 'outi@example.com', message: 'Toimitusaika?' });
  await page.getByTestId('nav-offline-count').getByText(String(before + 1), { exact: true }).waitFor();
  await page.getByRole('heading', { level: 2, name: 'Outi' }).waitFor();

  const violations = await axe(page);
  assert.deepEqual(violations, [], 'axe: serious or critical problems on the offline view');

  // Reply by email.
  await item.getByRole('button', { name: 'Reply by email' }).click();
  await item.getByTestId('offline-reply-text').fill('Hei! Koko 44 tulee ensi viikolla.');
  await shoot(page, 'console-offline');
  await item.getByRole('button', { name: 'Send reply' }).click();
  await item.getByTestId('offline-reply').getByText('Hei! Koko 44 tulee ensi viikolla.').waitFor();
  await item.getByTestId('offline-state').getByText('Handled').waitFor();

  // The server's state: stored, handled by this agent, count down by one.
  const after = await eventually(async () => {
    const l = await api.call('GET', '/offline?state=handled');
    return l.messages.find((m) => m.id === left.id) && l;
  }, 5000, 'the message in the handled list');
  const m = after.messages.find((x) => x.id === left.id);
  assert.equal(m.reply, 'Hei! Koko 44 tulee ensi viikolla.');
  assert.ok(m.replied_at && m.handled_at, 'replied and handled');
  assert.equal(m.handled_by, api.me.user.id);
  assert.equal(after.open, before);
  await page.getByTestId('nav-offline-count').getByText(String(before), { exact: true }).waitFor();

  // A second reply is refused.
  await assert.rejects(api.call('POST', `/offline/${left.id}/reply`, { text: 'Toinen' }), /409/);
  assert.deepEqual(a.errors, []);
});
