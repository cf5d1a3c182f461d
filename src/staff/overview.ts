import type { Repositories } from '../repositories/index.js';
import { LISTED_STATES, listUrl, PROVIDERS } from '../accounts/filter.js';
import { funnelModel } from './funnel.js';

const DAY = 86_400_000;
const W = 640;
const H = 260;
const PAD = { left: 56, right: 16, top: 16, bottom: 40 };

export interface ChartPoint {
  day: string;
  migrated: number;
  remaining: number;
}

export interface Chart {
  width: number;
  height: number;
  migratedPath: string;
  remainingPath: string;
  yTicks: { y: number; label: number }[];
  xTicks: { x: number; label: string }[];
  deadlineX: number | null;
  todayX: number;
  /** The same numbers as a table, for screen readers and for anyone who prefers numbers. */
  table: ChartPoint[];
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
 * Migrated vs remaining per day, as SVG paths computed here (no script in the page). "Remaining" is
 * today's listed total minus what had been migrated by that day; the x axis runs to the deadline when
 * it is ahead, so the distance left is visible.
 */
export function progressChart(repos: Repositories, now: Date, deadline: Date | null): Chart {
  const { listed, migratedByDay, firstDay } = repos.accounts.progress();
  const today = Date.parse(isoDay(now.getTime()));
  // At most 180 days back: older history is a straight line and would squeeze the recent weeks.
  // At least a week, so a new database still draws lines rather than a dot.
  const start = Math.min(today - 7 * DAY, Math.max(firstDay ? Date.parse(firstDay) : today, today - 180 * DAY, Date.parse(migratedByDay[0]?.day ?? isoDay(today)) - DAY));
  const end = Math.max(today, deadline ? Date.parse(isoDay(deadline.getTime())) : today, start + 7 * DAY);
  const perDay = new Map(migratedByDay.map((r) => [r.day, r.n]));
  let cumulative = migratedByDay.filter((r) => Date.parse(r.day) < start).reduce((n, r) => n + r.n, 0);
  const table: ChartPoint[] = [];
  for (let t = start; t <= today; t += DAY) {
    cumulative += perDay.get(isoDay(t)) ?? 0;
    table.push({ day: isoDay(t), migrated: cumulative, remaining: Math.max(0, listed - cumulative) });
  }
  // Round ticks: the axis goes up to a multiple of a 1-2-5 step (0/10/20/30/40, not 0/9/19/28/37).
  const yStep = niceStep(Math.max(1, listed), 4);
  const max = Math.max(yStep, Math.ceil(Math.max(1, listed) / yStep) * yStep);
  const x = (t: number) => PAD.left + ((t - start) / (end - start)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / max) * (H - PAD.top - PAD.bottom);
  const path = (key: 'migrated' | 'remaining') =>
    table.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(Date.parse(p.day)).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
  const yTicks = Array.from({ length: Math.round(max / yStep) + 1 }, (_, i) => i * yStep).map((v) => ({ y: Number(y(v).toFixed(1)), label: v }));
  // Dates evenly spaced by whole days: every 1, 2, 3, 7, 14… days from the first, at most 7 labels.
  const days = Math.round((end - start) / DAY);
  const xStep = X_STEPS.find((d) => days / d <= 6) ?? Math.ceil(days / 6);
  const xTicks = Array.from({ length: Math.floor(days / xStep) + 1 }, (_, i) => start + i * xStep * DAY).map((t) => ({
    x: Number(x(t).toFixed(1)),
    label: isoDay(t).slice(5).split('-').reverse().join('.'),
  }));
  return {
    width: W,
    height: H,
    migratedPath: path('migrated'),
    remainingPath: path('remaining'),
    yTicks,
    xTicks,
    deadlineX: deadline && deadline.getTime() >= start ? Number(x(Math.min(end, deadline.getTime())).toFixed(1)) : null,
    todayX: Number(x(today).toFixed(1)),
    // The table lists weekly points (and today), enough to read the trend without 180 rows.
    table: table.filter((_, i) => (table.length - 1 - i) % 7 === 0),
    max,
  };
}

/** The overview page: counts by state, version, provider and last error (each linking to the list), progress and deadline. */
export function overviewModel(repos: Repositories, now: Date, deadline: Date | null, opts: { lang: string; reminderMinDays: number } = { lang: 'pl', reminderMinDays: 3 }) {
  const counts = repos.accounts.counts();
  const listed = Object.entries(counts.state).filter(([s]) => s !== 'not_affected').reduce((n, [, c]) => n + c, 0);
  const migrated = (counts.state.switched_v3 ?? 0) + (counts.state.relinked_app_password ?? 0);
  return {
    counts: {
      state: [
        ...LISTED_STATES.map((s) => ({ key: s as string, n: counts.state[s] ?? 0, href: listUrl('/staff/accounts', { state: s }, {}) as string | null })),
        { key: 'not_affected', n: counts.state.not_affected ?? 0, href: null },
      ],
      version: ['1', '2', '3'].map((v) => ({ key: v, n: counts.version[v] ?? 0, href: listUrl('/staff/accounts', { version: Number(v) as 1 }, {}) })),
      provider: PROVIDERS.map((p) => ({ key: p, n: counts.provider[p] ?? 0, href: listUrl('/staff/accounts', { provider: p }, {}) })),
      code: Object.entries(counts.code).map(([k, n]) => ({ key: k, n, href: listUrl('/staff/accounts', { code: k }, {}) })),
    },
    listed,
    migrated,
    remaining: listed - migrated - (counts.state.reviewed ?? 0),
    chart: progressChart(repos, now, deadline),
    countdown: countdown(deadline, now),
    funnel: funnelModel(repos.funnel.counts(), opts),
  };
}
