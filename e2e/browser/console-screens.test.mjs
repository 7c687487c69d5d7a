// A busy console, checked and photographed: several chats with unread
// counts, keyboard switching and the help overlay, alerts while the tab is
// hidden, the supervisor board with a whisper, an admin changing the
// greeting live, the Finnish interface, and axe-core on every screen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, needBrowser, shoot, loginAgent, eventually, axe } from './harness.mjs';
import { newVisitor, siteKey, signIn, goOnline } from './console-helpers.mjs';

// Stand-ins the page sees for desktop notifications, the tab being hidden
// and the speaker, so the alerts can be counted.
const probes = () => {
  window.__notes = [];
  window.__chimes = 0;
  window.__hidden = false;
  class FakeNotification {
    constructor(title, opts) {
      window.__notes.push({ title, body: opts?.body ?? '' });
    }
    close() {}
  }
  FakeNotification.permission = 'granted';
  FakeNotification.requestPermission = () => Promise.resolve('granted');
  window.Notification = FakeNotification;
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (window.__hidden ? 'hidden' : 'visible') });
  const osc = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () {
    window.__chimes++;
    return osc.call(this);
  };
};

async function noSeriousViolations(page, where) {
  const v = await axe(page);
  assert.deepEqual(v, [], `${where}: axe found serious or critical violations: ${JSON.stringify(v, null, 1)}`);
}

test('a busy console: switching, alerts, board, whisper, live admin change, languages, accessibility', async (t) => {
  if (!needBrowser(t)) return;
  const demo = await startDemo();
  t.after(() => demo.stop());
  const [aino, eero] = demo.agents;
  const aApi = await loginAgent(demo.tiski, aino.email, aino.password);
  const eApi = await loginAgent(demo.tiski, eero.email, eero.password);
  const key = await siteKey(aApi);
  const shop = new URL(demo.shop).origin;

  // The organisation: departments, tags, canned responses.
  const sales = await aApi.call('POST', '/departments', { name: 'Myynti' });
  await aApi.call('POST', '/departments', { name: 'Asiakastuki' });
  const delivery = await aApi.call('POST', '/tags', { name: 'toimitus', color: '#0f766e' });
  await aApi.call('POST', '/tags', { name: 'palautus', color: '#b45309' });
  await aApi.call('POST', '/canned', { shortcut: 'kiitos', title: 'Kiitos yhteydenotosta', body: 'Kiitos {{visitor.name}}, autan mielelläni!' });
  await aApi.call('POST', '/canned', { shortcut: 'toimitus', title: 'Toimitusajat', body: 'Toimitamme 2–3 arkipäivässä.' });
  await eApi.call('PUT', '/me/status', { status: 'online' });

  const browser = await launch();
  t.after(() => browser.close());
  const a = await signIn(browser, demo.tiski, aino, probes);
  await goOnline(a.page);

  const visitors = [];
  const visit = async (profile, first) => {
    const v = await newVisitor(demo.tiski, shop, key, profile);
    visitors.push(v);
    await v.send(first);
    return v;
  };
  t.after(() => Promise.all(visitors.map((v) => v.stop())));
  const maija = await visit({ name: 'Maija Meikäläinen', email: 'maija@example.fi', attributes: { cart_value: '129,90 €', order: '#4512' } },
    'Hei! Tilasin eilen takin, milloin se lähtee?');
  const lars = await visit({ name: 'Lars Svensson', email: 'lars@example.se', language: 'sv', attributes: { cart_value: '54,00 €' } },
    'Hej! Kan jag byta storlek på skorna?');
  const pekka = await visit({ name: 'Pekka Virtanen', attributes: { plan: 'Kanta-asiakas' } }, 'Onko lahjakortteja?');

  // Aino takes Maija and Lars; Eero gets Pekka from the supervisor.
  const waiting = await aApi.call('GET', '/inbox/queue');
  const convOf = (v) => waiting.conversations.find((c) => c.visitor_id === v.id).id;
  await aApi.call('POST', `/conversations/${convOf(lars)}/assign`);
  await aApi.call('POST', `/conversations/${convOf(maija)}/assign`);
  await aApi.call('POST', `/conversations/${convOf(pekka)}/assign`, { agent_id: eApi.me.user.id });
  await aApi.call('PUT', `/conversations/${convOf(maija)}/tags/${delivery.id}`);

  const mine = a.page.getByRole('tabpanel');
  await mine.locator('.conv', { hasText: 'Lars Svensson' }).waitFor();
  await mine.locator('.conv', { hasText: 'Maija Meikäläinen' }).locator('.conv-main').click();
  const composer = a.page.getByTestId('composer');
  await composer.fill('/kiitos');
  await composer.press('Enter');
  await composer.press('Enter');
  await eventually(() => maija.messages.some((m) => m.body === 'Kiitos Maija Meikäläinen, autan mielelläni!'), 5000, 'canned answer');
  await maija.send('Kiitos! Tilausnumero on 4512.');
  await a.page.getByRole('radio', { name: /Internal note/ }).click();
  await composer.fill('Tilaus 4512 on varastossa, lähtee tänään.');
  await composer.press('Enter');
  await a.page.getByRole('radio', { name: 'Reply' }).click();
  await composer.fill('Takkisi lähtee tänään, seurantakoodi tulee sähköpostiin.');
  await composer.press('Enter');
  await maija.read(maija.messages[maija.messages.length - 1].seq + 1).catch(() => {});
  await eventually(() => maija.messages.some((m) => m.body.startsWith('Takkisi lähtee')), 5000, 'reply');
  await maija.read(maija.messages[maija.messages.length - 1].seq);

  // Lars writes again while Aino looks at Maija: an unread count on his row.
  await lars.send('Storlek 42 i stället för 41, tack.');
  const larsRow = mine.locator('.conv', { hasText: 'Lars Svensson' });
  await eventually(async () => (await larsRow.getByTestId('unread').locator('[aria-hidden]').textContent()) === '2', 5000, 'two unread from Lars');
  // A new shopper waits in the queue; the title counts unread and waiting.
  const emma = await visit({ name: 'Emma Wilson', language: 'en', attributes: { cart_value: '310,00 €' } }, 'Hi, do you ship to Estonia?');
  await a.page.getByTestId('count-queue').getByText('1').waitFor();
  await eventually(async () => (await a.page.title()) === '(3) Tiski', 5000, 'title (3) Tiski');
  await maija.typing('Entä jos en ole kotona, kun paketti');
  await a.page.getByTestId('typing-preview').waitFor();
  await shoot(a.page, 'console-inbox');
  await noSeriousViolations(a.page, 'inbox and chat');

  // One keystroke to the next chat: Lars opens, his unread count clears.
  await a.page.locator('body').click({ position: { x: 700, y: 300 } });
  await a.page.keyboard.press('Alt+ArrowDown');
  await a.page.getByRole('heading', { level: 1, name: 'Lars Svensson' }).waitFor();
  await eventually(async () => (await larsRow.getByTestId('unread').count()) === 0, 5000, 'Lars read');
  // Alt+N jumps to the N-th chat, as each row's hint says.
  const jump = await mine.locator('.conv', { hasText: 'Maija Meikäläinen' }).locator('.conv-key').textContent();
  await a.page.keyboard.press(jump);
  await a.page.getByRole('heading', { level: 1, name: 'Maija Meikäläinen' }).waitFor();
  // The help overlay lists the shortcuts, and Escape gives focus back.
  await a.page.keyboard.press('?');
  const help = a.page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.getByText('Next / previous chat').first().waitFor();
  await noSeriousViolations(a.page, 'help overlay');
  await a.page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });
  await a.page.keyboard.press('r');
  await eventually(async () => (await a.page.evaluate(() => document.activeElement?.id)) === 'composer-input', 3000, 'r focuses the message box');

  // Alerts while the tab is hidden: a desktop notification for a message in
  // a chat not being looked at, and a chime.
  await a.page.evaluate(() => {
    window.__hidden = true;
    document.dispatchEvent(new Event('visibilitychange'));
  });
  const chimes = await a.page.evaluate(() => window.__chimes);
  await lars.send('Hallå?');
  await eventually(() => a.page.evaluate(() => window.__notes.some((n) => n.title.includes('Lars Svensson') && n.body === 'Hallå?')), 5000, 'a desktop notification');
  assert.ok((await a.page.evaluate(() => window.__chimes)) > chimes, 'a chime played');
  await a.page.evaluate(() => {
    window.__hidden = false;
    document.dispatchEvent(new Event('visibilitychange'));
  });

  // The supervisor board: Eero with his load, Emma waiting; a whisper.
  await a.page.getByRole('button', { name: 'Supervisor' }).click();
  const eRow = a.page.getByTestId('board-agents').locator(`tr[data-agent="${eApi.me.user.id}"]`);
  await eRow.getByText('1/3').waitFor();
  await a.page.getByTestId('board-queue').getByText('Emma Wilson').waitFor();
  await shoot(a.page, 'console-board');
  await noSeriousViolations(a.page, 'supervisor board');
  const pRow = a.page.getByTestId('board-open').locator('tr', { hasText: 'Pekka Virtanen' });
  await pRow.getByRole('button', { name: 'Whisper' }).click();
  await a.page.getByRole('dialog').getByRole('textbox').fill('Kysy lahjakortin summa.');
  await a.page.getByRole('button', { name: 'Send whisper' }).click();
  const pekkaConv = convOf(pekka);
  const eMsgs = await eventually(async () => {
    const r = await eApi.call('GET', `/conversations/${pekkaConv}/messages`);
    return r.messages.find((m) => m.body === 'Kysy lahjakortin summa.');
  }, 5000, 'the whisper reaches the agent stream');
  assert.equal(eMsgs.kind, 'note');
  assert.ok(!JSON.stringify(pekka.frames).includes('lahjakortin summa'), 'the visitor never sees a whisper');

  // The supervisor opens Eero's chat from the board and joins it.
  await pRow.getByRole('button', { name: 'Open' }).click();
  await a.page.getByRole('heading', { level: 1, name: 'Pekka Virtanen' }).waitFor();
  await a.page.locator('.msg-note', { hasText: 'Kysy lahjakortin summa.' }).getByText(/Whisper from Aino/).waitFor();
  await a.page.getByTestId('join').click();
  await eventually(() => pekka.messages.some((m) => m.kind === 'event' && m.event === 'joined' && JSON.stringify(m).includes('Aino')), 5000, 'Pekka sees Aino join');
  await a.page.getByRole('button', { name: 'Supervisor' }).click();

  // Admin: a new greeting is live for the widget at once.
  await a.page.getByRole('button', { name: 'Admin' }).click();
  const greeting = a.page.getByTestId('greeting-fi');
  await greeting.fill('Hei! Olemme paikalla klo 8–20. Miten voimme auttaa?');
  await a.page.getByTestId('site-color').fill('#1d4ed8');
  await a.page.getByTestId('site-save').click();
  await a.page.getByText('Saved', { exact: true }).waitFor();
  const cfg = await (await fetch(`${demo.tiski}/api/widget/v1/sites/${key}`, { headers: { Origin: shop } })).json();
  assert.equal(cfg.settings.greeting.fi, 'Hei! Olemme paikalla klo 8–20. Miten voimme auttaa?');
  assert.equal(cfg.settings.color, '#1d4ed8');
  assert.match(await a.page.getByTestId('embed-snippet').textContent(), /widget\.js/);
  await a.page.locator('.page').evaluate((el) => el.scrollTo(0, 0));
  await a.page.locator('.toast').waitFor({ state: 'detached', timeout: 8000 });
  await shoot(a.page, 'console-admin-site');
  await noSeriousViolations(a.page, 'admin site settings');

  // An invitation: the new colleague is listed at once.
  await a.page.getByRole('button', { name: 'Users' }).click();
  await a.page.getByRole('button', { name: 'Invite user' }).click();
  const dlg = a.page.getByRole('dialog');
  await dlg.getByLabel('Email').fill('sanna@demo.tiski.local');
  await dlg.getByLabel('Name').fill('Sanna');
  await dlg.getByLabel('Role').selectOption('supervisor');
  await dlg.getByLabel('Myynti').check();
  await dlg.getByRole('button', { name: 'Send invitation' }).click();
  await a.page.getByTestId('users-table').locator('tr', { hasText: 'sanna@demo.tiski.local' }).getByText('Supervisor').waitFor();
  await noSeriousViolations(a.page, 'admin users');

  // Finnish, chosen by the person, stays chosen.
  await a.page.getByRole('combobox', { name: 'Language' }).first().selectOption('fi');
  await a.page.getByRole('button', { name: 'Keskustelut' }).waitFor();
  await a.page.reload();
  await a.page.getByRole('button', { name: 'Keskustelut' }).waitFor();
  assert.equal(await a.page.evaluate(() => document.documentElement.lang), 'fi');

  assert.ok(sales.id && emma.id);
  assert.deepEqual(a.errors, []);
});
