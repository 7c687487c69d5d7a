// The agent console in a real browser: an agent signs in, goes online,
// takes a shopper's chat, replies, uses a canned response, writes a note
// the shopper never sees, transfers the chat to a colleague (a second
// browser context) who closes it. The shopper is driven from Node through
// the widget API and the realtime protocol, so each step is checked from
// their side too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { startDemo, launch, needBrowser, loginAgent, eventually, axe, repo } from './harness.mjs';
import { newVisitor, siteKey, signIn, goOnline } from './console-helpers.mjs';

test('the console JS stays within its size budget', () => {
  const manifest = JSON.parse(readFileSync(join(repo, 'web', 'dist', 'manifest.json'), 'utf8'));
  assert.ok(manifest['console.js'], 'console.js is built');
  const js = readFileSync(join(repo, 'web', 'dist', manifest['console.js']));
  const gz = gzipSync(js, { level: 9 }).length;
  assert.ok(gz <= 150 * 1024, `console.js is ${gz} bytes gzipped, over the 150 KB budget`);
  // Nothing in the bundle writes HTML from strings.
  const src = readdirSync(join(repo, 'web', 'console'), { recursive: true })
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => readFileSync(join(repo, 'web', 'console', f), 'utf8'))
    .join('\n');
  assert.doesNotMatch(src, /dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
});

test('a shift: take a chat, reply, canned response, note, transfer, close', async (t) => {
  if (!needBrowser(t)) return;
  const demo = await startDemo();
  t.after(() => demo.stop());
  const [aino, eero] = demo.agents;
  const aApi = await loginAgent(demo.tiski, aino.email, aino.password);
  const key = await siteKey(aApi);
  const shop = new URL(demo.shop).origin;

  // A canned response with a placeholder.
  await aApi.call('POST', '/canned', { shortcut: 'ship', title: 'Shipping times', body: 'Hi {{visitor.name}}, we ship in 2–3 working days.' });

  const browser = await launch();
  t.after(() => browser.close());

  // The sign-in page: accessible, and a wrong password is said plainly.
  const login = await browser.newPage();
  await login.goto(demo.tiski + '/console');
  await login.getByLabel('Email').fill(aino.email);
  await login.getByLabel('Password').fill('not the password');
  await login.getByRole('button', { name: 'Sign in' }).click();
  await login.getByRole('alert').waitFor();
  assert.deepEqual(await axe(login), [], 'sign-in page has no serious or critical axe violations');
  await login.close();
  // Aino's page keeps a handle on its sockets so the test can cut one.
  const a = await signIn(browser, demo.tiski, aino, () => {
    const Native = window.WebSocket;
    window.__sockets = [];
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        window.__sockets.push(this);
      }
    };
  });
  const e = await signIn(browser, demo.tiski, eero);
  await goOnline(a.page);
  await goOnline(e.page);
  assert.match(await a.page.getByTestId('my-load').textContent(), /^0\/3$/);

  // A shopper writes; the chat waits in the queue with its wait time.
  const v = await newVisitor(demo.tiski, shop, key, {
    name: 'Maija Meikäläinen', email: 'maija@example.fi', attributes: { cart_value: '129.90 €' },
  });
  t.after(() => v.stop());
  await v.send('Hei! Milloin tilaukseni saapuu?');
  await a.page.getByRole('tab', { name: /Queue/ }).click();
  const item = a.page.locator('.conv', { hasText: 'Maija Meikäläinen' });
  await item.waitFor();
  await eventually(async () => /\d+ s|min/.test(await item.locator('.wait').textContent()), 5000, 'a wait time');
  assert.match(await a.page.title(), /^\(\d+\) /, 'the title counts what waits');

  // Aino takes it: it moves to My chats, load 1/3, the visitor panel shows the shopper.
  await item.getByRole('button', { name: 'Take' }).click();
  await a.page.getByRole('heading', { level: 1, name: 'Maija Meikäläinen' }).waitFor();
  await eventually(async () => (await a.page.getByTestId('my-load').textContent()) === '1/3', 5000, 'load 1/3');
  await a.page.getByTestId('v-email').getByText('maija@example.fi').waitFor();
  await a.page.getByTestId('v-attributes').getByText('129.90 €').waitFor();
  await a.page.locator('.msg-visitor', { hasText: 'Milloin tilaukseni saapuu?' }).waitFor();
  await eventually(() => v.messages.some((m) => m.kind === 'event' && m.event === 'joined'), 5000, 'the visitor sees Aino join');

  // The shopper's draft shows live, then the message.
  await v.typing('Tilausnumero on 12');
  await a.page.getByTestId('typing-preview').getByText('Tilausnumero on 12').waitFor();

  // Reply.
  const composer = a.page.getByTestId('composer');
  await composer.fill('Hei Maija! Katson asiaa heti.');
  await eventually(() => v.frames.some((f) => f.t === 'typing' && f.on && f.from?.kind === 'agent'), 5000, 'the visitor sees Aino typing');
  assert.ok(!v.frames.some((f) => f.t === 'typing' && f.text), 'an agent draft is never previewed to the visitor');
  await composer.press('Enter');
  await a.page.locator('.msg-agent', { hasText: 'Katson asiaa heti.' }).waitFor();
  await eventually(() => v.messages.some((m) => m.body === 'Hei Maija! Katson asiaa heti.' && m.from.kind === 'agent'), 5000, 'the visitor gets the reply');

  // The visitor reads it: a read receipt.
  const last = v.messages[v.messages.length - 1].seq;
  await v.read(last);
  await a.page.getByTestId('seen').waitFor();

  // A canned response through "/", with the visitor's first name filled in.
  {
    await composer.fill('/ship');
    await a.page.getByRole('option', { name: /Shipping times/ }).waitFor();
    await composer.press('Enter');
    assert.equal(await composer.inputValue(), 'Hi Maija Meikäläinen, we ship in 2–3 working days.');
    await composer.press('Enter');
    await eventually(() => v.messages.some((m) => m.body === 'Hi Maija Meikäläinen, we ship in 2–3 working days.'), 5000, 'the visitor gets the canned answer');
  }

  // An internal note: shown distinctly to agents, never to the visitor.
  await a.page.getByRole('radio', { name: /Internal note/ }).click();
  await composer.fill('Asiakas odottaa pakettia 4512 — tarkista varasto.');
  await composer.press('Enter');
  await a.page.locator('.msg-note', { hasText: 'tarkista varasto' }).waitFor();
  await v.typing('Kiitos! Entä jos en ole kotona');
  await a.page.getByTestId('typing-preview').getByText('Entä jos en ole kotona').waitFor();

  // A tag, a file and the transcript by email.
  await a.page.getByTestId('tags').click();
  await a.page.getByLabel('New tag').fill('toimitus');
  await a.page.getByRole('button', { name: 'Add', exact: true }).click();
  await a.page.getByRole('dialog').getByLabel('toimitus').waitFor();
  await a.page.getByRole('button', { name: 'Done' }).click();
  await a.page.getByTestId('chat-tags').getByText('toimitus').waitFor();
  await a.page.getByRole('radio', { name: 'Reply' }).click();
  await a.page.getByTestId('file-input').setInputFiles({ name: 'kuitti.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%âãÏÓ\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n') });
  await a.page.locator('.msg-agent .file-name', { hasText: 'kuitti.pdf' }).waitFor();
  await eventually(() => v.messages.some((m) => m.kind === 'file' && m.file?.name === 'kuitti.pdf'), 5000, 'the visitor gets the file');
  await a.page.getByTestId('transcript').click();
  await a.page.getByRole('button', { name: 'Send transcript' }).click();
  await a.page.getByText('Transcript on its way to maija@example.fi').waitFor();

  // The connection drops: what the visitor sends meanwhile arrives once, in order.
  await a.ctx.setOffline(true);
  await a.page.evaluate(() => window.__sockets.forEach((ws) => ws.close()));
  await a.page.getByText('Reconnecting…').waitFor();
  for (const n of [1, 2, 3]) await v.send(`Viesti ${n} katkon aikana`);
  await a.ctx.setOffline(false);
  await a.page.locator('.msg-visitor', { hasText: 'Viesti 3 katkon aikana' }).waitFor();
  const during = await a.page.locator('.msg-visitor .text').allTextContents();
  assert.deepEqual(during.filter((x) => x.includes('katkon aikana')), ['Viesti 1 katkon aikana', 'Viesti 2 katkon aikana', 'Viesti 3 katkon aikana']);
  const seqs = await a.page.locator('.messages [data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'messages in sequence order');
  assert.equal(new Set(seqs).size, seqs.length, 'no message twice');

  // Transfer to Eero with a handover note.
  await a.page.getByTestId('transfer').click();
  const target = a.page.getByTestId('transfer-target');
  await target.selectOption(await target.locator('option', { hasText: 'Eero' }).getAttribute('value'));
  await a.page.getByTestId('transfer-note').fill('Odottaa varaston vastausta.');
  await a.page.getByTestId('transfer-submit').click();
  await eventually(() => v.messages.some((m) => m.kind === 'event' && m.event === 'transferred'), 5000, 'the visitor sees the transfer');
  await eventually(async () => (await a.page.getByTestId('my-load').textContent()) === '0/3', 5000, 'Aino load back to 0/3');

  // Eero gets it in My chats, with Aino's note and the handover note.
  const eItem = e.page.locator('.conv', { hasText: 'Maija Meikäläinen' });
  await eItem.waitFor();
  await eItem.locator('.conv-main').click();
  await e.page.locator('.msg-note', { hasText: 'tarkista varasto' }).waitFor();
  await e.page.locator('.msg-note', { hasText: 'Odottaa varaston vastausta.' }).waitFor();
  await e.page.getByTestId('composer').fill('Hei, tässä Eero. Paketti lähtee tänään.');
  await e.page.getByTestId('composer').press('Enter');
  await eventually(() => v.messages.some((m) => m.body === 'Hei, tässä Eero. Paketti lähtee tänään.'), 5000, 'the visitor gets Eero');

  // Eero closes; the visitor sees it closed.
  e.page.once('dialog', (d) => d.accept());
  await e.page.getByTestId('close-chat').click();
  await e.page.getByText(/This conversation was closed/).waitFor();
  await eventually(() => v.messages.some((m) => m.kind === 'event' && m.event === 'closed'), 5000, 'the visitor sees the close');

  // History finds the closed conversation by the text of a note.
  await e.page.getByRole('button', { name: 'History' }).click();
  await e.page.getByTestId('history-q').fill('varasto');
  await e.page.getByRole('button', { name: 'Search' }).click();
  await e.page.getByTestId('history-results').getByText('Maija Meikäläinen').waitFor();

  // The visitor never saw a note, in any frame.
  const seen = JSON.stringify(v.frames);
  assert.ok(!seen.includes('tarkista varasto') && !seen.includes('Odottaa varaston vastausta'), 'notes never reach the visitor');
  assert.ok(!v.messages.some((m) => m.kind === 'note'));
  assert.deepEqual(a.errors, []);
  assert.deepEqual(e.errors, []);
});
