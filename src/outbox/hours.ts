import { TIME_ZONE } from '../i18n/index.js';
import type { SendHours } from '../config.js';

/**
 * The hours in which the app writes to sellers on its own (the watch's e-mails): never at night, in
 * Poland's time, across the clock changes. Pure functions of the clock.
 */
export type { SendHours };

const parts = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', hourCycle: 'h23' });
const offsets = new Intl.DateTimeFormat('en', { timeZone: TIME_ZONE, timeZoneName: 'longOffset' });

function warsaw(d: Date): { y: number; m: number; d: number; h: number } {
  const p = Object.fromEntries(parts.formatToParts(d).map((x) => [x.type, x.value]));
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day), h: Number(p.hour) };
}

/** Poland's offset from UTC at an instant, in minutes (60 in winter, 120 in summer). */
function offsetMinutes(d: Date): number {
  const name = offsets.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

/** The instant at which clocks in Poland show the given day and hour. */
function warsawTime(y: number, m: number, d: number, h: number): Date {
  const wall = Date.UTC(y, m - 1, d, h);
  let t = wall - offsetMinutes(new Date(wall)) * 60_000;
  t = wall - offsetMinutes(new Date(t)) * 60_000; // once more, for the nights the clocks change
  return new Date(t);
}

export function inSendHours(at: Date, hours: SendHours): boolean {
  const h = warsaw(at).h;
  return h >= hours.from && h < hours.to;
}

/** `at` itself when it is within the sending hours, else the next time they begin. */
export function nextSendTime(at: Date, hours: SendHours): Date {
  if (hours.from <= 0 && hours.to >= 24) return at;
  const w = warsaw(at);
  if (w.h >= hours.from && w.h < hours.to) return at;
  if (w.h < hours.from) return warsawTime(w.y, w.m, w.d, hours.from);
  const next = new Date(Date.UTC(w.y, w.m - 1, w.d + 1));
  return warsawTime(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), hours.from);
}
