// Alerts: a short chime made with WebAudio (no sound file to ship), a
// desktop notification while the tab is hidden, and the unread count in
// the page title. A visitor waiting in the queue keeps alerting until
// somebody takes the chat.
import { t } from './i18n';
import type { Msg } from './types';

let ctx: AudioContext | null = null;
let muted = localStorage.getItem('tiski.muted') === '1';
/** Counts chimes played (read by tests and the settings screen). */
export const stats = { chimes: 0, notifications: 0 };

export function isMuted() {
  return muted;
}

export function setMuted(m: boolean) {
  muted = m;
  localStorage.setItem('tiski.muted', m ? '1' : '0');
}

/** Plays two soft sine notes; tone 'queue' is higher and a little longer. */
export function chime(tone: 'message' | 'queue' = 'message') {
  stats.chimes++;
  if (muted) return;
  try {
    ctx ??= new AudioContext();
    if (ctx.state === 'suspended') void ctx.resume();
    const now = ctx.currentTime;
    const notes = tone === 'queue' ? [660, 880, 990] : [740, 988];
    notes.forEach((f, i) => {
      const o = ctx!.createOscillator();
      const g = ctx!.createGain();
      o.type = 'sine';
      o.frequency.value = f;
      const start = now + i * 0.12;
      g.gain.setValueAtTime(0.0001, start);
      g.gain.exponentialRampToValueAtTime(0.18, start + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, start + 0.35);
      o.connect(g).connect(ctx!.destination);
      o.start(start);
      o.stop(start + 0.4);
    });
  } catch {
    // No audio device: the title and notifications still tell.
  }
}

function hidden() {
  return document.visibilityState === 'hidden';
}

/** Asks for the desktop notification permission (from a user gesture). */
export function askPermission() {
  if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission();
}

function desktop(title: string, body: string, tag: string) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag, silent: true });
    stats.notifications++;
    n.onclick = () => {
      window.focus();
      n.close();
    };
  } catch {
    // Some platforms only allow notifications from a service worker.
  }
}

/** A new message in a chat I am not looking at. */
export function notifyMessage(from: string, m: Msg) {
  chime('message');
  if (hidden()) {
    const body = m.kind === 'file' ? t('notify.file', { name: m.file?.name ?? '' }) : m.body.slice(0, 140);
    desktop(t('notify.message', { name: from }), body, 'tiski-msg-' + from);
  }
}

/** A chat was given to me (routing, a transfer, a supervisor). */
export function notifyAssigned(name: string) {
  chime('queue');
  if (hidden()) desktop(t('notify.assigned', { name }), '', 'tiski-assigned-' + name);
}

let queueTimer = 0;
let queueKey = '';
const queueEvery = 12000;

/** Starts (or keeps) the repeating queue alert. */
export function notifyQueue(waiting: number, first: string) {
  const key = waiting + '|' + first;
  if (queueTimer && key === queueKey) return;
  const fresh = !queueTimer || waiting > Number(queueKey.split('|')[0] || 0);
  queueKey = key;
  const ring = () => {
    chime('queue');
    if (hidden()) desktop(t('notify.queue', { n: waiting }), first, 'tiski-queue');
  };
  if (fresh) ring();
  window.clearInterval(queueTimer);
  queueTimer = window.setInterval(ring, queueEvery);
}

export function stopQueueAlert() {
  window.clearInterval(queueTimer);
  queueTimer = 0;
  queueKey = '';
}

/** Shows the count in the title: "(3) Tiski". */
export function setTitleCount(n: number, base = 'Tiski') {
  const title = n > 0 ? `(${n}) ${base}` : base;
  if (document.title !== title) document.title = title;
}
