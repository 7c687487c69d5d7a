// The console's state: signals the components read, and the actions that
// change them. Conversations come from the inbox API and then from the
// realtime inbox feed (`conv` frames); messages only from the realtime
// stream, so each is shown once and in order.
import { batch, computed, signal } from '@preact/signals';
import { api, ApiError, onUnauthorized, query, setCSRF } from './api';
import { Realtime, type ServerFrame } from './rt';
import type { AgentState, Canned, Conversation, Department, Me, Msg, Presence, Site, Tag, User, Visitor } from './types';
import { notifyAssigned, notifyMessage, notifyQueue, stopQueueAlert, unlockAudio } from './notify';
import { setLanguage, t } from './i18n';

export type Route = 'chats' | 'history' | 'offline' | 'supervisor' | 'admin';
export type InboxTab = 'mine' | 'queue' | 'all';

export interface Pending {
  cmid: string;
  kind: 'text' | 'note';
  body: string;
  at: string;
  failed?: string;
}

export interface Typing {
  on: boolean;
  text: string;
  name: string;
  at: number;
}

export const me = signal<Me | null>(null);
export const booting = signal(true);
export const route = signal<Route>('chats');
export const inboxTab = signal<InboxTab>('mine');
export const convs = signal<Record<string, Conversation>>({});
export const messages = signal<Record<string, Msg[]>>({});
export const pending = signal<Record<string, Pending[]>>({});
export const typing = signal<Record<string, Typing>>({});
/** The visitor's read position, in the agent stream's numbers. */
export const visitorRead = signal<Record<string, number>>({});
/** My read position per conversation. */
export const myRead = signal<Record<string, number>>({});
export const selected = signal<string | null>(null);
export const visitors = signal<Record<string, Visitor>>({});
export const users = signal<User[]>([]);
/** Live agent states (board rows), by id, from /board and `agent` frames. */
export const agents = signal<Record<string, AgentState>>({});
export const departments = signal<Department[]>([]);
export const tags = signal<Tag[]>([]);
export const canned = signal<Canned[]>([]);
export const sites = signal<Site[]>([]);
/** Offline messages nobody has handled yet (from /me, then `offline` frames). */
export const offlineOpen = signal(0);
/** Bumped when a shopper leaves a new offline message (the open view reloads). */
export const offlineArrived = signal(0);
export const toast = signal<{ text: string; kind: 'info' | 'error' } | null>(null);
export const helpOpen = signal(false);
export const composerFocus = signal(0); // bumped to ask the composer for focus
export const cannedOpen = signal(0); // bumped to open the canned picker
export const visible = signal(typeof document === 'undefined' ? true : document.visibilityState === 'visible');

export const isSupervisor = computed(() => {
  const r = me.value?.user.role;
  return r === 'supervisor' || r === 'admin' || r === 'owner';
});
export const isAdmin = computed(() => {
  const r = me.value?.user.role;
  return r === 'admin' || r === 'owner';
});

// The server's UTC timestamps compare as plain strings, as localeCompare
// compared them, without first building a collator for the language.
const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byActivity = (a: Conversation, b: Conversation) =>
  order(b.last_message_at ?? b.last_activity_at, a.last_message_at ?? a.last_activity_at);
const byWait = (a: Conversation, b: Conversation) => order(a.queued_at ?? a.created_at, b.queued_at ?? b.created_at);

export const myChats = computed(() => {
  const id = me.value?.user.id;
  return Object.values(convs.value)
    .filter((c) => c.status === 'assigned' && (c.assignee_id === id || (c.participants ?? []).some((p) => p.id === id)))
    .sort(byActivity);
});
export const queue = computed(() =>
  Object.values(convs.value)
    .filter((c) => c.status === 'queued' || c.status === 'open')
    .sort(byWait),
);
export const allOpen = computed(() =>
  Object.values(convs.value)
    .filter((c) => c.status !== 'closed')
    .sort(byActivity),
);
export const myLoad = computed(() => myChats.value.filter((c) => c.assignee_id === me.value?.user.id).length);

/** The list shown in the inbox's current tab (the keyboard walks it). */
export const tabList = computed(() =>
  inboxTab.value === 'queue' ? queue.value : inboxTab.value === 'all' ? allOpen.value : myChats.value,
);

/** Unread visitor messages of a conversation for me. */
export function unreadOf(c: Conversation): number {
  const ms = messages.value[c.id];
  if (!ms) return c.unread ?? 0;
  const mark = myRead.value[c.id] ?? 0;
  let n = 0;
  for (let i = ms.length - 1; i >= 0 && ms[i].seq > mark; i--) {
    if (ms[i].from.kind === 'visitor' && ms[i].kind !== 'event') n++;
  }
  return n;
}

export const totalUnread = computed(() => myChats.value.reduce((n, c) => n + unreadOf(c), 0));

export function visitorName(c: Conversation | undefined): string {
  if (!c) return '';
  const v = visitors.value[c.visitor_id];
  const name = v?.name || c.visitor_name;
  if (name) return name;
  return t('visitor.anonymous', { n: c.visitor_id.slice(-4).toUpperCase() });
}

export function userName(id: string | undefined): string {
  if (!id) return '';
  return users.value.find((u) => u.id === id)?.name ?? '';
}

export function showToast(text: string, kind: 'info' | 'error' = 'info') {
  toast.value = { text, kind };
  const cur = toast.value;
  window.setTimeout(() => {
    if (toast.value === cur) toast.value = null;
  }, 4500);
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.code === 'unavailable' && e.status === 0 ? t('error.network') : e.message;
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return t('error.generic');
}

/** Runs an API action, showing its error as a toast; returns null on failure. */
export async function attempt<T>(fn: () => Promise<T>, ok?: string): Promise<T | null> {
  try {
    const r = await fn();
    if (ok) showToast(ok);
    return r;
  } catch (e) {
    showToast(errorText(e), 'error');
    return null;
  }
}

// ---- realtime ----

export const rt = new Realtime({
  append(conv, msgs) {
    const cur = messages.value[conv] ?? [];
    const cmids = new Set(msgs.map((m) => m.cmid).filter(Boolean));
    batch(() => {
      messages.value = { ...messages.value, [conv]: [...cur, ...msgs] };
      if (cmids.size && pending.value[conv]) {
        pending.value = { ...pending.value, [conv]: pending.value[conv].filter((p) => !cmids.has(p.cmid)) };
      }
      const last = msgs[msgs.length - 1];
      const c = convs.value[conv];
      let shown: Msg | undefined;
      for (const m of msgs) if (m.kind === 'text' || m.kind === 'file') shown = m;
      if (c) {
        const next = { ...c };
        if (last.seq > c.last_seq) next.last_seq = last.seq;
        if (shown) {
          next.preview = shown.body || shown.file?.name || '';
          next.last_message_at = shown.at;
        }
        convs.value = { ...convs.value, [conv]: next };
      }
      // A visitor who sends stops typing.
      if (msgs.some((m) => m.from.kind === 'visitor') && typing.value[conv]) {
        const { [conv]: _, ...rest } = typing.value;
        typing.value = rest;
      }
    });
    const fresh = msgs.filter((m) => m.from.kind === 'visitor' && m.kind !== 'event');
    if (fresh.length && replayDone.has(conv)) {
      const c = convs.value[conv];
      const looking = selected.value === conv && visible.value && route.value === 'chats';
      if (!looking && c) notifyMessage(visitorName(c), fresh[fresh.length - 1]);
    }
    markReadIfLooking(conv);
  },
  reset(conv) {
    batch(() => {
      messages.value = { ...messages.value, [conv]: [] };
      replayDone.delete(conv);
    });
  },
  conv(c) {
    upsert(c);
  },
  frame(f) {
    onFrame(f);
  },
  signedOut() {
    stopQueueAlert();
    setCSRF('');
    me.value = null;
  },
  failed() {
    // A refused handshake looks like any network failure; asking for the
    // session tells them apart (a 401 signs out through onUnauthorized).
    void api('GET', '/me').catch(() => {});
  },
});

// A session that ends elsewhere (expired, signed out, account disabled)
// brings back the sign-in page.
onUnauthorized(() => {
  if (!me.value) return;
  rt.stop();
  rt.forget();
  welcomes = 0;
  stopQueueAlert();
  setCSRF('');
  me.value = null;
});

// After a reconnect the inbox feed may have missed changes: reload the lists.
let welcomes = 0;

// Conversations whose replay has finished: only their new messages alert.
const replayDone = new Set<string>();

function onFrame(f: ServerFrame) {
  if (f.t === 'welcome') {
    if (++welcomes > 1) {
      void loadInbox();
      // Offline frames missed while disconnected: read the count again.
      void api<{ open: number }>('GET', '/offline' + query({ limit: 1 })).then((r) => (offlineOpen.value = r.open), () => {});
    }
    return;
  }
  if (f.t === 'offline' && f.offline) {
    batch(() => {
      offlineOpen.value = f.offline!.open;
      offlineArrived.value++;
    });
    return;
  }
  if (f.t === 'agent' && f.a) {
    const a = f.a;
    agents.value = { ...agents.value, [a.id]: a };
    users.value = users.value.map((u) => (u.id === a.id ? { ...u, status: a.status, max_chats: a.max_chats, load: a.load } : u));
    const m = me.value;
    if (m && a.id === m.user.id && (a.status !== m.user.status || a.max_chats !== m.user.max_chats)) {
      me.value = { ...m, user: { ...m.user, status: a.status, max_chats: a.max_chats } };
      checkQueue();
    }
    return;
  }
  const conv = f.conv;
  if (!conv) return;
  if (f.t === 'tags' && f.tags) {
    const c = convs.value[conv];
    if (c) convs.value = { ...convs.value, [conv]: { ...c, tags: f.tags } };
    return;
  }
  switch (f.t) {
    case 'synced':
    case 'fetched':
      if (!(conv in myRead.value)) seedReadMark(conv);
      replayDone.add(conv);
      markReadIfLooking(conv);
      break;
    case 'typing':
      if (f.from?.kind === 'visitor') {
        typing.value = {
          ...typing.value,
          [conv]: { on: !!f.on, text: f.text ?? '', name: f.from.name ?? '', at: Date.now() },
        };
      }
      break;
    case 'read':
      if (typeof f.seq === 'number') {
        if (f.reader === 'visitor') {
          visitorRead.value = { ...visitorRead.value, [conv]: Math.max(visitorRead.value[conv] ?? 0, f.seq) };
        } else if (f.id === me.value?.user.id) {
          myRead.value = { ...myRead.value, [conv]: Math.max(myRead.value[conv] ?? 0, f.seq) };
        }
      }
      break;
  }
}

/**
 * After a reload my read position in a chat is not known here, but the
 * inbox said how many messages are unread: put the mark just before them.
 */
function seedReadMark(conv: string) {
  const unread = convs.value[conv]?.unread;
  const ms = messages.value[conv];
  if (unread === undefined || !ms) return;
  let n = 0;
  let mark = 0;
  for (let i = ms.length - 1; i >= 0; i--) {
    if (ms[i].from.kind === 'visitor' && ms[i].kind !== 'event') {
      if (n === unread) {
        mark = ms[i].seq;
        break;
      }
      n++;
    }
  }
  myRead.value = { ...myRead.value, [conv]: mark };
}

/** Marks a conversation read when I am looking at it. */
export function markReadIfLooking(conv: string) {
  if (selected.value !== conv || !visible.value || route.value !== 'chats') return;
  const ms = messages.value[conv];
  if (!ms?.length) return;
  const last = ms[ms.length - 1].seq;
  if (last > (myRead.value[conv] ?? 0)) {
    myRead.value = { ...myRead.value, [conv]: last };
    rt.read(conv, last);
  }
}

/** Merges a conversation from the API or the feed, and follows it if mine. */
export function upsert(c: Conversation) {
  const prev = convs.value[c.id];
  const merged: Conversation = prev ? { ...prev, ...c } : c;
  // Feed frames carry the bare conversation: keep the list's extras.
  for (const k of ['visitor_name', 'visitor_email', 'assignee_name', 'department_name', 'preview', 'tags'] as const) {
    if (merged[k] === undefined && prev && prev[k] !== undefined) (merged as unknown as Record<string, unknown>)[k] = prev[k];
  }
  if (prev && c.assignee_id !== prev.assignee_id && c.assignee_name === undefined) {
    merged.assignee_name = userName(c.assignee_id);
  }
  if (prev && c.department_id !== prev.department_id && c.department_name === undefined) {
    merged.department_name = departments.value.find((d) => d.id === c.department_id)?.name ?? '';
  }
  convs.value = { ...convs.value, [c.id]: merged };
  const mine = merged.status === 'assigned' && merged.assignee_id === me.value?.user.id;
  if (mine && prev && prev.assignee_id !== merged.assignee_id && !taking.has(c.id)) notifyAssigned(visitorName(merged));
  if (mine || selected.value === c.id) rt.follow(c.id);
  else if (merged.status === 'closed' || (prev?.assignee_id === me.value?.user.id && !mine)) {
    // No longer mine (transferred or closed): stop following unless shown.
    if (selected.value !== c.id) rt.unfollow(c.id);
  }
  if (!merged.visitor_name && !visitors.value[merged.visitor_id]) void loadVisitor(merged.visitor_id);
  checkQueue();
}

const requested = new Set<string>();
export async function loadVisitor(id: string, force = false) {
  if (requested.has(id) && !force) return;
  requested.add(id);
  try {
    const v = await api<Visitor>('GET', '/visitors/' + encodeURIComponent(id));
    visitors.value = { ...visitors.value, [id]: v };
  } catch {
    requested.delete(id);
  }
}

/** Keeps alerting while someone waits in the queue and I could take them. */
export function checkQueue() {
  const u = me.value?.user;
  const waiting = queue.value.filter((c) => c.status === 'queued');
  if (u && u.status === 'online' && waiting.length && myLoad.value < u.max_chats) {
    notifyQueue(waiting.length, visitorName(waiting[0]));
  } else {
    stopQueueAlert();
  }
}

// ---- actions ----

export async function boot() {
  try {
    const m = await api<Me>('GET', '/me');
    await signedIn(m);
  } catch {
    me.value = null;
  } finally {
    booting.value = false;
  }
}

export async function login(email: string, password: string) {
  const m = await api<Me>('POST', '/login', { email, password });
  await signedIn(m);
}

/** Sets a password from an invitation link and signs in. */
export async function acceptInvite(token: string, password: string) {
  const m = await api<Me>('POST', `/invites/${encodeURIComponent(token)}/accept`, { password });
  history.replaceState(null, '', '#/');
  await signedIn(m);
}

async function signedIn(m: Me) {
  setCSRF(m.csrf_token);
  if (m.user.language) setLanguage(m.user.language);
  me.value = m;
  offlineOpen.value = m.offline_open ?? 0;
  if (location.hash.startsWith('#/')) readHash();
  rt.start();
  await Promise.all([loadInbox(), loadTeam(), loadCanned()]);
}

export async function logout() {
  await attempt(() => api('POST', '/logout'));
  rt.stop();
  rt.forget();
  welcomes = 0;
  stopQueueAlert();
  replayDone.clear();
  batch(() => {
    me.value = null;
    convs.value = {};
    messages.value = {};
    pending.value = {};
    typing.value = {};
    visitorRead.value = {};
    myRead.value = {};
    agents.value = {};
    selected.value = null;
  });
}

export async function loadInbox() {
  const lists = ['/inbox/mine', '/inbox/queue', ...(isSupervisor.value ? ['/inbox/open'] : [])];
  const rs = await attempt(() => Promise.all(lists.map((p) => api<{ conversations: Conversation[] }>('GET', p + query({ limit: 500 })))));
  if (!rs) return;
  batch(() => {
    for (const r of rs) for (const c of r.conversations) upsert(c);
  });
}

export async function loadTeam() {
  const [u, d, tg] = await Promise.all([
    api<{ users: User[] }>('GET', '/users').catch(() => null),
    api<{ departments: Department[] }>('GET', '/departments').catch(() => null),
    api<{ tags: Tag[] }>('GET', '/tags').catch(() => null),
  ]);
  batch(() => {
    if (u) users.value = u.users;
    if (d) departments.value = d.departments;
    if (tg) tags.value = tg.tags;
  });
}

export async function loadCanned() {
  const r = await api<{ canned: Canned[] }>('GET', '/canned').catch(() => null);
  if (r) canned.value = r.canned;
}

/** Canned responses with their placeholders filled for one conversation. */
export async function cannedFor(conv: string): Promise<Canned[]> {
  const r = await api<{ canned: Canned[] }>('GET', `/conversations/${encodeURIComponent(conv)}/canned`).catch(() => null);
  return r?.canned ?? canned.value;
}

export async function loadBoard() {
  const r = await api<{ agents: AgentState[]; queue: Conversation[]; open: number }>('GET', '/board').catch(() => null);
  if (!r) return null;
  batch(() => {
    agents.value = Object.fromEntries(r.agents.map((a) => [a.id, a]));
    for (const c of r.queue) upsert(c);
  });
  return r;
}

let lastActivity = 0;
/** Tells the server the person is here (at most once a minute). */
export function activity() {
  unlockAudio();
  const now = Date.now();
  if (!me.value || now - lastActivity < 60000) return;
  lastActivity = now;
  void api('POST', '/me/activity').catch(() => {});
}

export async function setStatus(status: Presence) {
  const u = await attempt(() => api<User>('PUT', '/me/status', { status }));
  if (u && me.value) {
    me.value = { ...me.value, user: { ...me.value.user, ...u } };
    checkQueue();
  }
}

export function select(id: string | null) {
  const prev = selected.value;
  selected.value = id;
  if (id) {
    route.value = 'chats';
    rt.follow(id);
    // Tags, participants and read marks come with the conversation.
    void loadConversation(id);
    markReadIfLooking(id);
    history.replaceState(null, '', '#/chat/' + id);
  }
  if (prev && prev !== id) {
    const p = convs.value[prev];
    if (!(p && p.status === 'assigned' && p.assignee_id === me.value?.user.id)) rt.unfollow(prev);
  }
}

export async function loadConversation(id: string) {
  const r = await attempt(() =>
    api<{
      conversation: Conversation;
      visitor: Visitor;
      tags: Tag[] | null;
      participants: { id: string; name: string }[] | null;
      read_marks: { reader_kind: string; reader_id: string; seq: number; agent_seq?: number }[];
    }>(
      'GET',
      '/conversations/' + encodeURIComponent(id),
    ),
  );
  if (!r) return;
  batch(() => {
    upsert({ ...r.conversation, tags: r.tags ?? [], participants: r.participants ?? [] });
    visitors.value = { ...visitors.value, [r.visitor.id]: r.visitor };
    for (const m of r.read_marks ?? []) {
      if (m.reader_kind === 'visitor') {
        const seq = m.agent_seq ?? 0;
        if (seq) visitorRead.value = { ...visitorRead.value, [id]: Math.max(visitorRead.value[id] ?? 0, seq) };
      } else if (m.reader_id === me.value?.user.id) {
        myRead.value = { ...myRead.value, [id]: Math.max(myRead.value[id] ?? 0, m.seq) };
      }
    }
  });
}

/** Walks the current inbox tab: +1 next, -1 previous. */
export function step(dir: 1 | -1) {
  const list = tabList.value;
  if (!list.length) return;
  const i = list.findIndex((c) => c.id === selected.value);
  const next = i < 0 ? (dir > 0 ? 0 : list.length - 1) : (i + dir + list.length) % list.length;
  select(list[next].id);
}

export function sendMessage(conv: string, kind: 'text' | 'note', body: string) {
  const cmid = rt.newID();
  const p: Pending = { cmid, kind, body, at: new Date().toISOString() };
  pending.value = { ...pending.value, [conv]: [...(pending.value[conv] ?? []), p] };
  rt.send(conv, kind, body, cmid).catch((f: ServerFrame) => {
    pending.value = {
      ...pending.value,
      [conv]: (pending.value[conv] ?? []).map((x) => (x.cmid === cmid ? { ...x, failed: f.message ?? t('error.generic') } : x)),
    };
  });
}

export function dropPending(conv: string, cmid: string) {
  pending.value = { ...pending.value, [conv]: (pending.value[conv] ?? []).filter((p) => p.cmid !== cmid) };
}

// Chats I am taking myself: no "assigned to you" alert for those.
const taking = new Set<string>();

function takingFor(id: string) {
  taking.add(id);
  // The feed's frame for my own take may come before or after the answer.
  window.setTimeout(() => taking.delete(id), 5000);
}

export async function take(id: string) {
  takingFor(id);
  const c = await attempt(() => api<Conversation>('POST', `/conversations/${encodeURIComponent(id)}/assign`));
  if (c) {
    upsert(c);
    inboxTab.value = 'mine';
    select(id);
  }
}

export async function transfer(id: string, target: { agent_id?: string; department_id?: string }, note: string) {
  const c = await attempt(
    () => api<Conversation>('POST', `/conversations/${encodeURIComponent(id)}/transfer`, note ? { ...target, note } : target),
    t('transfer.done'),
  );
  if (c) upsert(c);
  return c;
}

export async function closeConversation(id: string) {
  const c = await attempt(() => api<Conversation>('POST', `/conversations/${encodeURIComponent(id)}/close`), t('chat.closedToast'));
  if (c) upsert(c);
  return c;
}

/** A supervisor assigns a queued chat to an agent. */
export async function api_assign(conv: string, agentID: string) {
  const c = await attempt(() => api<Conversation>('POST', `/conversations/${encodeURIComponent(conv)}/assign`, { agent_id: agentID }));
  if (c) upsert(c);
  return c;
}

export async function setTag(conv: string, tag: string, on: boolean) {
  const r = await attempt(() =>
    api<{ tags: Tag[] }>(on ? 'PUT' : 'DELETE', `/conversations/${encodeURIComponent(conv)}/tags/${encodeURIComponent(tag)}`),
  );
  const c = convs.value[conv];
  if (r && c) convs.value = { ...convs.value, [conv]: { ...c, tags: r.tags } };
}

export async function createTag(name: string) {
  const tg = await attempt(() => api<Tag>('POST', '/tags', { name }));
  if (tg) tags.value = [...tags.value, tg];
  return tg;
}

export async function emailTranscript(conv: string, email?: string) {
  const r = await attempt(() =>
    api<{ queued: boolean; to: string }>('POST', `/conversations/${encodeURIComponent(conv)}/transcript`, email ? { email } : {}),
  );
  if (r) showToast(t('transcript.queued', { to: r.to }));
  return r;
}

export async function join(conv: string, mode: 'join' | 'takeover') {
  takingFor(conv);
  const c = await attempt(() => api<Conversation>('POST', `/conversations/${encodeURIComponent(conv)}/join`, { mode }));
  if (c) {
    upsert(c);
    await loadConversation(conv);
    select(conv);
  }
  return c;
}

export async function whisper(conv: string, body: string) {
  return attempt(() => api('POST', `/conversations/${encodeURIComponent(conv)}/notes`, { id: rt.newID(), body, whisper: true }));
}

export async function sendFile(conv: string, file: File, caption = '') {
  const fd = new FormData();
  fd.set('id', rt.newID());
  if (caption) fd.set('body', caption);
  fd.set('file', file, file.name);
  return attempt(() => api('POST', `/conversations/${encodeURIComponent(conv)}/files`, fd));
}

/** Follows the address's #/chat/ID (links to earlier conversations). */
export function readHash() {
  const m = location.hash.match(/^#\/chat\/([A-Za-z0-9_-]{1,64})$/);
  if (m) select(m[1]);
  else if (location.hash === '#/supervisor') route.value = 'supervisor';
  else if (location.hash === '#/admin') route.value = 'admin';
  else if (location.hash === '#/history') route.value = 'history';
  else if (location.hash === '#/offline') route.value = 'offline';
}

export function go(r: Route) {
  route.value = r;
  history.replaceState(null, '', r === 'chats' ? (selected.value ? '#/chat/' + selected.value : '#/') : '#/' + r);
}
