// The visitor widget in a real browser: a shopper on the demo shop (its own
// origin) chats with an agent who answers through the protocol; the chat
// survives reloads, two tabs and a lost network; the offline form and the
// smiley rating work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, needBrowser, eventually, shoot } from './harness.mjs';
import { shopper, convOf, sendAsShopper, agent, bubbles, stored } from './widget-helpers.mjs';

test('widget chat', async (t) => {
  if (!needBrowser(t)) return;
  const demo = await startDemo();
  t.after(() => demo.stop());
  const browser = await launch();
  t.after(() => browser.close());
  const aino = await agent(demo, 0, t);

  await t.test('a shopper sends, an agent answers, the shopper sees it with read status and typing', async () => {
    const ctx = await browser.newContext();
    const { page, frame, errors } = await shopper(ctx, demo, '/fi/p/retkikeitin');
    assert.equal(await frame.locator('html').getAttribute('lang'), 'fi', 'the page is Finnish, so is the chat');
    await frame.locator('.launcher').click();
    await frame.locator('#tiski-input').waitFor();
    assert.equal(await frame.locator('#tiski-panel').getAttribute('role'), 'dialog');
    const chatFrame = page.frames().find((f) => f.url().includes('/frame?'));
    await eventually(async () => (await chatFrame.evaluate(() => document.activeElement && document.activeElement.id)) === 'tiski-input', 5000, 'focus in the composer');
    await sendAsShopper(frame, 'Hei! Onko keitin varastossa?');
    const conv = await convOf(page);
    await eventually(async () => (await aino.messages(conv)).some((m) => m.body === 'Hei! Onko keitin varastossa?'), 10000, 'the agent to see it');

    await aino.frames({ t: 'typing', conv, on: true });
    await frame.getByText('Aino kirjoittaa…').waitFor({ timeout: 10000 });
    await aino.say(conv, 'On! Lisätietoa: https://example.com/keitin. Toimitus 1–2 päivässä.');
    await frame.locator('.msgs').getByText('On! Lisätietoa').waitFor({ timeout: 10000 });
    assert.equal(await frame.getByText('Aino kirjoittaa…').count(), 0, 'a message ends the typing indicator');
    const link = frame.locator('.msgs a[href="https://example.com/keitin"]');
    assert.equal(await link.count(), 1, 'the address became a link without the full stop');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow');
    assert.equal(await link.getAttribute('target'), '_blank');
    // Sender name and time are shown.
    assert.ok((await frame.locator('.row.agent .name').allInnerTexts()).includes('Aino'));
    assert.match(await frame.locator('.row.agent time').last().innerText(), /^\d\d[.:]\d\d$/);

    // The agent reads: the shopper's last message says so.
    const msgs = await aino.messages(conv);
    const last = msgs[msgs.length - 1];
    await aino.frames({ t: 'read', conv, seq: last.seq });
    await frame.locator('.row.visitor .state').getByText('Luettu').waitFor({ timeout: 10000 });
    // The widget marked the agent's message read for the agent.
    await eventually(async () => {
      const c = await aino.call('GET', `/conversations/${conv}`);
      return c.read_marks && c.read_marks.some((r) => r.reader_kind === 'visitor' && r.seq >= 3);
    }, 10000, 'the visitor read mark');
    // Page views and device reach the agent.
    const info = await aino.call('GET', `/conversations/${conv}`);
    assert.ok(info.visitor.pages.some((p) => p.url.endsWith('/fi/p/retkikeitin') && /Retkikeitin/.test(p.title)), JSON.stringify(info.visitor.pages));
    assert.equal(info.visitor.device, 'desktop');
    assert.ok(info.visitor.local_time, 'local time is known');
    assert.deepEqual(errors, []);
    await aino.call('POST', `/conversations/${conv}/close`);
    await ctx.close();
  });

  await t.test('reload keeps the conversation and two tabs stay in step', async () => {
    const ctx = await browser.newContext();
    const { page, frame } = await shopper(ctx, demo, '/fi/');
    await frame.locator('.launcher').click();
    await sendAsShopper(frame, 'Ensimmäinen viesti');
    const conv = await convOf(page);
    await aino.say(conv, 'Vastaus ennen uudelleenlatausta');
    await frame.locator('.msgs').getByText('Vastaus ennen uudelleenlatausta').waitFor();
    await page.reload();
    const again = page.frameLocator('iframe[title="Chat"]');
    await again.locator('#tiski-panel').waitFor({ state: 'visible' }); // it stays open
    await again.locator('.msgs').getByText('Vastaus ennen uudelleenlatausta').waitFor();
    assert.equal((await bubbles(again)).filter((b) => b === 'Ensimmäinen viesti').length, 1, 'no duplicates after reload');

    const tab2 = await shopper(ctx, demo, '/fi/cart');
    if (await tab2.frame.locator('.launcher').isVisible()) await tab2.frame.locator('.launcher').click();
    await tab2.frame.locator('.msgs').getByText('Vastaus ennen uudelleenlatausta').waitFor();
    await sendAsShopper(tab2.frame, 'Toisesta välilehdestä');
    await again.locator('.msgs').getByText('Toisesta välilehdestä').waitFor({ timeout: 10000 });
    await aino.say(conv, 'Molemmille välilehdille');
    await again.locator('.msgs').getByText('Molemmille välilehdille').waitFor({ timeout: 10000 });
    await tab2.frame.locator('.msgs').getByText('Molemmille välilehdille').waitFor({ timeout: 10000 });
    const s = await stored(page);
    assert.equal(s.convs.length, 1, 'one conversation for both tabs');
    await aino.call('POST', `/conversations/${conv}/close`);
    await ctx.close();
  });

  await t.test('a network cut and restore loses nothing', async () => {
    const ctx = await browser.newContext();
    const { page, frame } = await shopper(ctx, demo, '/fi/');
    await frame.locator('.launcher').click();
    await sendAsShopper(frame, 'Ennen katkoa');
    const conv = await convOf(page);
    await aino.say(conv, 'Olen täällä');
    await frame.locator('.msgs').getByText('Olen täällä').waitFor();

    await ctx.setOffline(true);
    await frame.locator('.net').waitFor({ state: 'visible', timeout: 10000 });
    await sendAsShopper(frame, 'Katkon aikana 1');
    await sendAsShopper(frame, 'Katkon aikana 2');
    await frame.locator('.row.pending').first().waitFor();
    await aino.say(conv, 'Agentti katkon aikana');
    await ctx.setOffline(false);

    await frame.locator('.msgs').getByText('Agentti katkon aikana').waitFor({ timeout: 20000 });
    await eventually(async () => (await frame.locator('.row.pending').count()) === 0, 20000, 'the outbox to empty');
    const bodies = (await aino.messages(conv)).map((m) => m.body);
    for (const b of ['Ennen katkoa', 'Katkon aikana 1', 'Katkon aikana 2']) {
      assert.equal(bodies.filter((x) => x === b).length, 1, `${b} is stored exactly once`);
    }
    assert.ok(bodies.indexOf('Katkon aikana 1') < bodies.indexOf('Katkon aikana 2'), 'in the order typed');
    const shown = await bubbles(frame);
    for (const b of ['Katkon aikana 1', 'Katkon aikana 2', 'Agentti katkon aikana']) {
      assert.equal(shown.filter((x) => x === b).length, 1, `${b} shown once`);
    }
    await aino.call('POST', `/conversations/${conv}/close`);
    await ctx.close();
  });

  await t.test('the smiley rating and comment are stored after the chat ends', async () => {
    const ctx = await browser.newContext({ reducedMotion: 'reduce' });
    const { page, frame } = await shopper(ctx, demo, '/sv/');
    assert.equal(await frame.locator('html').getAttribute('lang'), 'sv');
    await frame.locator('.launcher').click();
    await sendAsShopper(frame, 'Hej, en fråga om frakt');
    const conv = await convOf(page);
    await aino.say(conv, 'Fri frakt över 50 €!');
    await frame.locator('.msgs').getByText('Fri frakt').waitFor();
    await aino.call('POST', `/conversations/${conv}/close`);
    await frame.getByRole('radiogroup').waitFor({ timeout: 10000 });
    await frame.getByRole('radio', { name: 'Bra' }).click();
    assert.equal(await frame.getByRole('radio', { name: 'Bra' }).getAttribute('aria-checked'), 'true');
    await frame.locator('#tiski-comment').fill('Snabbt svar, tack!');
    await shoot(page, 'widget-rating');
    await frame.getByRole('button', { name: 'Skicka omdöme' }).click();
    await frame.locator('#tiski-panel').getByText('Tack för ditt omdöme!').waitFor();
    const c = await aino.call('GET', `/conversations/${conv}`);
    assert.equal(c.rating.score, 'good');
    assert.equal(c.rating.comment, 'Snabbt svar, tack!');
    // The transcript can be asked for by email.
    await frame.locator('#tiski-transcript').fill('kund@example.com');
    await frame.getByRole('button', { name: 'Skicka konversationen' }).click();
    await frame.locator('#tiski-panel').getByText('Konversationen är på väg till kund@example.com.').waitFor();
    await ctx.close();
  });

  await t.test('pre-chat form with a topic; files by paste and drop; unread badge', async () => {
    const site = (await aino.call('GET', '/sites')).sites[0];
    const dept = await aino.call('POST', '/departments', { name: 'Tilaukset' });
    const before = site.settings;
    await aino.call('PATCH', `/sites/${site.id}`, { settings: { ...before, prechat: { enabled: true,
      fields: [{ name: 'name', required: true }, { name: 'email', required: true }, { name: 'message', required: false }] } } });
    try {
      const ctx = await browser.newContext({ reducedMotion: 'reduce' });
      const { page, frame } = await shopper(ctx, demo, '/fi/');
      await frame.locator('.launcher').click();
      await frame.getByLabel('Nimi').fill('Petra Prechat');
      await frame.getByLabel('Sähköposti').fill('petra@example.com');
      await frame.getByLabel('Aihe').selectOption({ label: 'Tilaukset' });
      await frame.getByLabel('Viesti (valinnainen)').fill('Missä tilaukseni on?');
      await shoot(page, 'widget-prechat');
      await frame.getByRole('button', { name: 'Aloita chat' }).click();
      await frame.locator('.msgs').getByText('Missä tilaukseni on?').waitFor();
      const conv = await convOf(page);
      const c = await aino.call('GET', `/conversations/${conv}`);
      assert.equal(c.conversation.department_id, dept.id, 'the topic chose the department');
      assert.equal(c.visitor.name, 'Petra Prechat');
      assert.equal(c.visitor.email, 'petra@example.com');

      // A pasted file and a dropped file are sent.
      const chat = page.frames().find((f) => f.url().includes('/frame?'));
      await chat.evaluate(() => {
        const png = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='), (ch) => ch.charCodeAt(0));
        const file = (name) => { const d = new DataTransfer(); d.items.add(new File([png], name, { type: 'image/png' })); return d; };
        document.querySelector('#tiski-input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: file('liitetty.png'), bubbles: true, cancelable: true }));
        document.querySelector('#tiski-panel').dispatchEvent(new DragEvent('drop', { dataTransfer: file('pudotettu.png'), bubbles: true, cancelable: true }));
      });
      await eventually(async () => {
        const names = (await aino.messages(conv)).filter((m) => m.kind === 'file').map((m) => m.file.name).sort();
        return names.join() === 'liitetty.png,pudotettu.png';
      }, 10000, 'the pasted and dropped files');
      await frame.locator('.msgs .fname').getByText('pudotettu.png').waitFor();

      // Minimised, an agent's message shows on the launcher.
      await frame.getByRole('button', { name: 'Pienennä chat' }).click();
      await aino.say(conv, 'Tilauksesi on matkalla!');
      await frame.locator('.badge').getByText('1').waitFor({ timeout: 10000 });
      assert.match(await frame.locator('.launcher').getAttribute('aria-label'), /1 lukematonta viestiä/);
      await frame.locator('.launcher').click();
      await frame.locator('.msgs').getByText('Tilauksesi on matkalla!').waitFor();
      assert.equal(await frame.locator('.badge').isVisible(), false);
      await aino.call('POST', `/conversations/${conv}/close`);
      await ctx.close();
    } finally {
      await aino.call('PATCH', `/sites/${site.id}`, { settings: before });
    }
  });

  await t.test('when nobody is online the offline form takes a message', async () => {
    await aino.call('PUT', '/me/status', { status: 'offline' });
    try {
      const ctx = await browser.newContext({ locale: 'en-GB', reducedMotion: 'reduce' });
      const { page, frame } = await shopper(ctx, demo, '/en/');
      await frame.locator('.launcher').click();
      await frame.getByRole('heading', { name: 'Leave us a message' }).waitFor();
      assert.equal(await frame.locator('#tiski-input').isVisible(), false, 'no chat box that talks into a void');
      await frame.getByRole('button', { name: 'Send message' }).click();
      assert.equal(await frame.locator('#tiski-name').getAttribute('aria-invalid'), 'true', 'required fields are checked');
      await frame.getByLabel('Name').fill('Olli Offline');
      await frame.getByLabel('Email').fill('olli@example.com');
      await frame.getByLabel('Message').fill('Do you ship to Åland?');
      await shoot(page, 'widget-offline');
      await frame.getByRole('button', { name: 'Send message' }).click();
      await frame.locator('#tiski-panel').getByText('Thank you! We got your message and will reply to olli@example.com.').waitFor();
      const s = await stored(page);
      const v = await aino.call('GET', `/visitors/${s.visitor}`);
      assert.equal(v.name, 'Olli Offline');
      assert.equal(v.email, 'olli@example.com');
      await ctx.close();
    } finally {
      await aino.call('PUT', '/me/status', { status: 'online' });
    }
  });
});
