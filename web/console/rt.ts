// The agent's realtime connection (docs/protocol.md). It keeps each
// followed conversation's messages in sequence order exactly once, like the
// Go reference client (client/stream.go):
//   - on a msg with seq <= what we hold: drop it (duplicate);
//   - seq one above: append it and any held-back successors;
//   - larger: hold it back and fetch the gap from what we hold;
//   - reset: drop the copy, the stream replays from 1 under a new epoch.
// On any disconnect it reconnects with exponential backoff and full jitter
// and resumes every conversation from its epoch and last sequence; messages
// not yet acknowledged are sent again with the same client message ids, so
// the server stores them once. Where a WebSocket cannot be opened (some
// proxies), the stream moves to Server-Sent Events plus POST.
import { signal } from '@preact/signals';
import { csrfToken } from './api';
import type { AgentState, Conversation, Msg, Tag } from './types';

export interface ServerFrame {
  t: string;
  rid?: string;
  id?: string;
  conv?: string;
  seq?: number;
  epoch?: string;
  dup?: boolean;
  m?: Msg;
  c?: Conversation;
  a?: AgentState;
  tags?: Tag[];
  code?: string | number;
  message?: string;
  field?: string;
  retry_after?: number;
  more?: boolean;
  on?: boolean;
  text?: string;
  from?: { kind: string; id?: string; name?: string };
  state?: string;
  reader?: 'visitor' | 'agent';
  conn?: string;
  reason?: string;
  offline?: { open: number };
}

interface Stream {
  epoch: string;
  last: number;
  ahead: Map<number, Msg>;
  fetching: boolean;
}

interface Outgoing {
  frame: Record<string, unknown>;
  resolve: (f: ServerFrame) => void;
  reject: (e: ServerFrame) => void;
}

export interface Handlers {
  /** Messages appended to a conversation, in order, each exactly once. */
  append(conv: string, msgs: Msg[]): void;
  /** The conversation's copy is void (new epoch): drop what is shown. */
  reset(conv: string): void;
  conv(c: Conversation): void;
  frame(f: ServerFrame): void;
  /** The server ended the session (signed out, account disabled). */
  signedOut(): void;
  /** A connection could not be opened: the session may have ended. */
  failed?(): void;
}

const backoffBase = 200;
const backoffMax = 10000;
const pingEvery = 25000;

export class Realtime {
  readonly connected = signal(false);
  private wire: Wire | null = null;
  private transport: 'ws' | 'sse' = 'ws';
  private wsFailures = 0;
  private reopening = false;
  private streams = new Map<string, Stream>();
  private follows = new Set<string>();
  private outgoing = new Map<string, Outgoing>();
  private attempt = 0;
  private stopped = false;
  private timer = 0;
  private pinger = 0;
  private seq = 0;

  constructor(private h: Handlers) {}

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    const w = this.wire;
    this.wire = null;
    w?.close();
    this.connected.value = false;
  }

  /** Drops everything held (signing out). */
  forget() {
    this.streams.clear();
    this.follows.clear();
    for (const o of this.outgoing.values()) o.reject({ t: 'error', code: 'unauthorized', message: 'signed out' });
    this.outgoing.clear();
  }

  /** Follows a conversation, resuming from what is held. */
  follow(conv: string) {
    if (this.follows.has(conv)) return;
    this.follows.add(conv);
    const s = this.stream(conv);
    if (this.transport === 'sse') {
      // An SSE stream's subscriptions are fixed by its hello: reopen it,
      // resuming every conversation by sequence.
      if (this.wire) {
        this.reopening = true;
        this.wire.close();
      }
      return;
    }
    this.write({ t: 'sub', conv, epoch: s.epoch, after: s.last });
  }

  unfollow(conv: string) {
    if (!this.follows.delete(conv)) return;
    if (this.transport === 'ws') this.write({ t: 'unsub', conv });
  }

  following(conv: string) {
    return this.follows.has(conv);
  }

  /** Last sequence held of a conversation. */
  held(conv: string) {
    return this.streams.get(conv)?.last ?? 0;
  }

  /** Sends a message; resolves with its ack, rejects with an error frame. */
  send(conv: string, kind: 'text' | 'note', body: string, id = this.newID()): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const frame = { t: 'send', id, conv, kind, body };
      this.outgoing.set(id, { frame, resolve, reject });
      this.write(frame);
    });
  }

  typing(conv: string, on: boolean) {
    this.write({ t: 'typing', conv, on });
  }

  read(conv: string, seq: number) {
    this.write({ t: 'read', conv, seq });
  }

  newID() {
    const r = crypto.getRandomValues(new Uint32Array(2));
    return 'c' + Date.now().toString(36) + '-' + r[0].toString(36) + r[1].toString(36) + '-' + ++this.seq;
  }

  private stream(conv: string): Stream {
    let s = this.streams.get(conv);
    if (!s) {
      s = { epoch: '', last: 0, ahead: new Map(), fetching: false };
      this.streams.set(conv, s);
    }
    return s;
  }

  private write(frame: Record<string, unknown>) {
    if (this.wire && this.connected.value) this.wire.send(frame);
    // Otherwise the next hello resumes subscriptions and the outgoing
    // messages are sent again after the welcome.
  }

  private hello() {
    const subs = [...this.follows].map((conv) => {
      const s = this.stream(conv);
      return { conv, epoch: s.epoch, after: s.last };
    });
    return { t: 'hello', v: 1, subs };
  }

  private open() {
    if (this.stopped) return;
    let welcomed = false;
    const events: WireEvents = {
      frame: (w, f) => {
        if (this.wire !== w) return;
        if (f.t === 'welcome') {
          welcomed = true;
          this.attempt = 0;
          this.wsFailures = 0;
          this.connected.value = true;
          for (const s of this.streams.values()) s.fetching = false;
          for (const o of this.outgoing.values()) w.send(o.frame);
          clearInterval(this.pinger);
          this.pinger = window.setInterval(() => this.write({ t: 'ping' }), pingEvery);
        }
        this.handle(f);
      },
      end: (w, code, opened) => {
        if (this.wire !== w) return;
        this.wire = null;
        this.connected.value = false;
        clearInterval(this.pinger);
        if (code === 4001 || code === 4010 || code === 401) {
          this.stopped = true;
          this.h.signedOut();
          return;
        }
        // A WebSocket that never opens (a proxy that blocks it) twice in a
        // row: use Server-Sent Events plus POST from now on.
        if (this.transport === 'ws' && !opened && ++this.wsFailures >= 2) this.transport = 'sse';
        if (!welcomed) {
          this.attempt++;
          if (!opened) this.h.failed?.();
        }
        if (this.reopening) {
          this.reopening = false;
          this.open();
        } else this.retry();
      },
    };
    if (this.transport === 'ws' && typeof WebSocket === 'function') {
      try {
        this.wire = openWS(this.hello(), events);
        return;
      } catch {
        this.transport = 'sse';
      }
    }
    this.transport = 'sse';
    this.wire = openSSE(this.hello(), events);
  }

  /** Which transport carries the stream now ('ws' or 'sse'). */
  get via() {
    return this.transport;
  }

  private retry() {
    if (this.stopped) return;
    // Exponential backoff with full jitter spreads a reconnect storm.
    const ceil = Math.min(backoffMax, backoffBase * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    this.timer = window.setTimeout(() => this.open(), Math.random() * ceil);
  }

  private handle(f: ServerFrame) {
    switch (f.t) {
      case 'msg':
        if (f.conv && f.m && typeof f.seq === 'number') this.onMsg(f.conv, f.seq, f.m);
        break;
      case 'reset':
        if (f.conv) {
          this.streams.set(f.conv, { epoch: f.epoch ?? '', last: 0, ahead: new Map(), fetching: false });
          this.h.reset(f.conv);
        }
        break;
      case 'synced':
        if (f.conv) this.stream(f.conv).epoch = f.epoch ?? '';
        break;
      case 'fetched':
        if (f.conv) {
          this.stream(f.conv).fetching = false;
          this.fillGap(f.conv);
        }
        break;
      case 'ack': {
        const o = f.id ? this.outgoing.get(f.id) : undefined;
        if (o) {
          this.outgoing.delete(f.id!);
          o.resolve(f);
        }
        if (f.conv && f.m && typeof f.seq === 'number' && this.follows.has(f.conv)) this.onMsg(f.conv, f.seq, f.m);
        break;
      }
      case 'error': {
        const o = f.id ? this.outgoing.get(f.id) : undefined;
        // Unavailable and rate-limited sends are retried after the next
        // welcome or shortly; anything else is final.
        if (o && f.code !== 'unavailable' && f.code !== 'rate_limited') {
          this.outgoing.delete(f.id!);
          o.reject(f);
        } else if (o) {
          window.setTimeout(() => this.write(o.frame), Math.max(1, f.retry_after ?? 1) * 500);
        }
        break;
      }
      case 'conv':
        if (f.c) this.h.conv(f.c);
        break;
      case 'bye':
        if (Number(f.code) === 4001 || Number(f.code) === 4010) {
          this.stopped = true;
          this.h.signedOut();
        }
        break;
    }
    this.h.frame(f);
  }

  private onMsg(conv: string, seq: number, m: Msg) {
    const s = this.stream(conv);
    m = { ...m, seq };
    if (seq <= s.last) return; // held already
    if (seq === s.last + 1) {
      const out = [m];
      s.last = seq;
      for (let next = s.ahead.get(s.last + 1); next; next = s.ahead.get(s.last + 1)) {
        s.ahead.delete(next.seq);
        out.push(next);
        s.last = next.seq;
      }
      this.h.append(conv, out);
    } else {
      s.ahead.set(seq, m);
    }
    this.fillGap(conv);
  }

  /** Asks for the messages between what we hold and what arrived ahead. */
  private fillGap(conv: string) {
    const s = this.stream(conv);
    if (s.ahead.size === 0 || s.fetching || !this.connected.value) return;
    s.fetching = true;
    this.write({ t: 'fetch', rid: 'gap-' + conv, conv, after: s.last, limit: 500 });
  }
}

// ---- transports ----

interface Wire {
  send(frame: Record<string, unknown>): void;
  close(): void;
}

interface WireEvents {
  frame(w: Wire, f: ServerFrame): void;
  /** The connection ended; opened says whether it ever connected. */
  end(w: Wire, code: number, opened: boolean): void;
}

function parse(data: string): ServerFrame | null {
  try {
    return JSON.parse(data) as ServerFrame;
  } catch {
    return null;
  }
}

function openWS(hello: object, ev: WireEvents): Wire {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/console/v1/rt';
  const ws = new WebSocket(url);
  let opened = false;
  const w: Wire = {
    send: (f) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(f)),
    close: () => ws.close(1000),
  };
  ws.onopen = () => {
    opened = true;
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (m) => {
    const f = parse(String(m.data));
    if (f) ev.frame(w, f);
  };
  ws.onclose = (c) => ev.end(w, c.code, opened);
  return w;
}

/**
 * Server-Sent Events for what the server sends (the body of the POST is
 * the hello) and a POST per frame for what we send; each POST's answer
 * holds that frame's replies.
 */
function openSSE(hello: object, ev: WireEvents): Wire {
  const ctrl = new AbortController();
  const headers = (): Record<string, string> => ({ 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() });
  let open = true;
  let opened = false;
  const w: Wire = {
    send: (f) => {
      if (!open) return;
      void fetch('/api/console/v1/rt/frames', { method: 'POST', headers: headers(), body: JSON.stringify(f), credentials: 'same-origin' })
        .then((r) => (r.ok ? r.json() : null))
        .then((replies: ServerFrame[] | null) => {
          if (open && Array.isArray(replies)) for (const f of replies) ev.frame(w, f);
        })
        .catch(() => {});
    },
    close: () => {
      open = false;
      ctrl.abort();
    },
  };
  (async () => {
    let code = 1006;
    try {
      const res = await fetch('/api/console/v1/rt/sse', {
        method: 'POST', headers: headers(), body: JSON.stringify(hello), signal: ctrl.signal, credentials: 'same-origin',
      });
      if (res.status === 401 || !res.body) {
        code = res.status === 401 ? 401 : 1006;
        throw new Error('stream refused');
      }
      opened = res.ok;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).replace(/\r$/, '');
          buf = buf.slice(i + 1);
          if (!line.startsWith('data:')) continue;
          const f = parse(line.slice(5).trim());
          if (!f) continue;
          if (f.t === 'bye') code = Number(f.code) || 1000;
          else if (open) ev.frame(w, f);
        }
      }
    } catch {
      // Aborted or failed: reported below.
    }
    const wasOpen = open;
    open = false;
    if (wasOpen || ctrl.signal.aborted) ev.end(w, code, opened);
  })();
  return w;
}
