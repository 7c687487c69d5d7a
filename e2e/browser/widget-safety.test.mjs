// The widget's safety, accessibility, size and JS API in a real browser:
// XSS payloads stay text, axe-core finds nothing serious, a phone-sized
// screenshot is taken, the size budget holds, and the shop's page talks to
// the chat through window.Tiski only, under the shop's strict CSP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { startDemo, launch, needBrowser, eventually, axe, shoot, repo } from './harness.mjs';
import { shopper, convOf, sendAsShopper, agent, bubbles, stored } from './widget-helpers.mjs';

const payloads = [
  '<img src=x onerror="window.__xss=1">',
  '<script>window.__xss=1</script>',
  '"><svg onload=window.__xss=1>',
  'javascript:window.__xss=1',
  '<a href="javascript:window.__xss=1">klikkaa</a>',
  'https://example.com/"><img src=x onerror=window.__xss=1>',
  '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
  '{{constructor.constructor("window.__xss=1")()}}',
];

test('the size budget holds on the gzipped files that ship', () => {
  const dist = join(repo, 'web', 'dist');
  const manifest = JSON.parse(readFileSync(join(dist, 'manifest.json'), 'utf8'));
  const gz = (f) => gzipSync(readFileSync(join(dist, f)), { level: 9 }).length;
  const loader = gz(manifest['widget.js']);
  const whole = loader + gz(manifest['widget-app.js']) + gz(manifest['widget-frame.css']);
  assert.ok(loader <= 3 * 1024, `loader is ${loader} B gzipped, budget 3 KB`);
  assert.ok(whole <= 25 * 1024, `the widget is ${whole} B gzipped, budget 25 KB`);
});

test('widget safety, accessibility and JS API', async (t) => {
  if (!needBrowser(t)) return;
  const demo = await startDemo();
  t.after(() => demo.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const aino = await agent(demo, 0, t);

  await t.test('XSS payloads in messages, names and file names render as inert text', async () => {
    const ctx = await browser.newContext();
    const { page, frame, errors } = await shopper(ctx, demo, '/fi/');
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    await frame.locator('.launcher').click();
    for (const p of payloads) await sendAsShopper(frame, p);
    const conv = await convOf(page);
    await eventually(async () => (await aino.messages(conv)).filter((m) => m.from.kind === 'visitor').length === payloads.length, 15000, 'all payloads stored');
    // An agent whose name is a payload answers with payloads.
    const users = (await aino.call('GET', '/users')).users;
    const eero = users.find((u) => u.email === demo.agents[1].email);
    await aino.call('PATCH', `/users/${eero.id}`, { name: payloads[0] });
    const evil = await agent(demo, 1, t);
    await evil.call('POST', `/conversations/${conv}/assign`);
    for (const p of payloads) await evil.say(conv, p);
    // A file whose name is a payload.
    await frame.locator('input[type=file]').first().setInputFiles({
      name: '<img src=x onerror=window.__xss=1>.png', mimeType: 'image/png',
      buffer: Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64'),
    });
    await frame.locator('.msgs .fname').waitFor({ timeout: 10000 });
    await eventually(async () => (await bubbles(frame)).filter((b) => payloads.includes(b.trim())).length >= payloads.length * 2 - 2,
      15000, 'payloads shown as text');
    const shown = await bubbles(frame);
    for (const p of payloads) {
      assert.ok(shown.filter((b) => b.includes(p)).length >= 2, `shown literally from both sides: ${p}`);
    }
    assert.ok((await frame.locator('.row.agent .name').allInnerTexts()).includes(payloads[0]), 'the agent name is text');
    assert.match(await frame.locator('.msgs .fname').innerText(), /<img src=x/);
    const chat = page.frames().find((f) => f.url().includes('/frame?'));
    const inert = await chat.evaluate(() => ({
      xss: window.__xss, imgs: [...document.querySelectorAll('.msgs img')].filter((i) => !i.closest('a.file') &&
        // Agents' photos are Tiski's own images, nothing from the payloads.
        !(i.closest('.avatar') && i.src.startsWith(location.origin + '/avatars/'))).length,
      scripts: document.querySelectorAll('.msgs script, .msgs iframe, .msgs svg[onload]').length,
      jsLinks: [...document.querySelectorAll('a')].filter((a) => !/^https?:/.test(a.href)).length,
    }));
    assert.deepEqual(inert, { xss: undefined, imgs: 0, scripts: 0, jsLinks: 0 });
    assert.equal(await page.evaluate(() => window.__xss), undefined, 'nothing ran in the shop page');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
    await aino.call('PATCH', `/users/${eero.id}`, { name: 'Eero' });
    await evil.call('PUT', '/me/status', { status: 'offline' });
    await aino.call('POST', `/conversations/${conv}/close`);
    await ctx.close();
  });

  await t.test('phone-sized: full screen, screenshots, axe-core finds nothing serious', async () => {
    const ctx = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
      reducedMotion: 'reduce' });
    const { page, frame } = await shopper(ctx, demo, '/fi/p/makuupussi');
    const chat = page.frames().find((f) => f.url().includes('/frame?'));
    assert.deepEqual(await axe(chat), [], 'launcher state');
    await shoot(page, 'widget-mobile-closed');
    await frame.locator('.launcher').click();
    await sendAsShopper(frame, 'Hei! Mahtuuko makuupussi 50 litran rinkkaan?');
    const conv = await convOf(page);
    await aino.say(conv, 'Hei, olen Aino! Mahtuu hyvin: pakattuna se on 18 × 32 cm. Katso mitat: https://example.com/mitat');
    await frame.locator('.msgs').getByText('Mahtuu hyvin').waitFor();
    await aino.frames({ t: 'typing', conv, on: true });
    await frame.locator('.typing').waitFor();
    const box = await page.locator('iframe[title="Chat"]').boundingBox();
    assert.deepEqual([box.x, box.y, box.width, box.height], [0, 0, 375, 667], 'full screen under 600 px');
    assert.equal(await frame.locator('.camera, button[aria-label$="(camera)"]').count(), 1, 'a camera button on touch screens');
    await shoot(page, 'widget-mobile');
    assert.deepEqual(await axe(chat), [], 'open chat');
    // Keyboard: Escape minimises and gives focus back to the launcher.
    const chatFrame = page.frames().find((f) => f.url().includes('/frame?'));
    assert.equal(await chatFrame.evaluate(() => getComputedStyle(document.querySelector('.panel')).animationName), 'none', 'no motion when reduced');
    await frame.locator('#tiski-input').press('Escape');
    await frame.locator('.launcher').waitFor();
    assert.equal(await chat.evaluate(() => document.activeElement.className), 'launcher');
    await aino.call('POST', `/conversations/${conv}/close`);
    await frame.locator('.launcher').click();
    await frame.getByRole('radiogroup').waitFor();
    await shoot(page, 'widget-mobile-rating');
    assert.deepEqual(await axe(chat), [], 'rating');
    await ctx.close();
  });

  await t.test('the JS API: open, on, dataLayer, attributes, purchase, identify, page changes; nothing global but Tiski', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const requests = [];
    ctx.on('request', (r) => requests.push(new URL(r.url()).origin));
    const { page, frame, errors } = await shopper(ctx, demo, '/en/p/otsalamppu');
    const extra = await page.evaluate(() => {
      const f = document.createElement('iframe');
      document.body.appendChild(f);
      const clean = new Set(Object.getOwnPropertyNames(f.contentWindow));
      f.remove();
      return Object.getOwnPropertyNames(window).filter((k) => !clean.has(k) && !/^\d+$/.test(k)); // not frame indexes
    });
    assert.deepEqual(extra, ['Tiski'], 'the only global is Tiski');
    await page.evaluate(() => {
      window.dataLayer = [];
      window.seen = [];
      window.Tiski('on', 'open', () => window.seen.push('open'));
      window.Tiski('on', 'message.sent', (d) => window.seen.push('sent:' + d.text));
      window.Tiski('open', { greeting: 'Welcome! Questions about the headlamp?' });
    });
    await frame.locator('.msgs').getByText('Welcome! Questions about the headlamp?').waitFor();
    await sendAsShopper(frame, 'Is it waterproof?');
    await eventually(() => page.evaluate(() => window.seen.join(',') === 'open,sent:Is it waterproof?'), 5000, 'events to the page');
    const layer = await page.evaluate(() => window.dataLayer.map((e) => e.event));
    assert.ok(layer.includes('tiski.open') && layer.includes('tiski.message.sent'), JSON.stringify(layer));
    await shoot(page, 'widget-desktop');
    await page.evaluate(() => window.Tiski('close'));
    await frame.locator('.launcher').waitFor();

    // A single-page shop changes pages with history.pushState.
    await page.evaluate(() => history.pushState({}, '', '/en/spa-view'));
    const s = await stored(page);
    await eventually(async () => (await aino.call('GET', `/visitors/${s.visitor}`)).pages.some((p) => p.url.endsWith('/en/spa-view')),
      10000, 'the SPA page view');

    // Cart, checkout, purchase and identity go through the JS API.
    await page.goto(demo.shop + '/en/p/otsalamppu');
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByRole('link', { name: 'Go to checkout' }).click();
    await page.getByLabel('Name').fill('Ilona Ostaja');
    await page.getByLabel('Email').fill('ilona@example.com');
    await page.getByRole('button', { name: 'Place order and pay' }).click();
    const order = await page.locator('#order').getAttribute('data-order');
    const v = await eventually(async () => {
      const x = await aino.call('GET', `/visitors/${s.visitor}`);
      return x.events.some((e) => e.type === 'purchase') && x.customer_id ? x : null;
    }, 10000, 'purchase and identity');
    const purchase = v.events.find((e) => e.type === 'purchase');
    assert.deepEqual(purchase.data, { orderId: order, value: 39.8, currency: 'EUR' });
    assert.match(v.customer_id, /^cust-/);
    assert.equal(v.name, 'Ilona Ostaja');
    assert.equal(v.attributes.cart_value, '39.80', 'the cart value set before checkout');

    // No cookies from Tiski (the demo shop's own are demo_*), no third parties.
    assert.deepEqual((await ctx.cookies(demo.tiski)).filter((c) => !c.name.startsWith('demo_')), []);
    const allowed = new Set([new URL(demo.shop).origin, new URL(demo.tiski).origin]);
    assert.deepEqual([...new Set(requests)].filter((o) => !allowed.has(o) && o !== 'null'), []);
    assert.deepEqual(errors, [], 'no script errors and no CSP violations on the shop');
    const conv = await convOf(page);
    await aino.call('POST', `/conversations/${conv}/close`).catch(() => {});
    await ctx.close();
  });
});
