// The loader shops embed: <script src="https://TISKI/widget.js" data-site="KEY" async>.
// It stays tiny: it puts one iframe served from Tiski's origin on the page,
// relays the JS API (window.Tiski) and page changes to it by postMessage
// with the exact origin, and sizes the iframe as the chat asks. Nothing else
// becomes global, and it sets no cookies.
import type { HostMsg, FrameMsg } from './protocol';

type Handler = (data?: unknown) => void;
type Call = unknown[];
interface TiskiFn {
  (...args: unknown[]): unknown;
  q?: ArrayLike<unknown>[];
  loaded?: boolean;
}

(() => {
  const w = window as unknown as { Tiski?: TiskiFn; TiskiSettings?: Record<string, unknown>; dataLayer?: unknown[] };
  if (w.Tiski && w.Tiski.loaded) return;
  const me = (document.currentScript ||
    document.querySelector('script[data-site][src*="/widget.js"]') ||
    document.querySelector('script[src*="/widget.js"]')) as HTMLScriptElement | null;
  const settings = w.TiskiSettings || {};
  const key = (me && me.getAttribute('data-site')) || (settings.site as string);
  if (!me || !key) return;
  const tiski = new URL(me.src).origin;
  const queued: Call[] = ((w.Tiski && w.Tiski.q) || []).map((a) => Array.prototype.slice.call(a));
  const handlers: Record<string, Handler[]> = {};
  const pending: HostMsg[] = [];
  let frame: HTMLIFrameElement | null = null;
  let ready = false;
  let mode: FrameMsg & { type: 'size' } = { type: 'size', open: false, w: 0, h: 0, side: 'right' };

  const post = (m: HostMsg) => {
    if (ready && frame && frame.contentWindow) frame.contentWindow.postMessage(m, tiski);
    else pending.push(m);
  };

  const api: TiskiFn = (...args: unknown[]) => {
    const cmd = args[0] as string;
    const a = args[1];
    const b = args[2];
    if (cmd === 'on' && typeof b === 'function') {
      (handlers[a as string] = handlers[a as string] || []).push(b as Handler);
    } else if (cmd === 'off') {
      handlers[a as string] = (handlers[a as string] || []).filter((f) => f !== b);
    } else if (typeof cmd === 'string') {
      // Only plain data crosses into the frame.
      post({ tiski: 1, type: 'api', cmd, args: JSON.parse(JSON.stringify([a, b].filter((x) => x !== undefined))) });
    }
  };
  api.loaded = true;
  w.Tiski = api;

  const page = (): HostMsg => ({
    tiski: 1, type: 'page', url: location.href, title: document.title, referrer: document.referrer,
    lang: document.documentElement.lang || '', vw: innerWidth,
  });

  // Sizes the iframe: the launcher's own size when closed; a panel, or the
  // whole screen on narrow viewports, when open.
  const place = () => {
    if (!frame) return;
    const full = mode.open && innerWidth < 600;
    const s = frame.style;
    const set = (k: string, v: string) => s.setProperty(k, v, 'important');
    set('position', 'fixed');
    set('z-index', '2147483000');
    set('border', '0');
    set('margin', '0');
    set('padding', '0');
    set('background', 'transparent');
    set('color-scheme', 'normal');
    set('max-width', '100vw');
    set('max-height', '100%');
    set('bottom', '0');
    set(mode.side === 'left' ? 'left' : 'right', '0');
    set(mode.side === 'left' ? 'right' : 'left', 'auto');
    set('top', full ? '0' : 'auto');
    set('width', full ? '100vw' : mode.w + 'px');
    set('height', full ? '100%' : Math.min(mode.h, innerHeight) + 'px');
    set('display', 'block');
    set('visibility', mode.w ? 'visible' : 'hidden');
  };

  const onMessage = (e: MessageEvent) => {
    if (!frame || e.source !== frame.contentWindow || e.origin !== tiski) return;
    const m = e.data as FrameMsg;
    if (!m || typeof m !== 'object') return;
    if (m.type === 'ready') {
      ready = true;
      frame.contentWindow!.postMessage(page(), tiski);
      pending.splice(0).forEach((p) => frame!.contentWindow!.postMessage(p, tiski));
    } else if (m.type === 'size') {
      mode = m;
      place();
    } else if (m.type === 'event') {
      (handlers[m.name] || []).forEach((f) => {
        try {
          f(m.data);
        } catch (err) {
          setTimeout(() => { throw err; });
        }
      });
      if (Array.isArray(w.dataLayer)) w.dataLayer.push({ event: 'tiski.' + m.name, tiski: m.data });
    }
  };

  // Single-page shops change pages without loading: notice history moves.
  let last = location.href;
  const changed = () =>
    setTimeout(() => {
      if (location.href !== last) {
        last = location.href;
        post(page());
      }
    }, 50);
  for (const k of ['pushState', 'replaceState'] as const) {
    const orig = history[k];
    history[k] = function (this: History, ...a: Parameters<History['pushState']>) {
      const r = orig.apply(this, a);
      changed();
      return r;
    };
  }
  addEventListener('popstate', changed);
  addEventListener('hashchange', changed);
  addEventListener('message', onMessage);
  addEventListener('resize', () => {
    place();
    post({ tiski: 1, type: 'viewport', vw: innerWidth });
  });

  const start = () => {
    frame = document.createElement('iframe');
    frame.title = 'Chat';
    frame.setAttribute('allow', 'clipboard-write');
    frame.src = tiski + '/widget/' + encodeURIComponent(key) + '/frame?host=' + encodeURIComponent(location.origin);
    place();
    document.body.appendChild(frame);
  };
  post({ tiski: 1, type: 'settings', settings: JSON.parse(JSON.stringify(settings)) });
  queued.forEach((c) => api(...c));
  // The chat loads after the shop's page, never in its way.
  if (document.readyState === 'complete') start();
  else addEventListener('load', start);
})();
