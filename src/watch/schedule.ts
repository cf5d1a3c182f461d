import { createHash } from 'node:crypto';

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

