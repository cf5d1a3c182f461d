import Handlebars from 'handlebars';
import type { AppConfig, SupportConfig } from '../config.js';
import { DEFAULT_LANG, TIME_ZONE, type I18n, type Lang } from '../i18n/index.js';
import { deadlineMeansIn } from '../seller/deadline.js';

type HelperOptions = Handlebars.HelperOptions;
const langOf = (options: HelperOptions): Lang => options.data?.root?.lang ?? DEFAULT_LANG;

/**
 * An e-mail address or host name as HTML that a phone may wrap only after "@" and before the dots of
 * the domain, never in the middle of a word (CSS alone offers "anywhere", which gave "…@gmai l.com"),
 * never before the last dot ("…@gmail / .com" looked like a broken address), nor inside the name
 * before "@" ("anna / .nowak.sklep@gmail.com" read as two addresses), unless that name alone is too
 * long for a phone's line.
 */
export function wrapAddress(text: string): string {
  const at = text.lastIndexOf('@');
  const local = at > 0 ? text.slice(0, at + 1) : '';
  const domain = at > 0 ? text.slice(at + 1) : text;
  // No break point inside a short name (a hyphen in it is kept whole as in the domain's parts).
  const head = local ? `${local.length <= 30 ? wrapParts([local]) : wrapParts(local.split(/(?=\.[^\s.])/))}<wbr>` : '';
  const parts = domain.split(/(?=\.[^\s.])/);
  // The ending (".com", ".pl") stays with the name before it.
  if (parts.length >= 2) parts.splice(-2, 2, parts.at(-2)! + parts.at(-1)!);
  return head + wrapParts(parts);
}

function wrapParts(parts: string[]): string {
  return parts
    .map((part) => {
      const e = Handlebars.escapeExpression(part);
      // A browser also breaks after a hyphen ("biuro@meble-" / "olszewski.pl"): a hyphenated part
      // stays whole, unless it is too long for a phone's line anyway.
      return part.includes('-') && part.length <= 30 ? `<span class="nw">${e}</span>` : e;
    })
    .join('<wbr>');
}

/** What wrapAddressesIn treats as an address: characters of a word, "@", and a domain ending in ".xx". */
export const EMAIL_LIKE = /[^\s@<>()„”"',;:]+@[^\s@<>()„”"',;:]+\.[A-Za-z]{2,}/g;
// The same pattern matched only where it is asked to start (sticky), and what may stand in its name.
const EMAIL_AT = new RegExp(EMAIL_LIKE.source, 'y');
const NOT_IN_ADDRESS = /[\s@<>()„”"',;:]/;

/**
 * Escapes a text and gives every address in it its wrap points. The same matches as EMAIL_LIKE's
 * scan of the whole text, found faster: the pattern is tried only where an address around an "@"
 * can start (the beginning of the run of name characters before it), not at every character of
 * the text (a page calls this for a dozen texts, most of their words no address).
 */
export function wrapAddressesIn(text: string): string {
  let at = text.indexOf('@');
  if (at < 0) return Handlebars.escapeExpression(text);
  let out = '';
  let last = 0;
  while (at >= 0) {
    let start = at;
    while (start > last && !NOT_IN_ADDRESS.test(text[start - 1]!)) start--;
    EMAIL_AT.lastIndex = start;
    const m = start < at ? EMAIL_AT.exec(text) : null;
    if (m) {
      out += Handlebars.escapeExpression(text.slice(last, start)) + wrapAddress(m[0]);
      last = start + m[0].length;
    }
    at = text.indexOf('@', Math.max(at + 1, last));
  }
  return out + Handlebars.escapeExpression(text.slice(last));
}

const clock: Record<Lang, Intl.DateTimeFormat> = {
  pl: new Intl.DateTimeFormat('pl-PL', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit' }),
};
const day: Record<Lang, Intl.DateTimeFormat> = {
  pl: new Intl.DateTimeFormat('pl-PL', { timeZone: TIME_ZONE, day: 'numeric', month: 'long' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, day: 'numeric', month: 'long' }),
};
const longDate: Record<Lang, Intl.DateTimeFormat> = {
  pl: new Intl.DateTimeFormat('pl-PL', { timeZone: TIME_ZONE, day: 'numeric', month: 'long', year: 'numeric' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, day: 'numeric', month: 'long', year: 'numeric' }),
};
const ymd = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });

/**
 * A moment in the next hours as a person says it: "dziś o 14:05" / "today at 14:05", or with the day
 * when it is not today ("1 grudnia o 00:05"). Never a bare date in front of a number.
 */
export function formatWhen(iso: string, lang: Lang, i18n: I18n, now: Date = new Date()): string {
  const at = new Date(iso);
  const t = i18n.t(lang);
  const time = clock[lang].format(at);
  if (ymd.format(at) === ymd.format(now)) return t('when.today', { time });
  const tomorrow = new Date(now.getTime() + 24 * 3_600_000);
  if (ymd.format(at) === ymd.format(tomorrow)) return t('when.tomorrow', { time });
  return t('when.day', { day: day[lang].format(at), time });
}

/**
 * A mailto: link to support whose subject carries the error code and whose body carries it again with
 * the autoresponder's support number and any outside detail, so the reply can start from them; the
 * seller's page says none of it (no codes for sellers).
 */
export function contactHref(support: Pick<SupportConfig, 'email'>, i18n: I18n, lang: Lang, code?: string | null, ref?: string | null, detail?: string | null): string | null {
  if (!support.email) return null;
  const t = i18n.t(lang);
  const about = [ref ?? '', code ? t('support.subjectCode', { code }) : ''].filter(Boolean).join(', ');
  const subject = about ? t('support.mailSubjectAbout', { about }) : t('support.mailSubject');
  let body = t('support.mailBody');
  const facts = [ref ? t('support.mailRef', { ref }) : '', code ? t('support.mailCode', { code }) : '', detail ? t('support.mailDetail', { detail }) : ''].filter(Boolean);
  if (facts.length) body += `\n${t('support.mailFacts')}\n${facts.join('\n')}`;
  // encodeURIComponent, not URLSearchParams: mail apps show a "+" literally.
  return `mailto:${support.email}?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
}

/**
 * Polish typesetting: a one-letter word (a, i, o, u, w, z) never ends a line; it is bound to the next
 * word by a no-break space ("sp. z o.o." no longer breaks as "sp. z / o.o." on a phone).
 */
export function bindOneLetterWords(text: string): string {
  return text.replace(/(^|\s)([aiouwzAIOUWZ]) +(?=\S)/g, '$1$2\u00a0');
}

/** The footer's and every "contact support" text's data: who runs the service and where help is. */
export function supportPageData(config: Pick<AppConfig, 'support'>) {
  const s = config.support;
  return { operatorName: bindOneLetterWords(s.operatorName), email: s.email, helpUrl: s.url ?? '/help', externalHelp: !!s.url };
}

/**
 * The helpers of the seller pages' plain words: addresses that wrap at "@" and ".", texts with
 * addresses inside, the moment of the next try, the contact link with its code.
 */
export function registerSellerHelpers(hbs: typeof Handlebars, i18n: I18n, config: Pick<AppConfig, 'support' | 'migrationDeadlineMeans' | 'demo'>): void {
  // What happens on the deadline, in the operator's words and the page's language ('' when not configured).
  hbs.registerHelper('deadlineMeans', function (options: HelperOptions) {
    return deadlineMeansIn(config, i18n, langOf(options));
  });
  // An e-mail address or a host name with its wrap points (wrapAddress), on seller and staff pages alike.
  hbs.registerHelper('addr', (text: unknown) => new hbs.SafeString(typeof text === 'string' ? wrapAddress(text) : ''));
  // A translated text whose e-mail addresses wrap at "@" and "." (for text content, never attributes).
  hbs.registerHelper('tw', function (key: string, options: HelperOptions) {
    return new hbs.SafeString(wrapAddressesIn(String(i18n.t(langOf(options))(key, options.hash))));
  });
  // A day without the time ("31 marca 2027"), for deadlines.
  hbs.registerHelper('date', function (iso: unknown, options: HelperOptions) {
    return typeof iso === 'string' ? longDate[langOf(options)].format(new Date(iso)) : '';
  });
  // Names in Polish quotation marks, comma separated: „Podziękowanie”, „Zwroty”.
  hbs.registerHelper('quoted', function (names: unknown, options: HelperOptions) {
    const [open, close] = langOf(options) === 'pl' ? ['„', '”'] : ['“', '”'];
    return Array.isArray(names) ? names.map((n) => `${open}${String(n)}${close}`).join(', ') : '';
  });
  // A mailto: link with a prepared subject and body (to may be empty: the seller picks the recipient).
  hbs.registerHelper('mailto', (to: unknown, subject: unknown, body: unknown) =>
    `mailto:${typeof to === 'string' ? to : ''}?subject=${encodeURIComponent(String(subject ?? ''))}&body=${encodeURIComponent(String(body ?? ''))}`,
  );
  hbs.registerHelper('when', function (iso: unknown, options: HelperOptions) {
    return typeof iso === 'string' ? formatWhen(iso, langOf(options), i18n) : '';
  });
  // {{contactHref}} or {{contactHref code ref detail}}: Handlebars passes the options last, whatever came before.
  hbs.registerHelper('contactHref', function (...args: unknown[]) {
    const options = args.at(-1) as HelperOptions;
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    return contactHref(config.support, i18n, langOf(options), str(args.length > 1 ? args[0] : null), str(args.length > 2 ? args[1] : null), str(args.length > 3 ? args[2] : null)) ?? '';
  });
  // Staff pages show an outcome's code beside its name only when it is a code (MIG_ERR_…, MAIL_…),
  // not an outcome word such as "sent" (which printed "wysłano sent").
  hbs.registerHelper('isCode', (v: unknown) => typeof v === 'string' && /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(v));
}
