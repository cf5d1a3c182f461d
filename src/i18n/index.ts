import i18next, { type TFunction } from 'i18next';
// The catalogs are part of the code: bundled into the server's build (scripts/build.mjs), read once.
import plCatalog from './pl.json' with { type: 'json' };
import enCatalog from './en.json' with { type: 'json' };

export const LANGUAGES = ['pl', 'en'] as const;
export type Lang = (typeof LANGUAGES)[number];
export const DEFAULT_LANG: Lang = 'pl';
export const TIME_ZONE = 'Europe/Warsaw';

export function isLang(v: unknown): v is Lang {
  return typeof v === 'string' && (LANGUAGES as readonly string[]).includes(v);
}

/**
 * The language a browser asks for (the Accept-Language header), among ours: the first supported one
 * by its weight ("en-GB,en;q=0.9,pl;q=0.8" → en), Polish when it names none of ours.
 */
export function langFromAcceptLanguage(header: string | undefined): Lang {
  if (!header) return DEFAULT_LANG;
  let best: Lang = DEFAULT_LANG;
  let bestQ = 0;
  // Bounded: a header is at most a few dozen entries; anything beyond is not read.
  for (const entry of header.split(',', 32)) {
    const [tag = '', ...params] = entry.trim().split(';');
    const base = tag.trim().toLowerCase().split('-')[0];
    if (!isLang(base)) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (Number.isFinite(q) && q > bestQ) {
      best = base;
      bestQ = q;
    }
  }
  return best;
}

const catalogs: Record<Lang, Record<string, unknown>> = { pl: plCatalog, en: enCatalog };
const load = (lang: Lang) => catalogs[lang];

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
  // One translate function per language, built once. A key asked for without options always gives
  // the same text, so it is looked up once (the catalogs never change while the process runs); the
  // cache is bounded in case a key is ever built from data.
  // Keyed by language, then by key: a page asks for dozens of texts, and a key made by joining the
  // language to the text's key was a new string to build and hash at every call.
  const plain = Object.fromEntries(LANGUAGES.map((l) => [l, new Map<string, string>()])) as Record<Lang, Map<string, string>>;
  // Texts with simple {{name}} placeholders and simple values are filled in here: i18next's general
  // path (plurals, context, nesting, formats) costs several microseconds a call, and a page makes
  // dozens. Anything else, or a placeholder left without a value, goes to i18next.
  // Each text is split once into its literal parts and placeholder names: filling it is then a few
  // concatenations (a regular expression replace per text cost several times more, dozens of times a page).
  type Template = { parts: string[]; names: string[] };
  // By language, then with and without the fallback language's text, then by key.
  const templates = Object.fromEntries(LANGUAGES.map((l) => [l, [new Map<string, Template | null>(), new Map<string, Template | null>()]])) as Record<Lang, [Map<string, Template | null>, Map<string, Template | null>]>;
  let templateCount = 0;
  const template = (lang: Lang, key: string, fallback = true): Template | null => {
    const cache = templates[lang][fallback ? 0 : 1];
    let v = cache.get(key);
    if (v === undefined) {
      const raw = instance.getResource(lang, 'translation', key) ?? (fallback ? instance.getResource(DEFAULT_LANG, 'translation', key) : undefined);
      v = null;
      if (typeof raw === 'string' && !raw.includes('$t(') && !/\{\{[^}]*[^\w\s}][^}]*\}\}/.test(raw)) {
        const split = raw.split(/\{\{\s*(\w+)\s*\}\}/);
        v = { parts: split.filter((_, i) => i % 2 === 0), names: split.filter((_, i) => i % 2 === 1) };
      }
      if (templateCount < 10_000) (cache.set(key, v), templateCount++);
    }
    return v;
  };
  const fill = ({ parts, names }: Template, vars: Record<string, unknown>): string | null => {
    let out = parts[0]!;
    for (let i = 0; i < names.length; i++) {
      const value = vars[names[i]!];
      if (typeof value === 'string') out += value;
      else if (typeof value === 'number' || typeof value === 'boolean') out += String(value);
      else return null;
      out += parts[i + 1]!;
    }
    return out;
  };
  const fixed = Object.fromEntries(
    LANGUAGES.map((lang) => {
      const ft = instance.getFixedT(lang);
      const t = (key: string | string[], opts?: unknown) => {
        if (typeof key !== 'string') return ft(key as never, opts as never);
        if (opts !== undefined) {
          if (isSimpleOptions(opts)) {
            const tpl = template(lang, key);
            const text = tpl === null ? null : fill(tpl, opts);
            if (text !== null) return text;
          } else if (isCountOptions(opts)) {
            // A plural ("{{count}} konta"): the form Intl.PluralRules names, in this language's own
            // catalog, as i18next picks it. Zero (i18next's "_zero"), a form missing here (the fallback
            // language's rules then apply) or anything unusual goes to i18next.
            const tpl = template(lang, `${key}_${pluralRules[lang].select(opts.count)}`, false);
            const text = tpl === null ? null : fill(tpl, opts);
            if (text !== null) return text;
          }
          return ft(key as never, opts as never);
        }
        const cache = plain[lang];
        let v = cache.get(key);
        if (v === undefined) {
          v = ft(key) as string;
          if (cache.size < 10_000) cache.set(key, v);
        }
        return v;
      };
      return [lang, t as unknown as TFunction];
    }),
  ) as Record<Lang, TFunction>;
  return {
    t(lang: Lang): TFunction {
      return fixed[lang] ?? fixed[DEFAULT_LANG];
    },
    exists: (key: string, lang: Lang) => instance.exists(key, { lng: lang }),
    /** i18next itself, without the shortcuts above: the tests check both give the same text. */
    exact: (lang: Lang): TFunction => instance.getFixedT(lang),
  };
}
export type I18n = Awaited<ReturnType<typeof createI18n>>;

/** i18next options that change what is looked up or how: these calls always go through i18next. */
const SPECIAL_OPTIONS = new Set(['count', 'context', 'defaultValue', 'lng', 'lngs', 'ns', 'returnObjects', 'returnDetails', 'joinArrays', 'postProcess', 'interpolation', 'replace', 'ordinal', 'keySeparator', 'nsSeparator', 'fallbackLng', 'skipInterpolation']);

const pluralRules: Record<Lang, Intl.PluralRules> = { pl: new Intl.PluralRules('pl'), en: new Intl.PluralRules('en') };

/** Options with a whole, non-zero count and otherwise only values: a plural the fast path can fill. */
function isCountOptions(opts: unknown): opts is Record<string, unknown> & { count: number } {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) return false;
  const count = (opts as { count?: unknown }).count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count === 0) return false;
  for (const k in opts) if (k !== 'count' && (SPECIAL_OPTIONS.has(k) || k.startsWith('defaultValue'))) return false;
  return true;
}

function isSimpleOptions(opts: unknown): opts is Record<string, unknown> {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) return false;
  // A count passed without a value (a template's optional count="…") is no count at all to i18next.
  for (const k in opts) if ((SPECIAL_OPTIONS.has(k) && !(k === 'count' && (opts as { count?: unknown }).count === undefined)) || k.startsWith('defaultValue')) return false;
  return true;
}

// Making an Intl.DateTimeFormat costs far more than using one: one per language, made once.
const dateTimeFormats: Record<Lang, Intl.DateTimeFormat> = {
  pl: new Intl.DateTimeFormat('pl-PL', { timeZone: TIME_ZONE, dateStyle: 'medium', timeStyle: 'short' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, dateStyle: 'medium', timeStyle: 'short' }),
};

// Formatting a moment is far slower than looking it up (ICU, some 20 µs inside a busy request), and a
// page shows the same few moments to every request: each text is kept, up to a bound.
const formatted: Record<Lang, Map<string, string>> = { pl: new Map(), en: new Map() };
export function formatDateTime(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return '';
  const seen = formatted[lang] ?? formatted.pl;
  let text = seen.get(iso);
  if (text === undefined) {
    text = (dateTimeFormats[lang] ?? dateTimeFormats.pl).format(new Date(iso));
    if (seen.size >= 10_000) seen.clear();
    seen.set(iso, text);
  }
  return text;
}
