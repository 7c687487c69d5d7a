// Finnish, Swedish and English. The language comes from the user's choice
// (kept in this browser), else the browser's languages, else English.
// Every locale has every key: the type of en is the contract.
import { signal } from '@preact/signals';
import { en, type Dict } from './locales/en';
import { fi } from './locales/fi';
import { sv } from './locales/sv';

export type Lang = 'fi' | 'sv' | 'en';
export const languages: Lang[] = ['fi', 'sv', 'en'];
const dicts: Record<Lang, Dict> = { en, fi, sv };

function initial(): Lang {
  const saved = localStorage.getItem('tiski.lang');
  if (saved && (languages as string[]).includes(saved)) return saved as Lang;
  for (const l of navigator.languages ?? [navigator.language]) {
    const p = l.slice(0, 2).toLowerCase();
    if ((languages as string[]).includes(p)) return p as Lang;
  }
  return 'en';
}

export const lang = signal<Lang>(initial());
document.documentElement.lang = lang.value;

export function setLanguage(l: string, remember = false) {
  if (!(languages as string[]).includes(l)) return;
  lang.value = l as Lang;
  document.documentElement.lang = l;
  if (remember) localStorage.setItem('tiski.lang', l);
}

export type Key = keyof Dict;

/** Translates key, filling {name} placeholders from vars. */
export function t(key: Key, vars?: Record<string, string | number>): string {
  const s = dicts[lang.value][key] ?? en[key] ?? key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

/** Locale tag for Intl formatting. */
export function locale(): string {
  return lang.value === 'fi' ? 'fi-FI' : lang.value === 'sv' ? 'sv-SE' : 'en-GB';
}
