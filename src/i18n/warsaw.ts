/** Poland's time zone (the same as TIME_ZONE in ./index.ts, kept here so the database layer needs no i18next). */
const TIME_ZONE = 'Europe/Warsaw';

// Made at the first use: loading the time zone's data is a noticeable part of a server's start.
let offsetFormat: Intl.DateTimeFormat | undefined;
// Warsaw's offset changes only on a whole UTC hour, so it is looked up once per hour of the data: an
// export of 100,000 rows formats two times per row.
const offsets = new Map<string, number>();

/** Warsaw's UTC offset at an instant, in minutes (60 in winter, 120 in summer). */
export function offsetMinutes(d: Date): number {
  const hour = d.toISOString().slice(0, 13);
  let m = offsets.get(hour);
  if (m === undefined) {
    const name = (offsetFormat ??= new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, timeZoneName: 'longOffset' })).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? 'GMT';
    const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    m = match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
    if (offsets.size > 10_000) offsets.clear();
    offsets.set(hour, m);
  }
  return m;
}

/** Warsaw wall-clock date and time of an instant, with its UTC offset ("+01:00" in winter, "+02:00" in summer). */
export function warsawParts(d: Date): { date: string; time: string; offset: string } {
  const m = offsetMinutes(d);
  const local = new Date(d.getTime() + m * 60_000).toISOString();
  const abs = Math.abs(m);
  const offset = `${m < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return { date: local.slice(0, 10), time: local.slice(11, 19), offset };
}

/**
 * The Monday (a Warsaw date, "2026-11-16") of the week an instant falls in, in Warsaw time: the cohort of
 * the migration funnel. Registered as the SQL function warsaw_week() on every connection.
 */
export function warsawWeek(iso: unknown): string | null {
  if (typeof iso !== 'string' || iso === '') return null;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  const local = new Date(d.getTime() + offsetMinutes(d) * 60_000);
  const monday = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - ((local.getUTCDay() + 6) % 7)));
  return monday.toISOString().slice(0, 10);
}
