// Profile photos: the widget's header shows the online agent's photo, and
// an agent uploads and removes their own photo in the console.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, needBrowser, shoot, eventually } from './harness.mjs';
import { shopper, agent } from './widget-helpers.mjs';
import { signIn } from './console-helpers.mjs';

const loaded = (img) => img.evaluate((el) => el.complete && el.naturalWidth > 0);

test('agent photos in the widget and the console', async (t) => {
  if (!needBrowser(t)) return;
  const demo = await startDemo();
  t.after(() => demo.stop());
  const browser = await launch();
  t.after(() => browser.close());

  // The demo's agents have drawn photos; Aino goes online.
  const aino = await agent(demo, 0, t);
  assert.match(aino.me.user.photo_url, /^\/avatars\/[A-Z0-9]+\.png$/);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'fi-FI' });
  t.after(() => ctx.close());
  const { page, frame, errors } = await shopper(ctx, demo);
  await frame.locator('.launcher').click();
  const head = frame.locator('.head .avatar.big img');
  await head.waitFor();
  assert.equal(await head.getAttribute('src'), aino.me.user.photo_url);
  assert.equal(await head.getAttribute('alt'), 'Aino');
  await eventually(() => loaded(head), 10000, 'the header photo to load');
  await shoot(page, 'widget-agent-photo');
  assert.deepEqual(errors, []);

  // Eero uploads a photo (Aino's bytes will do) from the console, then removes it.
  const png = Buffer.from(await (await fetch(demo.tiski + aino.me.user.photo_url)).arrayBuffer());
  const eero = demo.agents[1];
  const con = await signIn(browser, demo.tiski, eero);
  t.after(() => con.ctx.close());
  const top = con.page.getByTestId('my-photo').locator('img');
  const before = await top.getAttribute('src');
  await con.page.getByTestId('my-photo').click();
  const dialog = con.page.getByRole('dialog', { name: 'Your photo' });
  await dialog.getByTestId('photo-file').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
  await eventually(async () => (await top.getAttribute('src')) !== before, 10000, 'the new photo in the top bar');
  await eventually(() => loaded(top), 10000, 'the uploaded photo to load');
  // The photo is drawn at the avatar's size, not its own 128 px.
  const box = await top.boundingBox();
  assert.ok(box && box.width <= 40 && box.height <= 40, `top-bar photo drawn at ${JSON.stringify(box)}`);
  await eventually(() => loaded(dialog.locator('.photo-preview img')), 10000, 'the preview to load');
  await shoot(con.page, 'console-photo');
  await dialog.getByTestId('photo-remove').click();
  await con.page.getByTestId('my-photo').locator('.avatar:not(.avatar-photo)').waitFor();
  assert.equal(await con.page.getByTestId('my-photo').locator('img').count(), 0);
  assert.deepEqual(con.errors, []);
});
