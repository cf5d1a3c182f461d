import type { Repositories } from '../repositories/index.js';
import { brokeFigure } from '../accounts/figures.js';
import { MIGRATED_STATES } from '../migration/states.js';
import { TIME_ZONE, type Lang } from '../i18n/index.js';
import { OUTAGE_AFTER_MS } from './schedule.js';

/** How many past problems of one autoresponder its card shows. */
const HISTORY_PER_AUTORESPONDER = 3;

// "12 grudnia" / "12 December": made once per language (and with the year, for another year).
const dayFormats: Record<Lang, { short: Intl.DateTimeFormat; long: Intl.DateTimeFormat; year: Intl.DateTimeFormat }> = {
  pl: {
    short: new Intl.DateTimeFormat('pl-PL', { timeZone: TIME_ZONE, day: 'numeric', month: 'long' }),
    long: new Intl.DateTimeFormat('pl-PL', { timeZone: TIME_ZONE, day: 'numeric', month: 'long', year: 'numeric' }),
    year: new Intl.DateTimeFormat('pl-PL', { timeZone: TIME_ZONE, year: 'numeric' }),
  },
  en: {
    short: new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, day: 'numeric', month: 'long' }),
    long: new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, day: 'numeric', month: 'long', year: 'numeric' }),
    year: new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, year: 'numeric' }),
  },
};

/** A day as people say it ("12 grudnia"), with the year only when it is not this year. */
export function formatDay(iso: string, lang: Lang, now: Date): string {
  const f = dayFormats[lang] ?? dayFormats.pl;
  const d = new Date(iso);
  return f.year.format(d) === f.year.format(now) ? f.short.format(d) : f.long.format(d);
}

const clockFormats: Record<Lang, Intl.DateTimeFormat> = {
  pl: new Intl.DateTimeFormat('pl-PL', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit' }),
};

/**
 * A moment as people say it, day and time ("7 grudnia o 17:01"): the history's lines carry the time
 * as the watch's e-mail does ("Od 7 gru 2026, 17:01"), so two events of one day are told apart.
 */
export function formatMoment(iso: string, lang: Lang, now: Date): string {
  const time = (clockFormats[lang] ?? clockFormats.pl).format(new Date(iso));
  return `${formatDay(iso, lang, now)} ${lang === 'en' ? 'at' : 'o'} ${time}`;
}

export interface HistoryEntry {
  /** Message key and its values, for the card. */
  key: 'watch.history.fixed' | 'watch.history.broken';
  workedUntil: string;
  fixedOn: string | null;
  reasonKey: string;
}

/**
 * The seller's page: for each autoresponder, what the watch saw ("działało do 12 grudnia, naprawione
 * 13 grudnia"), newest first. A problem the seller fixed shows as fixed at once, even before the
 * watch's next check has closed it.
 */
export function sellerHistory(repos: Repositories, sellerId: number, lang: Lang, now: Date): Record<number, HistoryEntry[]> {
  const out: Record<number, HistoryEntry[]> = {};
  for (const i of repos.watch.incidentsOfSeller(sellerId)) {
    // A problem that changed into another one is told as the one it became.
    if (i.resolution === 'changed') continue;
    const list = (out[i.autoresponderId] ??= []);
    if (list.length >= HISTORY_PER_AUTORESPONDER) continue;
    let fixedAt = i.resolution === 'check_passed' || i.resolution === 'migrated_again' ? i.resolvedAt : null;
    if (!i.resolvedAt) {
      const m = repos.migrations.findByAutoresponder(i.autoresponderId);
      if (m && (MIGRATED_STATES as readonly string[]).includes(m.state) && m.completedAt && m.completedAt >= i.foundAt) fixedAt = m.completedAt;
    }
    if (i.resolution === 'not_watched') continue;
    list.push({
      key: fixedAt ? 'watch.history.fixed' : 'watch.history.broken',
      workedUntil: formatMoment(i.workedUntil ?? i.foundAt, lang, now),
      fixedOn: fixedAt ? formatMoment(fixedAt, lang, now) : null,
      // "Przyczyna: …" names a cause; the reason's own text for Allegro is what to do, not why.
      reasonKey: i.reason === 'authorize_again' ? 'watch.history.causeAuthorizeAgain' : `reasons.${i.reason}`,
    });
  }
  return out;
}

/**
 * The problem the watch found on one of these autoresponders and nobody has fixed yet: what the page
 * its e-mail's link opens says first (when it last worked, why, what to do there). Gone as soon as
 * the seller has migrated again, like the history's "naprawione".
 */
export function openProblem(repos: Repositories, autoresponderIds: number[], path: 'mailbox' | 'allegro'): { workedUntil: string; reason: string } | null {
  for (const id of autoresponderIds) {
    const i = repos.watch.openIncident(id);
    // Each page tells only its own problem: the wizard a mailbox's, the Allegro consent an authorization's.
    if (!i || (i.reason === 'authorize_again') !== (path === 'allegro')) continue;
    // Still broken: not fixed meanwhile, and not on its way to the other fix (the seller chose to switch).
    if (repos.migrations.findByAutoresponder(id)?.state !== 'needs_attention') continue;
    return { workedUntil: i.workedUntil ?? i.foundAt, reason: i.reason };
  }
  return null;
}

/**
 * The staff overview's block: what broke after migration (sellers must act; a figure of
 * src/accounts/figures.ts, the total of the list it links to) and what is an outage (nobody's fault but
 * a server's).
 */
export function watchOverview(repos: Repositories, now: Date, opts: { enabled: boolean; intervalMs: number }) {
  const dayAgo = new Date(now.getTime() - OUTAGE_AFTER_MS);
  const broke = brokeFigure(repos.accounts);
  return {
    enabled: opts.enabled,
    intervalHours: opts.intervalMs / 3_600_000,
    watched: repos.watch.count(),
    broke: broke.n,
    brokeHref: broke.href,
    brokeId: broke.id,
    outages: repos.watch.outages(dayAgo),
    retrying: repos.watch.retrying(dayAgo),
    notices: repos.watch.noticeCounts(),
  };
}
