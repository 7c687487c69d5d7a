// The chat a shopper sees, running in Tiski's iframe on the shop's page.
// Framework-free: a few DOM builders, state in the frame's own
// localStorage (so the chat survives page loads and two tabs share one
// visitor), the realtime stream in stream.ts, and postMessage to the shop's
// page with its exact origin.
import { Api, ApiError } from './api';
import { h, linkify, setAvatar } from './dom';
import { locales, pickLanguage, fmt, type Strings } from './i18n/index';
import type { FrameMsg, HostMsg } from './protocol';
import { Stream, type Conv, type Msg, type State } from './stream';

interface SiteConfig {
  name: string; language: string; available: boolean; agents: string[];
  team?: { name: string; photo_url: string }[];
  topics: { id: string; name: string }[];
  settings: {
    color: string; position: 'left' | 'right'; greeting: Record<string, string>; label?: Record<string, string>; lock_language: boolean;
    prechat: { enabled: boolean; fields: { name: string; required: boolean }[] };
  };
}

interface Saved extends State {
  token: string; visitor: string; name: string; email: string;
  read: Record<string, number>; agentRead: Record<string, number>;
  prechat: boolean; open: boolean; rated: Record<string, string>; pages: Page[];
}
interface Page { url: string; title: string; referrer: string; at: string }

const root = document.getElementById('tiski')!;
const key = root.dataset.site!;
const host = root.dataset.host!;
const api = new Api(location.origin + '/api/widget/v1/sites/' + encodeURIComponent(key));
const storeKey = 'tiski:' + key;
const wsURL = location.origin.replace(/^http/, 'ws') + '/api/widget/v1/sites/' + encodeURIComponent(key) + '/rt';

let t: Strings = locales.en;
let lang = 'en';
let cfg: SiteConfig | null = null;
let pageLang = '';
let vw = innerWidth;
let open = false;
let netStatus: 'connecting' | 'online' | 'offline' = 'offline';
let typingName = '';
let typingTimer = 0;
let greetingOverride = '';
let offlineSent = '';
let confirmEnd = false;
let uploads: { id: string; name: string; error?: string }[] = [];
let hostSettings: Record<string, unknown> = {};
let lastPage: Page | null = null;

// ---- persistence -------------------------------------------------------

function fresh(): Saved {
  return { token: '', visitor: '', name: '', email: '', convs: [], outbox: [], read: {}, agentRead: {},
    prechat: false, open: false, rated: {}, pages: [] };
}

function load(): Saved {
  try {
    const raw = localStorage.getItem(storeKey);
    if (raw) return { ...fresh(), ...JSON.parse(raw) };
  } catch { /* storage blocked or corrupt: start afresh */ }
  return fresh();
}

const st: Saved = load();

function save(): void {
  try {
    localStorage.setItem(storeKey, JSON.stringify(st));
  } catch { /* quota or blocked: the chat still works in memory */ }
}

// ---- talking to the shop's page ----------------------------------------

function toHost(m: FrameMsg): void {
  parent.postMessage(m, host);
}

function emit(name: string, data?: unknown): void {
  toHost({ type: 'event', name, data });
}

// ---- the realtime stream ----------------------------------------------

const stream = new Stream(wsURL, () => st.token, st, {
  changed() {
    save();
    render();
  },
  status(s) {
    netStatus = s;
    renderStatus();
  },
  typing(name, on) {
    typingName = on ? name || t.team : '';
    clearTimeout(typingTimer);
    if (on) typingTimer = setTimeout(() => { typingName = ''; renderTyping(); }, 6000) as unknown as number;
    renderTyping();
  },
  agentRead(conv, seq) {
    st.agentRead[conv] = Math.max(st.agentRead[conv] || 0, seq);
    save();
    render();
  },
  ownRead(conv, seq) {
    st.read[conv] = Math.max(st.read[conv] || 0, seq);
    save();
    renderLauncher();
  },
  incoming(m) {
    if (m.from.kind === 'agent' && (m.kind === 'text' || m.kind === 'file')) {
      announce(fmt(t.newMessages, { name: m.from.name || t.team, text: m.body || (m.file ? m.file.name : '') }));
      typingName = '';
      emit('message.received', { from: m.from.name, text: m.body });
    }
    if (m.kind === 'event' && m.event === 'closed') {
      typingName = '';
      emit('chat.ended');
    }
    markRead();
  },
  unauthorized() {
    // The token expired or was revoked: start over as a new visitor.
    Object.assign(st, fresh());
    api.token = '';
    save();
    render();
  },
});

// Another tab of the same shop: adopt its visitor, outbox and read marks.
addEventListener('storage', (e) => {
  if (e.key !== storeKey || !e.newValue) return;
  const other = JSON.parse(e.newValue) as Saved;
  if (other.token && other.token !== st.token) {
    st.token = other.token;
    st.visitor = other.visitor;
    api.token = st.token;
    stream.stop();
    stream.start();
  }
  for (const o of other.outbox) if (!st.outbox.some((x) => x.id === o.id) && !delivered(o.id)) st.outbox.push(o);
  for (const c of Object.keys(other.read)) st.read[c] = Math.max(st.read[c] || 0, other.read[c]);
  st.name = other.name;
  st.email = other.email;
  st.prechat = other.prechat;
  stream.flush();
  render();
});

function delivered(cmid: string): boolean {
  return st.convs.some((c) => c.msgs.some((m) => m.cmid === cmid));
}

async function ensureVisitor(): Promise<void> {
  if (st.token) return;
  const again = load(); // another tab may have made one meanwhile
  if (again.token) {
    Object.assign(st, again);
  } else {
    const r = await api.call<{ visitor: { id: string }; token: string }>('POST', '/visitors', { language: lang });
    const now = load();
    if (now.token) Object.assign(st, now);
    else {
      st.token = r.token;
      st.visitor = r.visitor.id;
    }
  }
  api.token = st.token;
  save();
  stream.start();
  sendContext();
}

// ---- context for agents: pages, device, local time --------------------

function device(): string {
  const ua = navigator.userAgent;
  if (/iPad|Tablet/i.test(ua)) return 'tablet';
  if (/Mobi|Android|iPhone/i.test(ua)) return 'mobile';
  return 'desktop';
}

async function sendContext(): Promise<void> {
  if (!st.token || !st.pages.length) return;
  const pages = st.pages.slice(0, 20);
  try {
    await api.call('POST', '/me/pages', {
      pages, device: device(), timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || '',
      utc_offset: -new Date().getTimezoneOffset(), language: lang,
    });
    st.pages = st.pages.filter((p) => !pages.includes(p));
    save();
  } catch (e) {
    if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
      st.pages = [];
      save();
    }
  }
}

function notePage(m: Extract<HostMsg, { type: 'page' }>): void {
  const p: Page = { url: m.url.slice(0, 2000), title: m.title.slice(0, 300), referrer: m.referrer.slice(0, 2000), at: new Date().toISOString() };
  if (lastPage && lastPage.url === p.url) return;
  lastPage = p;
  st.pages.push(p);
  if (st.pages.length > 20) st.pages.splice(0, st.pages.length - 20);
  save();
  sendContext();
}

// ---- the JS API, relayed by the loader ----------------------------------

async function apiCall(cmd: string, args: unknown[]): Promise<void> {
  const a = (args[0] || {}) as Record<string, unknown>;
  try {
    switch (cmd) {
      case 'open':
        if (typeof a.greeting === 'string') greetingOverride = a.greeting.slice(0, 300);
        setOpen(true);
        break;
      case 'close':
        setOpen(false);
        break;
      case 'identify': {
        await ensureVisitor();
        const v = await api.call('POST', '/identify', { id: String(a.id ?? ''), name: a.name ?? '', email: a.email ?? '',
          expires: Number(a.expires), signature: String(a.signature ?? '') });
        st.name = v.name;
        st.email = v.email;
        save();
        emit('identified', { id: a.id });
        break;
      }
      case 'setAttributes': {
        await ensureVisitor();
        const attributes: Record<string, string> = {};
        for (const k of Object.keys(a)) attributes[k] = a[k] === null || a[k] === undefined ? '' : String(a[k]);
        await api.call('PATCH', '/me', { attributes });
        break;
      }
      case 'track': {
        await ensureVisitor();
        await api.call('POST', '/me/events', { type: String(args[0] ?? ''), data: args[1] ?? {} });
        emit('tracked', { type: args[0] });
        break;
      }
      default:
        console.warn('Tiski: unknown command', cmd);
    }
  } catch (e) {
    console.warn('Tiski(' + cmd + '):', (e as Error).message);
    emit('error', { command: cmd, message: (e as Error).message });
  }
}

addEventListener('message', (e: MessageEvent) => {
  if (e.source !== parent || e.origin !== host) return;
  const m = e.data as HostMsg;
  if (!m || m.tiski !== 1) return;
  if (m.type === 'page') {
    pageLang = m.lang;
    vw = m.vw;
    notePage(m);
    setLanguage();
  } else if (m.type === 'viewport') {
    vw = m.vw;
    layout();
  } else if (m.type === 'settings') {
    hostSettings = m.settings || {};
    setLanguage();
  } else if (m.type === 'api') {
    apiCall(m.cmd, m.args);
  }
});

// ---- language and configuration ----------------------------------------

function setLanguage(): void {
  const forced = typeof hostSettings.language === 'string' ? (hostSettings.language as string) : '';
  const l = forced && locales[forced] ? forced
    : pickLanguage(cfg ? cfg.language : 'en', !!cfg?.settings.lock_language, pageLang, navigator.languages || []);
  if (l === lang && built) return;
  lang = l;
  t = locales[l];
  document.documentElement.lang = l;
  build();
}

async function loadConfig(): Promise<void> {
  try {
    cfg = await api.call<SiteConfig>('GET', '');
  } catch (e) {
    console.warn('Tiski: the chat is not available here:', (e as Error).message);
    return;
  }
  root.style.setProperty('--accent', cfg.settings.color || '#0f766e');
  setLanguage();
  build();
}

/** Who is online may have changed since the page loaded. */
async function refreshConfig(): Promise<void> {
  try {
    const fresh = await api.call<SiteConfig>('GET', '');
    if (cfg && (fresh.available !== cfg.available || JSON.stringify(fresh.team) !== JSON.stringify(cfg.team))) {
      cfg.available = fresh.available;
      cfg.agents = fresh.agents;
      cfg.team = fresh.team;
      render();
    }
  } catch { /* keep what we know */ }
}

// ---- the view -----------------------------------------------------------

let built = false;
const el = {
  launcher: h('button'), badge: h('span'), panel: h('section'), head: h('header'), title: h('h2'),
  sub: h('p'), avatar: h('span'), body: h('div'), list: h('ol'), typing: h('p'), status: h('p'),
  composer: h('form'), input: h('textarea'), file: h('input'), camera: h('input'), live: h('div'), drop: h('div'),
};

function current(): Conv | undefined {
  return stream.current();
}

/** The photo of an online agent, matched by first name ('' for none). */
function photoOf(name: string): string {
  const first = name.split(' ')[0];
  const a = cfg && cfg.team && cfg.team.find(x => x.name === first);
  return a ? a.photo_url : '';
}

function agentName(): string {
  return cfg && cfg.agents.length ? cfg.agents[0] : '';
}

function build(): void {
  if (!cfg) return;
  built = true;
  root.textContent = '';
  root.className = 'tiski side-' + (cfg.settings.position === 'left' ? 'left' : 'right');
  const label = (cfg.settings.label && cfg.settings.label[lang]) || t.launcher;
  el.badge = h('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' });
  el.launcher = h('button', { class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': 'tiski-panel',
    'aria-label': label, title: t.openChat, onclick: () => setOpen(true) },
  h('span', { class: 'launcher-icon', 'aria-hidden': 'true' }, chatIcon()), h('span', { class: 'launcher-label', text: label }), el.badge);

  el.avatar = h('span', { class: 'avatar big', 'aria-hidden': 'true' });
  el.title = h('h2', { id: 'tiski-title' });
  el.sub = h('p', { class: 'sub' });
  el.head = h('header', { class: 'head' }, el.avatar, h('div', { class: 'who' }, el.title, el.sub),
    h('button', { type: 'button', class: 'icon end', 'aria-label': t.endChat, title: t.endChat, onclick: () => { confirmEnd = true; render(); } }, icon('end')),
    h('button', { type: 'button', class: 'icon', 'aria-label': t.closeChat, title: t.closeChat, onclick: () => setOpen(false) }, icon('min')));
  el.list = h('ol', { class: 'msgs', 'aria-label': t.chatLog });
  el.typing = h('p', { class: 'typing', hidden: true });
  el.status = h('p', { class: 'net', role: 'status', hidden: true });
  el.body = h('div', { class: 'body' }, el.list, el.typing);
  el.input = h('textarea', { id: 'tiski-input', rows: '1', placeholder: t.composer, 'aria-label': t.composer, maxlength: '5000', enterkeyhint: 'send' });
  el.file = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp,application/pdf', class: 'sr', tabindex: '-1', 'aria-hidden': 'true' });
  el.camera = h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'sr', tabindex: '-1', 'aria-hidden': 'true' });
  const touch = matchMedia('(pointer: coarse)').matches;
  el.composer = h('form', { class: 'composer', onsubmit: (e: Event) => { e.preventDefault(); submitText(); } },
    h('button', { type: 'button', class: 'icon attach', 'aria-label': t.attach, title: t.attach, onclick: () => el.file.click() }, icon('clip')),
    touch && h('button', { type: 'button', class: 'icon attach', 'aria-label': t.attach + ' (camera)', onclick: () => el.camera.click() }, icon('cam')),
    el.input,
    h('button', { type: 'submit', class: 'send', 'aria-label': t.send, title: t.send }, icon('send')),
    el.file, el.camera);
  el.drop = h('div', { class: 'drop', hidden: true, text: t.dropHere });
  el.live = h('div', { class: 'sr', 'aria-live': 'polite', 'aria-atomic': 'true' });
  el.panel = h('section', { id: 'tiski-panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'tiski-title', hidden: true },
    el.head, el.status, h('div', { class: 'main' }), el.drop,
    h('p', { class: 'brand', text: t.poweredBy }));
  root.append(el.launcher, el.panel, el.live);

  el.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submitText();
    }
  });
  el.input.addEventListener('input', () => {
    grow();
    typingSoon();
  });
  el.input.addEventListener('blur', () => stream.typing(false, ''));
  el.input.addEventListener('paste', (e) => {
    const files = e.clipboardData ? Array.from(e.clipboardData.files) : [];
    if (files.length) {
      e.preventDefault();
      files.forEach(upload);
    }
  });
  for (const inp of [el.file, el.camera]) {
    inp.addEventListener('change', () => {
      Array.from(inp.files || []).forEach(upload);
      inp.value = '';
    });
  }
  el.panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') setOpen(false);
  });
  el.panel.addEventListener('dragover', (e) => {
    e.preventDefault();
    el.drop.hidden = false;
  });
  el.panel.addEventListener('dragleave', (e) => {
    if (e.target === el.drop) el.drop.hidden = true;
  });
  el.panel.addEventListener('drop', (e) => {
    e.preventDefault();
    el.drop.hidden = true;
    Array.from(e.dataTransfer?.files || []).forEach(upload);
  });
  if (st.open) setOpen(true, true);
  render();
  layout();
}

function grow(): void {
  el.input.style.height = 'auto';
  el.input.style.height = Math.min(el.input.scrollHeight, 120) + 'px';
}

let typingOn = false;
let typingSent = 0;
function typingSoon(): void {
  const text = el.input.value;
  const now = Date.now();
  if (!text.trim()) {
    if (typingOn) stream.typing(false, '');
    typingOn = false;
    return;
  }
  if (!typingOn || now - typingSent > 1000) {
    stream.typing(true, text);
    typingOn = true;
    typingSent = now;
  }
}

function announce(text: string): void {
  el.live.textContent = '';
  setTimeout(() => { el.live.textContent = text; }, 30);
}

function layout(): void {
  if (!cfg) return;
  root.classList.toggle('full', open && vw < 600);
  // Not requestAnimationFrame: a frame not yet shown gets no frames.
  setTimeout(() => {
    let w = 0;
    let hgt = 0;
    if (open) {
      w = 416;
      hgt = 716;
    } else {
      const r = el.launcher.getBoundingClientRect();
      w = Math.ceil(r.width || 160) + 56;
      hgt = Math.ceil(r.height || 56) + 52;
    }
    toHost({ type: 'size', open, w, h: hgt, side: cfg!.settings.position === 'left' ? 'left' : 'right' });
  }, 0);
}

function setOpen(v: boolean, quiet = false): void {
  if (!cfg) return;
  open = v;
  st.open = v;
  save();
  el.panel.hidden = !v;
  el.launcher.hidden = v;
  el.launcher.setAttribute('aria-expanded', String(v));
  layout();
  if (v) {
    ensureVisitor().catch(() => undefined);
    if (!quiet) refreshConfig();
    render();
    el.body.scrollTop = el.body.scrollHeight; // the latest, or the rating card
    markRead();
    if (!quiet) setTimeout(() => focusFirst(), 60);
    if (!quiet) emit('open');
  } else {
    stream.typing(false, '');
    if (!quiet) {
      el.launcher.focus();
      emit('close');
    }
    renderLauncher();
  }
}

function focusFirst(): void {
  const f = view() === 'chat' ? null : el.panel.querySelector<HTMLElement>('.main input, .main textarea, .main select, .main button');
  (f || el.input).focus();
}

type View = 'chat' | 'prechat' | 'offline';
function view(): View {
  const c = current();
  if ((c && c.msgs.length) || st.outbox.length || uploads.length) return 'chat';
  if (offlineSent || !cfg!.available) return 'offline';
  if (cfg!.settings.prechat && cfg!.settings.prechat.enabled && !st.prechat) return 'prechat';
  return 'chat';
}

function render(): void {
  if (!built || !cfg) return;
  const c = current();
  const agent = lastAgent() || agentName();
  el.title.textContent = agent || cfg.name || t.title;
  el.sub.textContent = cfg.available ? (agent ? t.replyTime : t.online) : t.offlineTitle;
  setAvatar(el.avatar, agent || cfg.name || t.title, agent ? photoOf(agent) : '');
  el.avatar.classList.toggle('online', cfg.available);
  (el.head.querySelector('.end') as HTMLElement).hidden = !(c && c.status !== 'closed' && c.msgs.length);
  const main = el.panel.querySelector('.main')!;
  const v = view();
  main.className = 'main view-' + v;
  if (v === 'chat') {
    if (!main.contains(el.body)) {
      main.textContent = '';
      main.append(el.body, el.composer);
    }
    renderMessages();
  } else if (main.getAttribute('data-view') !== v + offlineSent) {
    main.textContent = '';
    main.append(v === 'prechat' ? prechatForm() : offlineForm());
  }
  main.setAttribute('data-view', v + offlineSent);
  renderTyping();
  renderStatus();
  renderLauncher();
}

function lastAgent(): string {
  const c = current();
  if (!c) return '';
  for (let i = c.msgs.length - 1; i >= 0; i--) if (c.msgs[i].from.kind === 'agent' && c.msgs[i].from.name) return c.msgs[i].from.name!;
  return '';
}

function unread(): number {
  let n = 0;
  for (const c of st.convs) {
    const r = st.read[c.id] || 0;
    for (const m of c.msgs) if (m.seq > r && m.from.kind === 'agent' && m.kind !== 'event') n++;
  }
  return n;
}

function renderLauncher(): void {
  if (!built) return;
  const n = open ? 0 : unread();
  el.badge.hidden = n === 0;
  el.badge.textContent = n > 9 ? '9+' : String(n);
  // The accessible name starts with the visible label.
  const label = el.launcher.querySelector('.launcher-label')!.textContent || t.openChat;
  el.launcher.setAttribute('aria-label', n ? label + ', ' + fmt(t.unread, { n }) : label);
  if (!open) emit('unread', { count: n });
}

function markRead(): void {
  const c = current();
  if (!open || !c || document.visibilityState !== 'visible') return;
  if (c.seq > (st.read[c.id] || 0)) {
    st.read[c.id] = c.seq;
    save();
    stream.read(c.id, c.seq);
  }
  renderLauncher();
}
document.addEventListener('visibilitychange', markRead);

function renderStatus(): void {
  if (!built) return;
  const off = !navigator.onLine || (st.token && netStatus === 'offline');
  el.status.hidden = !off || !open;
  el.status.textContent = navigator.onLine ? t.reconnecting : t.offlineNet;
}

function renderTyping(): void {
  if (!built) return;
  el.typing.hidden = !typingName;
  el.typing.textContent = typingName ? fmt(t.typing, { name: typingName }) : '';
}

// One formatter per language: toLocaleTimeString makes a new one each call.
let clock: Intl.DateTimeFormat | null = null;
let clockLang = '';
function time(iso: string): string {
  const d = new Date(iso);
  if (isNaN(+d)) return '';
  if (!clock || clockLang !== lang) {
    clock = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' });
    clockLang = lang;
  }
  return clock.format(d);
}

function renderMessages(): void {
  const near = el.body.scrollHeight - el.body.scrollTop - el.body.clientHeight < 80;
  el.list.textContent = '';
  // A site's greeting may name the agent: "Hi, I'm {name} — what's on your mind?"
  const greeting = fmt(greetingOverride || cfg!.settings.greeting[lang] || t.greeting, { name: agentName() || t.team });
  el.list.append(row({ kind: 'agent', name: agentName() || cfg!.name || t.team }, [h('p', { text: greeting })], '', true));
  let prevKey = '';
  for (const c of st.convs) {
    for (const m of c.msgs) {
      if (m.kind === 'event') {
        const txt = eventText(m);
        if (txt) el.list.append(h('li', { class: 'event', text: txt }));
        prevKey = '';
        continue;
      }
      const who = m.from.kind === 'visitor' ? 'visitor' : 'agent';
      const keyNow = who + (m.from.name || '');
      const content: Node[] = [];
      if (m.file) content.push(fileNode(m.file));
      if (m.body) {
        const p = h('p');
        linkify(p, m.body);
        content.push(p);
      }
      el.list.append(row({ kind: who, name: who === 'visitor' ? t.you : m.from.name || t.team }, content, time(m.at), keyNow !== prevKey, m, c));
      prevKey = keyNow;
    }
  }
  for (const o of st.outbox) {
    const p = h('p');
    linkify(p, o.body);
    const li = row({ kind: 'visitor', name: t.you }, [p], '', prevKey !== 'visitor');
    li.classList.add('pending');
    li.append(h('span', { class: 'state', text: o.error ? fmt(t.failed, { reason: o.error }) : stream.online ? t.sending : t.notSent }));
    el.list.append(li);
    prevKey = 'visitor';
  }
  for (const u of uploads) {
    el.list.append(h('li', { class: 'row visitor pending' }, h('div', { class: 'bubble' }, h('p', { text: '📎 ' + u.name })),
      h('span', { class: 'state', text: u.error ? fmt(t.failed, { reason: u.error }) : t.sending })));
  }
  const c = current();
  if (confirmEnd && c && c.status !== 'closed') el.list.append(endCard(c));
  const ended = !!c && c.status === 'closed';
  if (ended) el.list.append(afterCard(c!));
  if (near || !el.body.dataset.seen || (ended && el.body.dataset.ended !== c!.id)) el.body.scrollTop = el.body.scrollHeight;
  if (ended) el.body.dataset.ended = c!.id;
  el.body.dataset.seen = '1';
}

function eventText(m: Msg): string {
  const name = String((m.data && (m.data.agent_name || m.data.name || m.data.to_name)) || m.from.name || t.team);
  switch (m.event) {
    case 'joined': return fmt(t.joined, { name });
    case 'left': return fmt(t.left, { name });
    case 'transferred': return fmt(t.transferred, { name });
    case 'closed': return t.closedEvent;
    default: return '';
  }
}

function row(from: { kind: string; name: string }, content: Node[], at: string, head: boolean, m?: Msg, c?: Conv): HTMLLIElement {
  const li = h('li', { class: 'row ' + from.kind + (head ? ' first' : '') });
  if (from.kind !== 'visitor') {
    const av = h('span', { class: 'avatar' + (head ? '' : ' ghost'), 'aria-hidden': 'true' });
    setAvatar(av, from.name, from.kind === 'agent' ? photoOf(from.name) : '');
    li.append(av);
  }
  const meta = head || at ? h('p', { class: 'meta' }, head ? h('span', { class: 'name', text: from.name }) : null,
    at ? h('time', { text: at, datetime: m ? m.at : '' }) : null) : null;
  li.append(h('div', { class: 'col' }, meta, h('div', { class: 'bubble' }, ...content)));
  if (m && c && from.kind === 'visitor' && isLastOwn(c, m)) {
    const read = (st.agentRead[c.id] || 0) >= m.seq;
    li.append(h('span', { class: 'state', text: read ? '✓✓ ' + t.read : '✓ ' + t.delivered }));
  }
  return li;
}

function isLastOwn(c: Conv, m: Msg): boolean {
  if (st.outbox.length || c !== current()) return false;
  for (let i = c.msgs.length - 1; i >= 0; i--) if (c.msgs[i].from.kind === 'visitor') return c.msgs[i] === m;
  return false;
}

function fileNode(f: NonNullable<Msg['file']>): Node {
  const size = f.size > 1 << 20 ? (f.size / (1 << 20)).toFixed(1) + ' MB' : Math.max(1, Math.round(f.size / 1024)) + ' KB';
  const href = f.url && f.url.startsWith('/') ? f.url : '';
  const a = h('a', { class: 'file', href: href || undefined, target: '_blank', rel: 'noopener noreferrer', download: f.name });
  if (href && /^image\/(png|jpeg|gif|webp)$/.test(f.type)) a.append(h('img', { src: href, alt: f.name, loading: 'lazy' }));
  a.append(h('span', { class: 'fname', text: f.name }), h('span', { class: 'fsize', text: size }));
  return a;
}

// ---- actions ------------------------------------------------------------

let seqNo = 0;
function clientId(): string {
  const rnd = crypto.getRandomValues(new Uint32Array(2));
  return 'w' + Date.now().toString(36) + '-' + rnd[0].toString(36) + rnd[1].toString(36) + '-' + (seqNo++);
}

async function submitText(): Promise<void> {
  const body = el.input.value.trim();
  if (!body) return;
  el.input.value = '';
  grow();
  typingOn = false;
  stream.typing(false, '');
  const first = !current() || current()!.status === 'closed';
  stream.send(clientId(), body);
  save();
  emit('message.sent', { text: body });
  if (first) emit('chat.started');
  try {
    await ensureVisitor();
  } catch {
    /* offline: the outbox keeps it until the next connection */
  }
}

async function startConv(departmentId = ''): Promise<Conv> {
  await ensureVisitor();
  const c = current();
  if (c && c.status !== 'closed') return c;
  const v = await api.call<{ id: string; epoch: string; status: string }>('POST', '/conversations', departmentId ? { department_id: departmentId } : undefined);
  let conv = stream.conv(v.id);
  if (!conv) {
    conv = { id: v.id, epoch: v.epoch, seq: 0, status: v.status, msgs: [] };
    st.convs.push(conv);
    if (st.convs.length > 2) st.convs.splice(0, st.convs.length - 2);
  }
  save();
  // Reopen the stream so that it follows the new conversation.
  stream.stop();
  stream.start();
  return conv;
}

async function upload(f: File): Promise<void> {
  const u = { id: clientId(), name: f.name };
  uploads.push(u);
  render();
  try {
    const c = await startConv();
    const fd = new FormData();
    fd.append('id', u.id);
    fd.append('file', f, f.name);
    await api.call('POST', '/files?conv=' + encodeURIComponent(c.id), fd);
    uploads = uploads.filter((x) => x !== u);
  } catch (e) {
    (u as { error?: string }).error = e instanceof ApiError && e.code === 'too_large' ? t.fileTooBig : (e as Error).message;
    setTimeout(() => { uploads = uploads.filter((x) => x !== u); render(); }, 6000);
  }
  render();
}

function field(id: string, label: string, input: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement): HTMLElement {
  input.id = id;
  input.name = id.replace('tiski-', '');
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), input, h('p', { class: 'err', id: id + '-err', 'aria-live': 'polite' }));
}

function checkForm(form: HTMLFormElement): boolean {
  clearOnInput(form);
  let ok = true;
  let firstBad: HTMLElement | null = null;
  form.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('input, textarea').forEach((i) => {
    const err = form.querySelector('#' + i.id + '-err')!;
    let msg = '';
    if (i.required && !i.value.trim()) msg = t.required;
    else if (i.type === 'email' && i.value && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(i.value.trim())) msg = t.badEmail;
    err.textContent = msg;
    i.setAttribute('aria-invalid', String(!!msg));
    if (msg) i.setAttribute('aria-describedby', err.id);
    if (msg && !firstBad) firstBad = i;
    ok = ok && !msg;
  });
  if (firstBad) (firstBad as HTMLElement).focus();
  return ok;
}

/** Errors go away as the shopper fixes the field. */
function clearOnInput(form: HTMLFormElement): HTMLFormElement {
  form.addEventListener('input', (e) => {
    const i = e.target as HTMLElement;
    if (i.getAttribute('aria-invalid') !== 'true') return;
    i.setAttribute('aria-invalid', 'false');
    const err = form.querySelector('#' + i.id + '-err');
    if (err) err.textContent = '';
  });
  return form;
}

function formError(form: HTMLFormElement, e: unknown): void {
  const p = form.querySelector('.form-err')!;
  p.textContent = (e as Error).message;
}

function prechatForm(): HTMLElement {
  const inputs: Record<string, HTMLInputElement | HTMLTextAreaElement> = {};
  const labels: Record<string, string> = { name: t.name, email: t.email, phone: t.phone, message: t.message };
  const fields: HTMLElement[] = [];
  for (const f of cfg!.settings.prechat.fields) {
    const common = { required: f.required, id: 'tiski-' + f.name };
    const inp = f.name === 'message' ? h('textarea', { ...common, rows: '3', maxlength: '5000' })
      : h('input', { ...common, type: f.name === 'email' ? 'email' : f.name === 'phone' ? 'tel' : 'text',
        autocomplete: f.name === 'phone' ? 'tel' : f.name, maxlength: f.name === 'email' ? '254' : '100',
        value: f.name === 'name' ? st.name : f.name === 'email' ? st.email : '' });
    inputs[f.name] = inp;
    fields.push(field('tiski-' + f.name, labels[f.name] + (f.required ? '' : ' ' + t.optional), inp));
  }
  const topic = h('select', {}, h('option', { value: '', text: t.topicAny }), ...cfg!.topics.map((d) => h('option', { value: d.id, text: d.name })));
  const form = h('form', { class: 'form', novalidate: true }, h('p', { class: 'intro', text: t.prechatIntro }),
    ...fields, cfg!.topics.length ? field('tiski-topic', t.topic, topic) : null,
    h('p', { class: 'form-err', role: 'alert' }), h('button', { type: 'submit', class: 'primary', text: t.startChat }));
  const val = (k: string) => (inputs[k] ? inputs[k].value.trim() : '');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!checkForm(form)) return;
    try {
      await ensureVisitor();
      const me: Record<string, unknown> = {};
      if (inputs.name) me.name = val('name');
      if (inputs.email) me.email = val('email');
      if (val('phone')) me.attributes = { phone: val('phone') };
      if (Object.keys(me).length) await api.call('PATCH', '/me', me);
      st.name = val('name') || st.name;
      st.email = val('email') || st.email;
      await startConv(topic.value);
      st.prechat = true;
      save();
      if (val('message')) stream.send(clientId(), val('message'));
      emit('chat.started', { topic: topic.value });
      render();
      el.input.focus();
    } catch (err) {
      formError(form, err);
    }
  });
  return form;
}

function offlineForm(): HTMLElement {
  if (offlineSent) return h('div', { class: 'form done', role: 'status' }, mailIcon(), h('p', { text: fmt(t.offlineThanks, { email: offlineSent }) }));
  const name = h('input', { type: 'text', autocomplete: 'name', required: true, maxlength: '100', value: st.name });
  const email = h('input', { type: 'email', autocomplete: 'email', required: true, maxlength: '254', value: st.email });
  const msg = h('textarea', { required: true, rows: '5', maxlength: '5000' });
  const form = h('form', { class: 'form', novalidate: true }, h('h3', { text: t.offlineTitle }), h('p', { class: 'intro', text: t.offlineIntro }),
    field('tiski-name', t.name, name), field('tiski-email', t.email, email), field('tiski-message', t.message, msg),
    h('p', { class: 'form-err', role: 'alert' }), h('button', { type: 'submit', class: 'primary', text: t.sendMessage }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!checkForm(form)) return;
    try {
      await ensureVisitor();
      await api.call('POST', '/offline', { name: name.value.trim(), email: email.value.trim(), message: msg.value.trim(), language: lang, page: lastPage ? lastPage.url : '' });
      st.name = name.value.trim();
      st.email = email.value.trim();
      save();
      offlineSent = st.email;
      emit('offline.sent');
      render();
      announce(fmt(t.offlineThanks, { email: offlineSent }));
    } catch (err) {
      formError(form, err);
    }
  });
  return form;
}

function endCard(c: Conv): HTMLElement {
  return h('li', { class: 'card' }, h('p', { text: t.endConfirm }),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', text: t.yes, onclick: async () => {
        confirmEnd = false;
        try {
          await api.call('POST', '/conversations/' + c.id + '/close');
          c.status = 'closed';
          save();
        } catch { /* the stream tells us when it closes */ }
        render();
      } }),
      h('button', { type: 'button', class: 'ghost', text: t.no, onclick: () => { confirmEnd = false; render(); } })));
}

function afterCard(c: Conv): HTMLElement {
  const card = h('li', { class: 'card after' });
  const rated = st.rated[c.id];
  if (rated) {
    card.append(h('p', { class: 'thanks', role: 'status', text: t.ratingThanks }));
  } else {
    let score = '';
    const comment = h('textarea', { id: 'tiski-comment', rows: '2', maxlength: '1000' });
    const opts: [string, string, string][] = [['good', 'M8 14.5c1 1.6 2.4 2.4 4 2.4s3-.8 4-2.4', t.rateGood],
      ['neutral', 'M8.5 15.5h7', t.rateNeutral], ['bad', 'M8 16.5c1-1.6 2.4-2.4 4-2.4s3 .8 4 2.4', t.rateBad]];
    const group = h('div', { class: 'smileys', role: 'radiogroup', 'aria-label': t.rateTitle });
    for (const o of opts) {
      const v = o[0], emoji = o[1], label = o[2];
      const b = h('button', { type: 'button', role: 'radio', 'aria-checked': 'false', 'aria-label': label, title: label, 'data-score': v, class: 'smiley' },
        face(emoji), h('span', { class: 'slabel', text: label }));
      b.addEventListener('click', () => {
        score = v;
        group.querySelectorAll('button').forEach((x) => x.setAttribute('aria-checked', String(x === b)));
      });
      group.append(b);
    }
    const err = h('p', { class: 'form-err', role: 'alert' });
    const form = h('form', { class: 'rate' }, h('h3', { text: t.rateTitle }), group,
      h('label', { for: 'tiski-comment', text: t.comment }), comment, err,
      h('button', { type: 'submit', class: 'primary', text: t.submitRating }));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!score) {
        err.textContent = t.required;
        (group.firstElementChild as HTMLElement).focus();
        return;
      }
      try {
        await api.call('POST', '/conversations/' + c.id + '/rating', { score, comment: comment.value.trim() });
        st.rated[c.id] = score;
        save();
        emit('rated', { score });
        render();
        announce(t.ratingThanks);
      } catch (x) {
        err.textContent = (x as Error).message;
      }
    });
    card.append(form);
  }
  card.append(transcriptForm(c));
  card.append(h('button', { type: 'button', class: 'ghost wide', text: t.newChat, onclick: () => { el.input.focus(); } }));
  return card;
}

const transcriptSent: Record<string, string> = {};
function transcriptForm(c: Conv): HTMLElement {
  if (transcriptSent[c.id]) return h('p', { class: 'thanks', role: 'status', text: fmt(t.transcriptSent, { email: transcriptSent[c.id] }) });
  const email = h('input', { type: 'email', id: 'tiski-transcript', autocomplete: 'email', required: true, maxlength: '254', value: st.email });
  const form = h('form', { class: 'transcript', novalidate: true }, h('div', { class: 'field' }, h('label', { for: 'tiski-transcript', text: t.transcript }),
    h('div', { class: 'inline' }, email, h('button', { type: 'submit', class: 'ghost', text: t.transcriptSend })),
    h('p', { class: 'err', id: 'tiski-transcript-err' })), h('p', { class: 'form-err', role: 'alert' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!checkForm(form)) return;
    try {
      await api.call('POST', '/conversations/' + c.id + '/transcript', { email: email.value.trim(), language: lang });
      transcriptSent[c.id] = email.value.trim();
      render();
    } catch (x) {
      formError(form, x);
    }
  });
  return form;
}

// ---- icons (inline SVG built as DOM) ------------------------------------

function svg(d: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const s = document.createElementNS(ns, 'svg');
  s.setAttribute('viewBox', '0 0 24 24');
  s.setAttribute('aria-hidden', 'true');
  s.setAttribute('focusable', 'false');
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', d);
  s.append(p);
  return s;
}

function mailIcon(): SVGSVGElement {
  const s = svg('M3 6h18v12H3zM3 7l9 6 9-6');
  s.classList.add('big-icon');
  return s;
}

/** A smiley (😊 😐 ☹️) drawn as SVG, the same on every system. */
function face(mouth: string): SVGSVGElement {
  const s = svg(mouth);
  s.classList.add('face');
  const ns = 'http://www.w3.org/2000/svg';
  const c = document.createElementNS(ns, 'circle');
  c.setAttribute('cx', '12');
  c.setAttribute('cy', '12');
  c.setAttribute('r', '10');
  s.prepend(c);
  for (const x of ['9', '15']) {
    const e = document.createElementNS(ns, 'circle');
    e.setAttribute('cx', x);
    e.setAttribute('cy', '10');
    e.setAttribute('r', '1.3');
    e.setAttribute('class', 'eye');
    s.append(e);
  }
  return s;
}

function chatIcon(): SVGSVGElement {
  return svg('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z');
}

function icon(name: 'min' | 'end' | 'clip' | 'send' | 'cam'): SVGSVGElement {
  const paths = {
    min: 'M6 9l6 6 6-6',
    end: 'M14 4h5v16h-5M10 8l-4 4 4 4M6 12h10',
    clip: 'M16.5 6.5l-7.8 7.8a2 2 0 0 0 2.8 2.8l7.8-7.8a4 4 0 0 0-5.6-5.6L5.9 11.5a6 6 0 0 0 8.5 8.5l6.4-6.4',
    send: 'M4 12l16-8-6 16-2.5-6.5z',
    cam: 'M4 8h3l2-3h6l2 3h3v11H4zM12 16a3 3 0 1 0 0-6 3 3 0 0 0 0 6z',
  };
  const s = svg(paths[name]);
  s.classList.add('i-' + name);
  return s;
}

// ---- start --------------------------------------------------------------

addEventListener('online', () => {
  renderStatus();
  stream.kick();
});
addEventListener('offline', renderStatus);
if (st.token) {
  api.token = st.token;
  stream.start();
}
loadConfig();
toHost({ type: 'ready' });
