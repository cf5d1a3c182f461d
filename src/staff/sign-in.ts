import type { Db } from '../db/database.js';
import { dummyHash, verifyPassword } from '../crypto/password.js';
import type { Repositories } from '../repositories/index.js';

/** Failed sign-ins per address in the window before that address is locked out for the rest of it. */
export const STAFF_FAILURES_PER_ADDRESS = 5;
export const STAFF_FAILURE_WINDOW_MS = 15 * 60_000;

export type StaffSignInResult =
  | { ok: true; staffId: number }
  | { ok: false; reason: 'wrong'; staffId: number | null }
  | { ok: false; reason: 'locked'; retryAt: Date };

/**
 * Staff sign-in with e-mail and password, and its per-address lockout. The attempt is reserved (as a
 * failure) in one synchronous transaction before the slow password check, so concurrent requests
 * for one address can never check more than STAFF_FAILURES_PER_ADDRESS passwords in a window; a
 * successful attempt takes back only its own reservation, and earlier failures stay on record.
 */
export function createStaffSignInService(deps: { db: Db; repos: Repositories; now: () => Date }) {
  const { db, repos, now } = deps;

  const reserve = db.transaction((email: string): { ok: true; attemptId: number } | { ok: false; retryAt: Date } => {
    const failures = repos.staff.failuresSince(email, new Date(now().getTime() - STAFF_FAILURE_WINDOW_MS));
    if (failures.n >= STAFF_FAILURES_PER_ADDRESS) return { ok: false, retryAt: new Date(Date.parse(failures.oldest!) + STAFF_FAILURE_WINDOW_MS) };
    return { ok: true, attemptId: repos.staff.recordFailure(email) };
  });

  return {
    /** Checks the password (an unknown or disabled address is checked against a dummy hash: same time, same answer). */
    async signIn(email: string, password: string): Promise<StaffSignInResult> {
      const reservation = reserve(email);
      if (!reservation.ok) return { ok: false, reason: 'locked', retryAt: reservation.retryAt };
      const user = repos.staff.findByEmail(email);
      const usable = !!user && !user.disabledAt;
      const hash = usable ? repos.staff.passwordHash(user.id)! : await dummyHash();
      const ok = (await verifyPassword(password, hash)) && usable;
      if (!ok) return { ok: false, reason: 'wrong', staffId: user?.id ?? null };
      db.transaction(() => {
        repos.staff.forgetAttempt(reservation.attemptId);
        repos.audit.record({ type: 'staff', id: user.id }, user.id, { action: 'staff.signed_in' });
      })();
      return { ok: true, staffId: user.id };
    },

    signedOut(staffId: number): void {
      repos.audit.record({ type: 'staff', id: staffId }, staffId, { action: 'staff.signed_out' });
    },
  };
}
export type StaffSignInService = ReturnType<typeof createStaffSignInService>;
