import type { Repositories } from '../repositories/index.js';
import { codeFigures, headlineFigures, providerFigures, stateFigures, todoFigures, versionFigures, type Figure } from '../accounts/figures.js';
import { OUTAGE_DAYS } from '../accounts/filter.js';
import { funnelModel } from './funnel.js';

const DAY = 86_400_000;
const W = 640;
const H = 260;
const PAD = { left: 76, right: 16, top: 30, bottom: 40 };

export interface ChartPoint {
  day: string;
  migrated: number;
  awaiting: number;
}

export interface Chart {
  width: number;
  height: number;
  migratedPath: string;
  awaitingPath: string;
  yTicks: { y: number; label: number }[];
  xTicks: { x: number; label: string }[];
  deadlineX: number | null;
  /** The deadline's and today's dates, labelled on the chart (dd.mm). */
  deadlineLabel: string | null;
  todayX: number;
  todayLabel: string;
  /** Where "dziś" is anchored: after the line, or before it when the line is near the right edge. */
  todayAnchor: 'start' | 'end';
  /** The plot's left, top and bottom edges (the y ticks stand before it, "dziś" and the deadline above it). */
  left: number;
  top: number;
  bottom: number;
  /** The same numbers as a table, for screen readers and for anyone who prefers numbers. */
  table: ChartPoint[];
  /** Today's point, where both lines end: the description's "teraz" figures. */
  last: ChartPoint;
  max: number;
}

export interface Countdown {
  deadline: string;
  passed: boolean;
  days: number;
  hours: number;
}

/** Whole days and hours to the deadline (or since it passed). */
export function countdown(deadline: Date | null, now: Date): Countdown | null {
  if (!deadline) return null;
  const diff = deadline.getTime() - now.getTime();
  const abs = Math.abs(diff);
  return { deadline: deadline.toISOString(), passed: diff < 0, days: Math.floor(abs / DAY), hours: Math.floor((abs % DAY) / 3_600_000) };
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
/** A day as the chart labels it: dd.mm. */
const dayLabel = (t: number) => isoDay(t).slice(5).split('-').reverse().join('.');

/** Day steps for the chart's date labels. */
const X_STEPS = [1, 2, 3, 7, 14, 28, 56, 91];

/** A round step (1, 2 or 5 times a power of ten, at least 1) that splits 0…max into about `ticks` parts. */
export function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  if (raw <= 1) return 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/**
 * Migrated and awaiting the seller per day, as SVG paths computed here (no script in the page). Today's
 * point is the headline's two figures (src/accounts/figures.ts); on an earlier day, migrated is today's
 * figure less those migrated after that day, and awaiting is today's "covered by the migration"
 * (migrated + awaiting) less that. The x axis runs to the deadline when it is ahead, so the distance
 * left is visible.
 */
export function progressChart(repos: Repositories, now: Date, deadline: Date | null, figures: { migrated: number; awaiting: number }): Chart {
  const today = Date.parse(isoDay(now.getTime()));
  const { migratedByDay, firstDay, coveredAddedByDay } = repos.accounts.progress(isoDay(today - 180 * DAY));
  const covered = figures.migrated + figures.awaiting;
  // At most 180 days back: older history is a straight line and would squeeze the recent weeks.
  // At least a week, so a new database still draws lines rather than a dot.
  const start = Math.min(today - 7 * DAY, Math.max(firstDay ? Date.parse(firstDay) : today, today - 180 * DAY, Date.parse(migratedByDay[0]?.day ?? isoDay(today)) - DAY));
  const end = Math.max(today, deadline ? Date.parse(isoDay(deadline.getTime())) : today, start + 7 * DAY);
  // Counted back from today: migrated on a day = today's figure less those completed after that day.
  const perDay = new Map(migratedByDay.map((r) => [r.day, r.n]));
  let later = migratedByDay.filter((r) => Date.parse(r.day) > today).reduce((n, r) => n + r.n, 0);
  // Covered on a day: today's figure less the autoresponders whose migration record was made after it
  // (an import is counted from its own day, never back-filled into the days before it).
  const addedPerDay = new Map(coveredAddedByDay.map((r) => [r.day, r.n]));
  let addedLater = coveredAddedByDay.filter((r) => Date.parse(r.day) > today).reduce((n, r) => n + r.n, 0);
  const table: ChartPoint[] = [];
  for (let t = today; t >= start; t -= DAY) {
    // Today's point is the headline's figures themselves (a record dated "tomorrow" by a clock or time
    // zone is still today's), so the lines end where the description's "teraz" says.
    const migrated = t === today ? figures.migrated : Math.max(0, figures.migrated - later);
    const coveredThen = Math.max(migrated, covered - addedLater);
    table.unshift({ day: isoDay(t), migrated, awaiting: t === today ? figures.awaiting : Math.max(0, coveredThen - migrated) });
    later += perDay.get(isoDay(t)) ?? 0;
    addedLater += addedPerDay.get(isoDay(t)) ?? 0;
  }
  // Round ticks: the axis goes up to a multiple of a 1-2-5 step (0/10/20/30/40, not 0/9/19/28/37).
  const yStep = niceStep(Math.max(1, covered), 4);
  const max = Math.max(yStep, Math.ceil(Math.max(1, covered) / yStep) * yStep);
  const x = (t: number) => PAD.left + ((t - start) / (end - start)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / max) * (H - PAD.top - PAD.bottom);
  const path = (key: 'migrated' | 'awaiting') =>
    table.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(Date.parse(p.day)).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
  const yTicks = Array.from({ length: Math.round(max / yStep) + 1 }, (_, i) => i * yStep).map((v) => ({ y: Number(y(v).toFixed(1)), label: v }));
  // Dates evenly spaced by whole days: every 1, 2, 3, 7, 14… days from the first, at most 7 labels.
  const days = Math.round((end - start) / DAY);
  const xStep = X_STEPS.find((d) => days / d <= 6) ?? Math.ceil(days / 6);
  const xTicks = Array.from({ length: Math.floor(days / xStep) + 1 }, (_, i) => start + i * xStep * DAY).map((t) => ({
    x: Number(x(t).toFixed(1)),
    label: dayLabel(t),
  }));
  return {
    width: W,
    height: H,
    migratedPath: path('migrated'),
    awaitingPath: path('awaiting'),
    yTicks,
    xTicks,
    deadlineX: deadline && deadline.getTime() >= start ? Number(x(Math.min(end, deadline.getTime())).toFixed(1)) : null,
    todayX: Number(x(today).toFixed(1)),
    todayAnchor: x(today) > W - 140 ? 'end' : 'start',
    left: PAD.left,
    top: PAD.top,
    bottom: H - PAD.bottom,
    last: table[table.length - 1]!,
    todayLabel: dayLabel(today),
    deadlineLabel: deadline ? dayLabel(deadline.getTime()) : null,
    // The table lists weekly points (and today), enough to read the trend without 180 rows.
    table: table.filter((_, i) => (table.length - 1 - i) % 7 === 0),
    max,
  };
}

/**
 * The overview page: the headline, the funnel, the chart and the counts by state, version, provider and
 * last error. Every number is a figure of src/accounts/figures.ts: the total of the list it links to.
 */
export function overviewModel(repos: Repositories, now: Date, deadline: Date | null, opts: { lang: string; reminderMinDays: number } = { lang: 'pl', reminderMinDays: 3 }) {
  const src = repos.accounts;
  const headline = headlineFigures(src);
  const n = (key: string) => (headline.find((f) => f.key === key) as Figure).n;
  const todo = todoFigures(src, repos.watch.outages(new Date(now.getTime() - OUTAGE_DAYS * DAY)).map((o) => o.host));
  return {
    headline,
    // "Do zrobienia dziś": what needs someone today, each a figure (the total of the list it links to).
    todo: { ...todo, nothing: todo.reminderFailed.n + todo.reminderUncertain.n + todo.broke.n + todo.outages.length === 0 },
    counts: {
      state: stateFigures(src),
      version: versionFigures(src),
      provider: providerFigures(src),
      code: codeFigures(src, repos.accounts.codes()),
    },
    migrated: n('migrated'),
    awaiting: n('awaiting'),
    chart: progressChart(repos, now, deadline, { migrated: n('migrated'), awaiting: n('awaiting') }),
    countdown: countdown(deadline, now),
    funnel: funnelModel(src, repos.funnel.cohorts(), opts),
  };
}
