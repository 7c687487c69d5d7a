// Text from shoppers reaches the console only as text: an XSS corpus in the
// visitor's name, messages, custom attributes, typing preview and file
// names must render literally, run nothing and add no elements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, needBrowser, loginAgent, eventually } from './harness.mjs';
import { newVisitor, siteKey, signIn, goOnline } from './console-helpers.mjs';

// Each payload sets window.__xss if it ever runs.
const corpus = [
  '<img src=x onerror="window.__xss=1">',
  '<script>window.__xss=1</script>',
  '"><svg onload=window.__xss=1>',
  "'><iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>",
  '<a href="javascript:window.__xss=1" id="xss-link">click me</a>',
  '{{constructor.constructor("window.__xss=1")()}}',
  '<style>body{display:none}</style><math><mi xlink:href="javascript:window.__xss=1">x</mi></math>',
];

// A 1×1 PNG.
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

test('the XSS corpus renders inert in the console', async (t) => {
  if (!needBrowser(t)) return;
  const demo = await startDemo();
  t.after(() => demo.stop());
  const [aino] = demo.agents;
  const api = await loginAgent(demo.tiski, aino.email, aino.password);
  const key = await siteKey(api);
  const shop = new URL(demo.shop).origin;

  const browser = await launch();
  t.after(() => browser.close());
  const a = await signIn(browser, demo.tiski, aino);
  await goOnline(a.page);

  const attrs = Object.fromEntries(corpus.map((p, i) => ['x' + i + p.slice(0, 30), p]));
  const v = await newVisitor(demo.tiski, shop, key, { name: corpus[0].slice(0, 100), attributes: attrs });
  t.after(() => v.stop());
  for (const p of corpus) await v.send(p);

  // Take the chat: everything shows literally.
  await a.page.getByRole('tab', { name: /Queue/ }).click();
  const item = a.page.locator('.conv').first();
  await item.waitFor();
  await item.getByRole('button', { name: 'Take' }).click();
  await a.page.getByRole('heading', { level: 1, name: corpus[0] }).waitFor();
  for (const p of corpus) await a.page.locator('.msg-visitor .text', { hasText: p }).first().waitFor();
  await a.page.getByTestId('v-attributes').getByText(corpus[2], { exact: true }).waitFor();

  // A file whose name is markup, and a typing preview that is markup.
  const form = new FormData();
  form.set('id', 'xss-file-1');
  form.set('body', corpus[1]);
  form.set('file', new Blob([png], { type: 'image/png' }), corpus[2].replace(/[/\\]/g, '') + '.png');
  const up = await fetch(`${demo.tiski}/api/widget/v1/sites/${key}/files?conv=${v.conv}`, {
    method: 'POST', headers: { Origin: shop, Authorization: 'Bearer ' + v.token }, body: form,
  });
  assert.equal(up.status < 300, true, `upload: ${up.status} ${await up.text()}`);
  await a.page.locator('.file-name', { hasText: 'svg onload' }).waitFor();
  await v.typing(corpus[3]);
  await a.page.getByTestId('typing-preview').waitFor();

  // An agent can type markup too: it goes out and comes back as text.
  await a.page.getByTestId('composer').fill(corpus[4]);
  await a.page.getByTestId('composer').press('Enter');
  await a.page.locator('.msg-agent .text', { hasText: 'javascript:window.__xss=1' }).waitFor();
  await eventually(() => v.messages.some((m) => m.body === corpus[4]), 5000, 'the visitor gets the agent text unchanged');

  // Nothing ran, nothing was injected, the page is still shown.
  const state = await a.page.evaluate(() => ({
    flag: window.__xss,
    injected: document.querySelectorAll('img[src="x"], script:not([src]), svg[onload], iframe, #xss-link, math, style').length,
    visible: getComputedStyle(document.body).display,
    onerror: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((at) => at.name.startsWith('on'))).length,
  }));
  assert.deepEqual(state, { flag: undefined, injected: 0, visible: 'block', onerror: 0 });
  // The inbox list, the panel and the title show the name as text as well.
  assert.equal(await a.page.locator('.conv-name').first().textContent(), corpus[0]);
  assert.equal(await a.page.getByTestId('v-name').textContent(), corpus[0]);
  assert.deepEqual(a.errors, []);
});
