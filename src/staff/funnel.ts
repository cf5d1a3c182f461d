import { listUrl } from '../accounts/filter.js';
import { funnelFigures, type FigureSource } from '../accounts/figures.js';

/**
 * The migration funnel of the overview: covered by the migration → reminded → signed in → chose a way
 * → migrated, with the number reaching each step, the conversion from the step before, and a link to
 * the accounts that stopped at that step; the same per week of the sellers' first reminder; and what
 * sellers did without a reminder. Every number is a figure of src/accounts/figures.ts (the total of
 * the list it links to, read from the counters), so it costs the same at any size.
 */
export function funnelModel(src: FigureSource, cohorts: readonly string[], opts: { lang: string; reminderMinDays: number }) {
  const pct = new Intl.NumberFormat(opts.lang === 'en' ? 'en-GB' : 'pl-PL', { style: 'percent', maximumFractionDigits: 0 });
  const rate = (n: number, of: number) => (of > 0 ? pct.format(n / of) : '—');
  const label = weekLabel(opts.lang);
  const f = funnelFigures(src, cohorts);
  const first = f.steps[0]!.reached.n;
  const steps = f.steps.map(({ step, reached, stuck }, i) => ({
    step,
    ...reached,
    conversion: i === 0 ? null : rate(reached.n, f.steps[i - 1]!.reached.n),
    share: rate(reached.n, first),
    // The bar's width: this step against the first, in whole percent.
    width: first ? Math.round((reached.n / first) * 100) : 0,
    stuck,
  }));
  const reminded = f.steps.find((s) => s.step === 'reminded')!.reached.n;
  const done = f.steps.find((s) => s.step === 'done')!.reached.n;
  return {
    steps,
    overall: rate(done, reminded),
    cohorts: f.cohorts.map((c) => ({
      week: c.week,
      weekLabel: label(c.week),
      reminded: c.steps.reminded,
      // Each step with its share of those reminded that week.
      later: (['signed_in', 'chose', 'done'] as const).map((s) => ({ ...c.steps[s], step: s, rate: rate(c.steps[s].n, c.steps.reminded.n) })),
      stuck: c.stuck,
    })),
    unprompted: [f.unprompted.signed_in, f.unprompted.chose, f.unprompted.done],
    // The reminded sellers who have not signed in since and could be reminded again now.
    remindAgainHref: listUrl('/staff/accounts', { stage: 'reminded', remindedDays: opts.reminderMinDays }, {}),
    remindAgainDays: opts.reminderMinDays,
  };
}

/** "9 lis 2026": how a cohort's Monday is shown (the value in URLs stays 2026-11-09). */
export function weekLabel(lang: string): (week: string) => string {
  const f = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'pl-PL', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
  return (week) => f.format(new Date(`${week}T00:00:00Z`));
}
