import { createHash } from 'node:crypto';
import { TIME_ZONE } from '../i18n/index.js';
import type { SendHours } from '../config.js';

/**
 * When the watch checks and when it may write: pure functions of the clock. Every watched
 * autoresponder has a slot in the interval (a stable hash of its id), so checks spread evenly over the
 * interval and stay where they were across restarts; e-mails go out only in the sending hours, in Poland.
 */

export const HOUR = 3_600_000;
/** Failing through no fault of the seller for this long is an outage on the staff overview. */
export const OUTAGE_AFTER_MS = 24 * HOUR;
/** Starts are counted over this window for pacing. */
export const PACE_WINDOW_MS = 60_000;
/** At least this many checks may start in a window, however few are watched (a handful is no burst). */
export const PACE_MIN = 10;

/** Where in the interval this autoresponder's check falls, in ms from the start of every interval (counted from the epoch). */
export function slotOffset(autoresponderId: number, intervalMs: number): number {
  const digest = createHash('sha256').update(`watch:${autoresponderId}`).digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(Math.max(1, Math.round(intervalMs))));
}

/** The first time after `after` at which this autoresponder's slot comes round. */
export function nextSlot(autoresponderId: number, intervalMs: number, after: Date): Date {
  const offset = slotOffset(autoresponderId, intervalMs);
  const t = after.getTime();
  let slot = Math.floor((t - offset) / intervalMs) * intervalMs + offset;
  while (slot <= t) slot += intervalMs;
  return new Date(slot);
}

/**
 * The wait before trying again a check that failed through no fault of the seller: doubling from an
 * eighth of the interval (at most 15 minutes), up to half the interval (at most 4 hours), with jitter,
 * so a mail host that is down is not hit by every mailbox at the same moment when it comes back.
 */
export function retryDelayMs(failures: number, intervalMs: number, random: () => number = Math.random): number {
  const base = Math.min(15 * 60_000, intervalMs / 8);
  const cap = Math.min(4 * HOUR, intervalMs / 2);
  const delay = Math.min(cap, base * 2 ** Math.max(0, failures - 1));
  return Math.round(delay / 2 + random() * (delay / 2));
}

/** How many checks may start in one pacing window: twice the even rate, so catching up after a stop is no burst. */
export function paceLimit(watched: number, intervalMs: number): number {
  return Math.max(PACE_MIN, Math.ceil((2 * watched * PACE_WINDOW_MS) / intervalMs));
}

// ---- sending hours (Europe/Warsaw) ----------------------------------------------------------------

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
