// The widget's languages. Adding one: a file like en.ts and a line here.
import en, { type Strings } from './en';
import fi from './fi';
import sv from './sv';

export const locales: Record<string, Strings> = { fi, sv, en };
export type { Strings };

/**
 * Picks the language: the site's when it locks it, else the shop page's
 * lang attribute, else the browser's, else the site's default.
 */
export function pickLanguage(siteLang: string, locked: boolean, pageLang: string, browser: readonly string[]): string {
  if (locked && locales[siteLang]) return siteLang;
  for (const l of [pageLang, ...browser]) {
    const base = (l || '').toLowerCase().split('-')[0];
    if (locales[base]) return base;
  }
  return locales[siteLang] ? siteLang : 'en';
}

/** Fills {name} placeholders. */
export function fmt(s: string, vars: Record<string, string | number> = {}): string {
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}
