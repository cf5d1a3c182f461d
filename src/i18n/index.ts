import i18next, { type TFunction } from 'i18next';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const LANGUAGES = ['pl', 'en'] as const;
export type Lang = (typeof LANGUAGES)[number];
export const DEFAULT_LANG: Lang = 'pl';
export const TIME_ZONE = 'Europe/Warsaw';

export function isLang(v: unknown): v is Lang {
  return typeof v === 'string' && (LANGUAGES as readonly string[]).includes(v);
}

const load = (lang: Lang) => JSON.parse(readFileSync(path.join(import.meta.dirname, `${lang}.json`), 'utf8')) as Record<string, unknown>;

/**
 * One i18next instance for the process; Polish is the default and the fallback. Plurals use
 * Intl.PluralRules, so Polish gets its three forms (1 konto, 2 konta, 5 kont) from _one/_few/_many.
 */
export async function createI18n() {
  const instance = i18next.createInstance();
  await instance.init({
    lng: DEFAULT_LANG,
    fallbackLng: DEFAULT_LANG,
    supportedLngs: [...LANGUAGES],
    resources: { pl: { translation: load('pl') }, en: { translation: load('en') } },
    interpolation: { escapeValue: false }, // handlebars escapes
    returnNull: false,
  });
  return {
    t(lang: Lang): TFunction {
      return instance.getFixedT(lang);
    },
    exists: (key: string, lang: Lang) => instance.exists(key, { lng: lang }),
  };
}
export type I18n = Awaited<ReturnType<typeof createI18n>>;

export function formatDateTime(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return '';
  return new Intl.DateTimeFormat(lang === 'pl' ? 'pl-PL' : 'en-GB', {
    timeZone: TIME_ZONE,
    dateStyle: 'medium',
    timeStyle: 'short',
  }).format(new Date(iso));
}
