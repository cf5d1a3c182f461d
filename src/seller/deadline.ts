import type { AppConfig } from '../config.js';
import { TIME_ZONE, type I18n, type Lang } from '../i18n/index.js';

const ymd = new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' });
/** Whole calendar days in Poland between two moments (a deadline at 23:59 today is 0 days away). */
function calendarDays(from: Date, to: Date): number {
  const day = (d: Date) => Date.parse(`${ymd.format(d)}T00:00:00Z`);
  return Math.round((day(to) - day(from)) / 86_400_000);
}

/**
 * The migration deadline (MIGRATION_DEADLINE) as a seller reads it: the date, and how many days are
 * left, counted in Polish calendar days; null when no deadline is configured.
 */
export function deadlineModel(deadline: Date | null, now: Date) {
  if (!deadline) return null;
  const passed = deadline.getTime() <= now.getTime();
  const days = calendarDays(now, deadline);
  return { at: deadline.toISOString(), passed, today: !passed && days === 0, daysLeft: Math.max(0, days) };
}

/**
 * What happens on the deadline, in the seller's language: the operator's sentence
 * (MIGRATION_DEADLINE_MEANS_PL/_EN), or in the demo its marked example; '' when there is neither
 * (nothing is made up for a real service).
 */
export function deadlineMeansIn(config: Pick<AppConfig, 'migrationDeadlineMeans' | 'demo'>, i18n: I18n, lang: Lang): string {
  return config.migrationDeadlineMeans?.[lang] ?? (config.demo ? i18n.t(lang)('migration.deadline.demoMeans') : '');
}
