import { provesNothingAboutPassword } from '../mail/classify.js';

/**
 * Google locks an account that fails too often. Every login the app makes with a mailbox's
 * credential — the seller's wizard, "Pobierz e-maile", a staff re-check, the watch — counts against
 * one budget per mailbox: at most MAX_VERIFICATIONS logins that Google judged (accepted or refused)
 * per window. A login that never reached a verdict (unreachable server, TLS, Google's own error, Google's
 * temporary "too many connections / logins" — see
 * provesNothingAboutPassword) cannot lock the account and is not counted, but every login, whatever
 * its outcome, counts against MAX_CHECKS, so the form cannot be used to hammer a server that is down.
 * A login still running counts as judged: it may yet be.
 */
export const MAX_VERIFICATIONS = 5;
export const VERIFICATION_WINDOW_MS = 15 * 60_000;
export const MAX_CHECKS = 15;

export interface AttemptBudget {
  /** Counted logins in the window (those that proved nothing about the password are not). */
  used: number;
  remaining: number;
  /** When the budget opens again, if it is used up. */
  retryAt: string | null;
  /** What is used up: the counted logins, or (rarely) the logins of any outcome. */
  exhausted: 'attempts' | 'checks' | null;
}

export interface LoginRow {
  ok: boolean;
  code: string | null;
  running: boolean;
  /** When the login started (ISO). */
  at: string;
}

/** The budget of one mailbox from its logins in the window, newest first. Pure. */
export function budgetOf(recent: readonly LoginRow[], nowMs: number): AttemptBudget {
  const since = nowMs - VERIFICATION_WINDOW_MS;
  const inWindow = recent.filter((c) => Date.parse(c.at) > since);
  const counted = inWindow.filter((c) => c.running || c.ok || !provesNothingAboutPassword(c.code));
  // The window opens when the oldest login that still fills it expires.
  const opensAt = (rows: readonly LoginRow[], max: number) => new Date(Date.parse(rows[max - 1]!.at) + VERIFICATION_WINDOW_MS).toISOString();
  const exhausted = counted.length >= MAX_VERIFICATIONS ? 'attempts' : inWindow.length >= MAX_CHECKS ? 'checks' : null;
  return {
    used: counted.length,
    remaining: exhausted ? 0 : MAX_VERIFICATIONS - counted.length,
    retryAt: exhausted === 'attempts' ? opensAt(counted, MAX_VERIFICATIONS) : exhausted === 'checks' ? opensAt(inWindow, MAX_CHECKS) : null,
    exhausted,
  };
}
