// Tiny DOM helpers. Text from people is always set as text nodes; links in
// it are built as elements with a checked http(s) href, never as markup.

type Child = Node | string | null | undefined | false;
type Props = Record<string, string | boolean | number | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...kids: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const k of Object.keys(props)) {
    const v = props[k];
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = String(v);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids) if (k) el.append(k);
  return el;
}

const urlRe = /\bhttps?:\/\/[^\s<>"']+|\bwww\.[^\s<>"']+/gi;

/** Appends text to el, turning web addresses into safe links. */
export function linkify(el: HTMLElement, text: string): void {
  let at = 0;
  for (const m of text.matchAll(urlRe)) {
    let url = m[0];
    // Trailing punctuation belongs to the sentence, not the address.
    const trail = /[.,;:!?)\]]+$/.exec(url);
    if (trail) url = url.slice(0, -trail[0].length);
    const start = m.index ?? 0;
    if (start > at) el.append(text.slice(at, start));
    const href = safeHref(url.startsWith('www.') ? 'https://' + url : url);
    if (href) el.append(h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow', text: url }));
    else el.append(url);
    at = start + url.length;
  }
  if (at < text.length) el.append(text.slice(at));
}

/** Returns url if it is an http(s) address, else null. */
export function safeHref(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch {
    return null;
  }
}

/** Two letters for an avatar from a name. */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?')[0];
  return s.toUpperCase();
}

/**
 * Shows a photo in an avatar, or the name's initials when there is none or
 * it fails to load. Leaves the element alone when nothing changed, so that
 * re-renders do not reload the image.
 */
export function setAvatar(el: HTMLElement, name: string, photo: string): void {
  const want = photo ? 'p:' + photo : 'i:' + initials(name);
  if (el.dataset.shows === want) return;
  el.dataset.shows = want;
  el.textContent = '';
  if (!photo) {
    el.textContent = initials(name);
    return;
  }
  const img = h('img', { src: photo, alt: name, width: 40, height: 40, decoding: 'async' });
  img.addEventListener('error', () => {
    el.dataset.shows = 'i:' + initials(name);
    el.textContent = initials(name);
  });
  el.append(img);
}
