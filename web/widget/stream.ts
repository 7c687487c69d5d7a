// The visitor's realtime connection, following docs/protocol.md: a hello
// listing the sequence held of each conversation, replay then live
// traffic, duplicates dropped, gaps fetched, a reset voiding the cache,
// reconnection with exponential backoff and full jitter, and an outbox of
// messages that are sent again with the same ids until acknowledged.

export interface FileInfo { id: string; name: string; type: string; size: number; url: string }
export interface Msg {
  id: string; seq: number; kind: string; from: { kind: string; name?: string }; body: string;
  event?: string; data?: Record<string, unknown>; file?: FileInfo; cmid?: string; at: string;
}
export interface Conv { id: string; epoch: string; seq: number; status: string; msgs: Msg[] }
export interface Outgoing { id: string; body: string; error?: string }

export interface StreamHooks {
  changed(): void;
  status(s: 'connecting' | 'online' | 'offline'): void;
  typing(name: string, on: boolean): void;
  agentRead(conv: string, seq: number): void;
  ownRead(conv: string, seq: number): void;
  incoming(m: Msg): void;
  unauthorized(): void;
}

export interface State {
  convs: Conv[]; // oldest first; the last is the current one
  outbox: Outgoing[];
}

const BASE = 200;
const CAP = 10000;
const KEEP = 300; // messages kept per conversation

export class Stream {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer = 0;
  private ping = 0;
  private held = new Map<string, Map<number, Msg>>();
  private stopped = false;
  online = false;

  constructor(private url: string, private token: () => string, public st: State, private hooks: StreamHooks) {}

  current(): Conv | undefined {
    return this.st.convs[this.st.convs.length - 1];
  }

  conv(id: string): Conv | undefined {
    return this.st.convs.find((c) => c.id === id);
  }

  start(): void {
    this.stopped = false;
    if (!this.ws) this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
    this.ws = null;
  }

  /** Reconnects now (the browser says the network is back). */
  kick(): void {
    if (this.stopped || (this.ws && this.ws.readyState <= 1)) return;
    clearTimeout(this.timer);
    this.connect();
  }

  private connect(): void {
    this.hooks.status('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      const subs = this.st.convs.filter((c) => c.status !== 'closed' || c === this.current())
        .map((c) => ({ conv: c.id, epoch: c.epoch, after: c.seq }));
      ws.send(JSON.stringify({ t: 'hello', v: 1, token: this.token(), subs }));
    };
    ws.onmessage = (e) => {
      try {
        this.frame(JSON.parse(e.data as string));
      } catch (err) {
        console.error('tiski: bad frame', err);
      }
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.online = false;
      clearInterval(this.ping);
      this.hooks.status('offline');
      if (e.code === 4001) {
        this.hooks.unauthorized();
        return;
      }
      if (this.stopped) return;
      const wait = Math.random() * Math.min(CAP, BASE * 2 ** this.attempt);
      this.attempt++;
      this.timer = setTimeout(() => this.connect(), wait) as unknown as number;
    };
  }

  private raw(f: Record<string, unknown>): boolean {
    if (!this.ws || this.ws.readyState !== 1 || !this.online) return false;
    this.ws.send(JSON.stringify(f));
    return true;
  }

  /** Queues a text message; it is sent now or on the next connection. */
  send(id: string, body: string): void {
    this.st.outbox.push({ id, body });
    this.hooks.changed();
    this.flushOne(this.st.outbox[this.st.outbox.length - 1]);
  }

  private flushOne(o: Outgoing): void {
    const c = this.current();
    const f: Record<string, unknown> = { t: 'send', id: o.id, kind: 'text', body: o.body };
    if (c) f.conv = c.id;
    this.raw(f);
  }

  flush(): void {
    for (const o of this.st.outbox) if (!o.error) this.flushOne(o);
  }

  typing(on: boolean, text: string): void {
    const c = this.current();
    if (c && c.status !== 'closed') this.raw({ t: 'typing', conv: c.id, on, text: on ? text.slice(0, 500) : '' });
  }

  read(conv: string, seq: number): void {
    this.raw({ t: 'read', conv, seq });
  }

  private ensure(id: string, epoch?: string): Conv {
    let c = this.conv(id);
    if (!c) {
      c = { id, epoch: epoch || '', seq: 0, status: 'open', msgs: [] };
      this.st.convs.push(c);
      // Keep the current conversation and the one before it.
      if (this.st.convs.length > 2) this.st.convs.splice(0, this.st.convs.length - 2);
    }
    if (epoch) c.epoch = epoch;
    return c;
  }

  /** Applies a message of a stream by its sequence (protocol rules). */
  private apply(convID: string, m: Msg, live: boolean): void {
    const c = this.ensure(convID);
    if (m.seq <= c.seq) return; // a duplicate
    if (m.seq > c.seq + 1) {
      let h = this.held.get(convID);
      if (!h) this.held.set(convID, (h = new Map()));
      const first = h.size === 0;
      h.set(m.seq, m);
      if (first) this.raw({ t: 'fetch', conv: convID, after: c.seq, limit: 500 });
      return;
    }
    this.append(c, m, live);
    const h = this.held.get(convID);
    while (h && h.has(c.seq + 1)) {
      const next = h.get(c.seq + 1)!;
      h.delete(next.seq);
      this.append(c, next, live);
    }
  }

  private append(c: Conv, m: Msg, live: boolean): void {
    c.msgs.push(m);
    c.seq = m.seq;
    if (c.msgs.length > KEEP) c.msgs.splice(0, c.msgs.length - KEEP);
    if (m.cmid) this.st.outbox = this.st.outbox.filter((o) => o.id !== m.cmid);
    if (m.kind === 'event' && m.event === 'closed') c.status = 'closed';
    if (live) this.hooks.incoming(m);
  }

  private frame(f: Record<string, any>): void {
    switch (f.t) {
      case 'welcome':
        this.online = true;
        this.attempt = 0;
        this.hooks.status('online');
        clearInterval(this.ping);
        this.ping = setInterval(() => this.raw({ t: 'ping' }), 25000) as unknown as number;
        this.flush();
        break;
      case 'msg':
        this.apply(f.conv, f.m, true);
        break;
      case 'ack': {
        this.apply(f.conv, f.m, false);
        this.st.outbox = this.st.outbox.filter((o) => o.id !== f.id);
        break;
      }
      case 'synced':
      case 'fetched': {
        const c = this.ensure(f.conv, f.epoch);
        // Still behind (or the server has more): ask for the rest.
        if (f.seq > c.seq || f.more) this.raw({ t: 'fetch', conv: f.conv, after: c.seq, limit: 500 });
        break;
      }
      case 'reset': {
        const c = this.ensure(f.conv, f.epoch);
        c.msgs = [];
        c.seq = 0;
        this.held.delete(f.conv);
        break;
      }
      case 'conv': {
        const v = f.c;
        const c = this.ensure(v.id, v.epoch);
        c.status = v.status;
        if (v.last_seq > c.seq) this.raw({ t: 'fetch', conv: v.id, after: c.seq, limit: 500 });
        break;
      }
      case 'typing':
        if (f.from && f.from.kind !== 'visitor') this.hooks.typing(f.from.name || '', !!f.on);
        return;
      case 'read':
        if (f.reader === 'agent') this.hooks.agentRead(f.conv, f.seq);
        else this.hooks.ownRead(f.conv, f.seq);
        return;
      case 'error':
        if (f.id) {
          const o = this.st.outbox.find((x) => x.id === f.id);
          // Retryable failures stay queued; the others are shown.
          if (o && !['rate_limited', 'unavailable', 'internal'].includes(f.code)) o.error = f.message || f.code;
          else if (o) setTimeout(() => this.flushOne(o), (f.retry_after || 2) * 1000);
        }
        break;
      default:
        return;
    }
    this.hooks.changed();
  }
}
