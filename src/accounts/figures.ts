/**
 * The support console's figures: every number the overview shows, defined once.
 *
 * A figure is a word (its catalog key), what it counts, and the list filter it links to. Its number
 * is the total of that list (`count(filter)`, the very function behind the list's "N autoresponderów"
 * and the bulk confirmation), so clicking a figure opens a list whose total is the same number. Every
 * figure counts autoresponders (rows of the staff list: all but those detection found not affected),
 * never sellers. Figures that count different things have different words; a word is one number
 * wherever it appears, and the list describes its filter with that word.
 *
 * Headline: the list split in three (listed = migrated + awaiting + reviewed)
 *   Do obsłużenia               staff.overview.listed              every listed autoresponder         (no filter)
 *   Zmigrowane                  staff.overview.groups.migrated     works again: switched to v3 or
 *                                                                  relinked with an app password      state=migrated
 *   Czeka na sprzedawcę         staff.overview.groups.awaiting     the seller still has something to
 *                                                                  do (AWAITING_SELLER_STATES)        state=awaiting
 *   Sprawdzone przez wsparcie   states.reviewed                    closed by support                  state=reviewed
 *
 * By state, version, provider, last error: one state, version, provider or error code each (states.*,
 *   staff.version, staff.providers.*, the code's name). "Nie wymaga zmian" counts the autoresponders
 *   left off the list, and links nowhere.
 *
 * Chart: today's point is the headline's Zmigrowane and Czeka na sprzedawcę. On an earlier day,
 *   Zmigrowane is today's figure less those migrated after that day, and Czeka na sprzedawcę is
 *   today's Objęte migracją less that day's Zmigrowane.
 *
 * Funnel ("Doszło": reached at least this step; no funnel figure counts a reviewed autoresponder)
 *   Objęte migracją             staff.overview.groups.in_migration zmigrowane + czeka na sprzedawcę   state=in_migration
 *   Przypomniano                staff.funnel.steps.reminded        the seller got a reminder (sent,
 *                                                                  or possibly arrived)               cohort=reminded
 *   Przypomniano, sprzedawca się zalogował (…steps.signed_in)      and signed in since the first one  reached=signed_in&cohort=reminded
 *   Przypomniano, sposób wybrany (…steps.chose)                    and a way (v3 or app password) is
 *                                                                  chosen, or it is migrated          reached=chose&cohort=reminded
 *   Przypomniano, zmigrowane    (…steps.done)                      and it is migrated now             reached=done&cohort=reminded
 *   "Zatrzymali się tu" (staff.funnel.stuckAt.*): reached a step and not the next: stage=not_reminded
 *   (no reminder, no sign-in), stage=reminded, stage=signed_in, stage=chose.
 *   Per week of the first reminder: the steps from Przypomniano on, and stage=reminded, with cohort=<Monday>.
 *   Bez przypomnienia, … (staff.funnel.unprompted.*): what sellers never reminded did on their own,
 *   reached=signed_in|chose|done&cohort=none.
 *
 * Watch: Zepsute po migracji (staff.watch.broke): the watch found a problem the seller must fix, still
 *   open, and the autoresponder needs attention (broke=1). The watch's other numbers (watched,
 *   retried, outages, e-mails) count its own schedule and e-mails, not list rows, and link nowhere.
 *
 * Do zrobienia dziś (staff.todo.*): what needs someone today, each the total of its list.
 *   Przypomnienie odrzucone na stałe  staff.todo.reminder.failed      still awaiting the seller; the mail
 *                                                                     server refused the reminder for good
 *                                                                     (MIG_ERR_SEND_REFUSED), none went out
 *                                                                     since                               reminder=failed
 *   Nie wiadomo, czy przypomnienie doszło  staff.todo.reminder.uncertain  still awaiting the seller; the
 *                                                                     newest reminder that may have reached
 *                                                                     them is uncertain (a resend is
 *                                                                     offered, one e-mail per seller)     reminder=uncertain
 *   Zepsute po migracji               staff.watch.broke               as above                            broke=1
 *   Awaria: <host>                    staff.todo.outage               the watch has failed on that mail
 *                                                                     host for at least a day             outage=<host>
 *
 * The numbers come from counters kept by triggers (account_counts for states, versions, providers and
 * codes; funnel_counts for the funnel's cells, src/repositories/funnel.ts; a few indexed rows for open
 * watch problems), so the overview reads a few small tables whatever the number of autoresponders.
 */
import { FUNNEL_REACHED, LISTED_STATES, listUrl, PROVIDERS, type AccountFilter, type FUNNEL_STAGES } from './filter.js';

/** What the figures are counted with: the staff list's exact total, and the unlisted count. */
export interface FigureSource {
  count(f: AccountFilter): number;
  unlisted(): number;
}

/** One figure as a page shows it: its word (a catalog key and its values), number and link. */
export interface Figure {
  /** Unique on a page: the word, its values and the cohort (one id, one number). */
  id: string;
  key: string;
  word: string;
  /** Values for the word's placeholders (a version's number). */
  vars?: Record<string, string | number>;
  n: number;
  /** The list this figure counts; null for the autoresponders not on the list. */
  href: string | null;
  filter: AccountFilter | null;
}

interface Definition {
  key: string;
  word: string;
  vars?: Record<string, string | number>;
  filter: AccountFilter;
}

const LIST = '/staff/accounts';

const idOf = (word: string, vars: Record<string, string | number> | undefined, filter: AccountFilter | null) =>
  [word, ...Object.values(vars ?? {}), filter?.cohort].filter((v) => v !== undefined).join('|');

function figure(src: FigureSource, d: Definition): Figure {
  return { ...d, id: idOf(d.word, d.vars, d.filter), n: src.count(d.filter), href: listUrl(LIST, d.filter, {}) };
}

/** The headline, in order; listed = migrated + awaiting + reviewed. */
export const HEADLINE: readonly Definition[] = [
  { key: 'listed', word: 'staff.overview.listed', filter: {} },
  { key: 'migrated', word: 'staff.overview.groups.migrated', filter: { state: 'migrated' } },
  { key: 'awaiting', word: 'staff.overview.groups.awaiting', filter: { state: 'awaiting' } },
  { key: 'reviewed', word: 'states.reviewed', filter: { state: 'reviewed' } },
];

/** The funnel's steps ("Doszło"), in order: each a subset of the one before. */
export const FUNNEL_STEPS = ['in_migration', 'reminded', ...FUNNEL_REACHED] as const;
export type FunnelStep = (typeof FUNNEL_STEPS)[number];

/** A step of the funnel: its word and list; from "reminded" on, reminded in any week or in the given one. */
function stepDefinition(step: FunnelStep, cohort = 'reminded'): Definition {
  if (step === 'in_migration') return { key: step, word: 'staff.overview.groups.in_migration', filter: { state: 'in_migration' } };
  if (step === 'reminded') return { key: step, word: 'staff.funnel.steps.reminded', filter: { cohort } };
  return { key: step, word: `staff.funnel.steps.${step}`, filter: { reached: step, cohort } };
}
/** Stopped at a step: reached it and not the next. The last step has none (its list is the step's own). */
const STUCK: Record<Exclude<FunnelStep, 'done'>, (typeof FUNNEL_STAGES)[number]> = { in_migration: 'not_reminded', reminded: 'reminded', signed_in: 'signed_in', chose: 'chose' };

const stuckDefinition = (stage: (typeof FUNNEL_STAGES)[number], cohort?: string): Definition => ({
  key: `stuck.${stage}`,
  word: `staff.funnel.stuckAt.${stage}`,
  filter: { stage, ...(cohort ? { cohort } : {}) },
});

/** The overview's headline figures. */
export const headlineFigures = (src: FigureSource): Figure[] => HEADLINE.map((d) => figure(src, d));

/** "Według stanu": every listed state, then the autoresponders detection found not affected (off the list). */
export function stateFigures(src: FigureSource): Figure[] {
  return [
    ...LISTED_STATES.map((s) => figure(src, { key: s, word: `states.${s}`, filter: { state: s } })),
    { id: 'states.not_affected', key: 'not_affected', word: 'states.not_affected', n: src.unlisted(), href: null, filter: null },
  ];
}

export const versionFigures = (src: FigureSource): Figure[] =>
  ([1, 2, 3] as const).map((v) => figure(src, { key: String(v), word: 'staff.version', vars: { version: v }, filter: { version: v } }));

export const providerFigures = (src: FigureSource): Figure[] => PROVIDERS.map((p) => figure(src, { key: p, word: `staff.providers.${p}`, filter: { provider: p } }));

/** By last error: the codes that occur (named on the page by their code), most frequent first. */
export const codeFigures = (src: FigureSource, codes: readonly string[]): Figure[] =>
  codes
    .map((c) => figure(src, { key: c, word: c, filter: { code: c } }))
    .filter((f) => f.n > 0)
    .sort((a, b) => b.n - a.n || (a.key < b.key ? -1 : 1));

export interface FunnelFigures {
  steps: { step: FunnelStep; reached: Figure; stuck: Figure | null }[];
  /** Per week of the first reminder, newest first: the steps from "reminded" on, and those reminded with no sign-in since. */
  cohorts: { week: string; steps: Record<Exclude<FunnelStep, 'in_migration'>, Figure>; stuck: Figure }[];
  /** What sellers never reminded did on their own. */
  unprompted: Record<'signed_in' | 'chose' | 'done', Figure>;
}

/** The funnel's figures: the steps reached and where accounts stopped, per cohort, and without a reminder. */
export function funnelFigures(src: FigureSource, cohorts: readonly string[]): FunnelFigures {
  const reminderSteps = (cohort: string) =>
    Object.fromEntries((['reminded', ...FUNNEL_REACHED] as const).map((s) => [s, figure(src, stepDefinition(s, cohort))])) as FunnelFigures['cohorts'][number]['steps'];
  return {
    steps: FUNNEL_STEPS.map((step) => ({
      step,
      reached: figure(src, stepDefinition(step)),
      stuck: step === 'done' ? null : figure(src, stuckDefinition(STUCK[step])),
    })),
    cohorts: cohorts.map((week) => ({ week, steps: reminderSteps(week), stuck: figure(src, stuckDefinition('reminded', week)) })),
    unprompted: Object.fromEntries(
      FUNNEL_REACHED.map((s) => [s, figure(src, { key: `unprompted.${s}`, word: `staff.funnel.unprompted.${s}`, filter: { reached: s, cohort: 'none' } })]),
    ) as FunnelFigures['unprompted'],
  };
}

/** The watch's one list figure: broke after migration, the seller must act. */
export const brokeFigure = (src: FigureSource): Figure => figure(src, { key: 'broke', word: 'staff.watch.broke', filter: { broke: true } });

/** "Do zrobienia dziś": reminders refused for good or uncertain, broke after migration, and each outage's host. */
export function todoFigures(src: FigureSource, outageHosts: readonly string[]): { reminderFailed: Figure; reminderUncertain: Figure; broke: Figure; outages: Figure[] } {
  return {
    reminderFailed: figure(src, { key: 'reminder.failed', word: 'staff.todo.reminder.failed', filter: { reminder: 'failed' } }),
    reminderUncertain: figure(src, { key: 'reminder.uncertain', word: 'staff.todo.reminder.uncertain', filter: { reminder: 'uncertain' } }),
    broke: brokeFigure(src),
    outages: [...new Set(outageHosts)].map((host) => figure(src, { key: `outage.${host}`, word: 'staff.todo.outage', vars: { host }, filter: { outage: host } })),
  };
}
