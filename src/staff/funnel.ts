import type { FunnelCount } from '../repositories/funnel.js';
import { listUrl, type AccountFilter } from '../accounts/filter.js';

type Step = FunnelCount['step'];
type Tally = Record<Exclude<Step, 'excluded'>, number>;
const empty = (): Tally => ({ affected: 0, signed_in: 0, chose: 0, done: 0 });

/** The funnel's steps, in order; each is "reached at least this far". */
export const FUNNEL_STEPS = ['affected', 'reminded', 'signed_in', 'chose', 'done'] as const;
export type FunnelStep = (typeof FUNNEL_STEPS)[number];

export interface FunnelNumbers {
  affected: number;
  reminded: number;
  signed_in: number;
  chose: number;
  done: number;
}

/** Reached at least each step, from the accounts' furthest steps: the reminded ones (r) and, for "affected", the others too (o). */
function reached(r: Tally, o: Tally): FunnelNumbers {
  return {
    affected: r.affected + r.signed_in + r.chose + r.done + o.affected + o.signed_in + o.chose + o.done,
    reminded: r.affected + r.signed_in + r.chose + r.done,
    signed_in: r.signed_in + r.chose + r.done,
    chose: r.chose + r.done,
    done: r.done,
  };
}

/**
 * The migration funnel of the overview: affected → reminded → signed in → chose a way → done, with the
 * count reaching each step, the conversion from the step before, and a link to the list of the accounts
 * stuck at that step; the same per week of the sellers' first reminder; and what sellers did without
 * a reminder. Accounts that are not affected or were closed by support (reviewed) are left out.
 * Reads the maintained counters only (repositories/funnel.ts), so it costs the same at any size.
 */
export function funnelModel(counts: FunnelCount[], opts: { lang: string; reminderMinDays: number }) {
  const pct = new Intl.NumberFormat(opts.lang === 'en' ? 'en-GB' : 'pl-PL', { style: 'percent', maximumFractionDigits: 0 });
  const rate = (n: number, of: number) => (of > 0 ? pct.format(n / of) : '—');
  const label = weekLabel(opts.lang);
  const never = empty();
  const byCohort = new Map<string, Tally>();
  for (const c of counts) {
    if (c.step === 'excluded') continue;
    if (c.cohort === '') never[c.step] += c.n;
    else {
      const t = byCohort.get(c.cohort) ?? empty();
      t[c.step] += c.n;
      byCohort.set(c.cohort, t);
    }
  }
  const reminded = empty();
  for (const t of byCohort.values()) for (const k of Object.keys(reminded) as (keyof Tally)[]) reminded[k] += t[k];
  const total = reached(reminded, never);
  const stuckLink = (stage: NonNullable<AccountFilter['stage']>, extra: AccountFilter = {}) => listUrl('/staff/accounts', { stage, ...extra }, {});
  // Stuck at a step: reached it and not the next one.
  const stuck: Record<FunnelStep, number> = { affected: never.affected, reminded: reminded.affected, signed_in: reminded.signed_in, chose: reminded.chose, done: reminded.done };
  const stage: Record<FunnelStep, NonNullable<AccountFilter['stage']>> = { affected: 'not_reminded', reminded: 'reminded', signed_in: 'signed_in', chose: 'chose', done: 'done' };
  const steps = FUNNEL_STEPS.map((key, i) => {
    const prev = i === 0 ? null : FUNNEL_STEPS[i - 1]!;
    return {
      key,
      n: total[key],
      conversion: prev ? rate(total[key], total[prev]) : null,
      share: rate(total[key], total.affected),
      // The bar's width: this step against the first, in whole percent.
      width: total.affected ? Math.round((total[key] / total.affected) * 100) : 0,
      stuck: stuck[key],
      stuckHref: stuckLink(stage[key]),
    };
  });
  const cohorts = [...byCohort.entries()]
    .sort(([a], [b]) => (a < b ? 1 : -1))
    .map(([week, t]) => {
      const n = reached(t, empty());
      return {
        week,
        weekLabel: label(week),
        reminded: n.reminded,
        signedIn: n.signed_in,
        chose: n.chose,
        done: n.done,
        signedInRate: rate(n.signed_in, n.reminded),
        choseRate: rate(n.chose, n.reminded),
        doneRate: rate(n.done, n.reminded),
        href: listUrl('/staff/accounts', { cohort: week }, {}),
        stuckHref: stuckLink('reminded', { cohort: week }),
        stuck: t.affected,
      };
    });
  return {
    steps,
    total,
    overall: rate(total.done, total.reminded),
    cohorts,
    // Progress without any reminder (the seller came on their own).
    unprompted: { signedIn: never.signed_in + never.chose + never.done, chose: never.chose + never.done, done: never.done },
    // The reminded sellers who have not signed in since and could be reminded again now.
    remindAgainHref: stuckLink('reminded', { remindedDays: opts.reminderMinDays }),
    remindAgainDays: opts.reminderMinDays,
  };
}

/** "9 lis 2026": how a cohort's Monday is shown (the value in URLs stays 2026-11-09). */
export function weekLabel(lang: string): (week: string) => string {
  const f = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'pl-PL', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  return (week) => f.format(new Date(`${week}T00:00:00Z`));
}
