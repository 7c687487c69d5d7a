// The demo as a newcomer meets it: the server's home page and the demo
// shop on its own origin, in a real browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, needBrowser, shoot, loginAgent } from './harness.mjs';

test('the demo runs: home page, demo shop on another origin, agents can sign in', async (t) => {
  if (!needBrowser(t)) return;
  const demo = await startDemo();
  t.after(() => demo.stop());
  assert.notEqual(new URL(demo.tiski).origin, new URL(demo.shop).origin, 'the shop runs on its own origin');
  assert.equal(demo.agents.length >= 2, true, 'the demo prints two agent accounts');
  for (const a of demo.agents) {
    const agent = await loginAgent(demo.tiski, a.email, a.password);
    assert.equal(agent.me.user.email, a.email);
  }
  const browser = await launch();
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const res = await page.goto(demo.shop);
  assert.equal(res.status(), 200);
  assert.match(await page.title(), /Metsä & Meri/);
  const home = await page.goto(demo.tiski);
  assert.equal(home.status(), 200);
  assert.match(await page.textContent('h1'), /Tiski/);
  await shoot(page, 'home');
  assert.deepEqual(errors, []);
});
