// Small formatting helpers.
import { locale, t } from './i18n';

// A formatter is made once per locale and style: toLocaleTimeString makes
// a new one each call, which took most of the inbox's first render.
const formats = new Map<string, Intl.DateTimeFormat>();

/** Formats iso (or a time in ms) in the console's language; '' if invalid. */
export function formatDate(iso: string | number | undefined, opts: Intl.DateTimeFormatOptions): string {
  if (iso === undefined || iso === '') return '';
  const d = new Date(iso);
  if (isNaN(+d)) return '';
  const key = locale() + JSON.stringify(opts);
  let f = formats.get(key);
  if (!f) formats.set(key, (f = new Intl.DateTimeFormat(locale(), opts)));
  return f.format(d);
}

export function clockTime(iso: string | undefined): string {
  return formatDate(iso, { hour: '2-digit', minute: '2-digit' });
}

export function dateTime(iso: string | undefined): string {
  return formatDate(iso, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** "45 s", "3 min", "1 h 5 min" since iso, by now (ms). */
export function since(iso: string | undefined, now: number): string {
  if (!iso) return '';
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return t('time.seconds', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('time.minutes', { n: m });
  const h = Math.floor(m / 60);
  if (h < 24) return t('time.hours', { h, m: m % 60 });
  return t('time.days', { n: Math.floor(h / 24) });
}

export function fileSize(n: number): string {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(0) + ' KB';
  return (n / 1024 / 1024).toFixed(1) + ' MB';
}

/** Browser and device from a user agent string (a rough, honest guess). */
export function describeUA(ua: string | undefined): string {
  if (!ua) return '';
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /OPR\//.test(ua)
      ? 'Opera'
      : /Firefox\//.test(ua)
        ? 'Firefox'
        : /Chrome\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : '';
  const os = /iPhone|iPad/.test(ua)
    ? 'iOS'
    : /Android/.test(ua)
      ? 'Android'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X/.test(ua)
          ? 'macOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  const mobile = /Mobi|iPhone|Android/.test(ua) ? t('visitor.mobile') : t('visitor.desktop');
  return [browser, os, mobile].filter(Boolean).join(' · ') || ua.slice(0, 60);
}

/** The visitor's local time now, in their IANA time zone. */
export function localTime(tz: string | undefined, now: number): string {
  if (!tz) return '';
  try {
    return formatDate(now, { timeZone: tz, hour: '2-digit', minute: '2-digit' }) + ' (' + tz + ')';
  } catch {
    return '';
  }
}

/**
 * Fills {{visitor.name}}, {{visitor.email}}, {{agent.name}} and
 * {{site.name}} in a canned text, as the server does; used while the
 * server's expansion for the chat is on its way.
 */
export function fillPlaceholders(body: string, vars: Record<string, string>): string {
  return body.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (m, k: string) => (k in vars ? vars[k] : m)).replace(/ +([,.!?])/g, '$1');
}

/** Initials for an avatar: "Aino Virtanen" → "AV". */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return '?';
  return ((parts[0][0] ?? '') + (parts.length > 1 ? (parts[parts.length - 1][0] ?? '') : '')).toUpperCase();
}

/** A calm colour for an avatar, stable per id. */
export function hue(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360;
  return h;
}

/** Only http(s) links are followed from visitor data. */
export function safeURL(u: string | undefined): string | undefined {
  if (!u) return undefined;
  try {
    const p = new URL(u);
    return p.protocol === 'http:' || p.protocol === 'https:' ? p.href : undefined;
  } catch {
    return undefined;
  }
}
