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
// the server stores them once.
import { signal } from '@preact/signals';
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
}

const backoffBase = 200;
const backoffMax = 10000;
const pingEvery = 25000;

export class Realtime {
  readonly connected = signal(false);
  private ws: WebSocket | null = null;
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
    this.ws?.close(1000);
    this.ws = null;
    this.connected.value = false;
  }

  /** Follows a conversation, resuming from what is held. */
  follow(conv: string) {
    if (this.follows.has(conv)) return;
    this.follows.add(conv);
    const s = this.stream(conv);
    this.write({ t: 'sub', conv, epoch: s.epoch, after: s.last });
  }

  unfollow(conv: string) {
    if (!this.follows.delete(conv)) return;
    this.write({ t: 'unsub', conv });
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
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.connected.value) {
      this.ws.send(JSON.stringify(frame));
    }
    // Otherwise the next hello resumes subscriptions and the outgoing
    // messages are sent again after the welcome.
  }

  private open() {
    if (this.stopped) return;
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/console/v1/rt';
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    let welcomed = false;
    ws.onopen = () => {
      const subs = [...this.follows].map((conv) => {
        const s = this.stream(conv);
        return { conv, epoch: s.epoch, after: s.last };
      });
      ws.send(JSON.stringify({ t: 'hello', v: 1, subs }));
    };
    ws.onmessage = (ev) => {
      let f: ServerFrame;
      try {
        f = JSON.parse(String(ev.data));
      } catch {
        return;
      }
      if (f.t === 'welcome') {
        welcomed = true;
        this.attempt = 0;
        this.connected.value = true;
        for (const s of this.streams.values()) s.fetching = false;
        for (const o of this.outgoing.values()) ws.send(JSON.stringify(o.frame));
        clearInterval(this.pinger);
        this.pinger = window.setInterval(() => this.write({ t: 'ping' }), pingEvery);
      }
      this.handle(f);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.connected.value = false;
      clearInterval(this.pinger);
      if (ev.code === 4001 || ev.code === 4010) {
        this.stopped = true;
        this.h.signedOut();
        return;
      }
      if (!welcomed) this.attempt++;
      this.retry();
    };
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
