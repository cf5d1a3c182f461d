import type { Db } from '../db/database.js';
import { hashPassword } from '../crypto/password.js';
import type { Actor } from '../domain/model.js';
import type { Repositories } from '../repositories/index.js';
import { STAFF_FAILURE_WINDOW_MS, STAFF_FAILURES_PER_ADDRESS } from './sign-in.js';

/**
 * An admin's help for a colleague who cannot sign in: whether the address is locked out (and until
 * when), lifting the lockout, and a new password. Each is audited in the transaction that makes it; a
 * new password ends every session of that user, so an old cookie (or whoever holds it) is signed out.
 */
export function createStaffAccessService(deps: { db: Db; repos: Pick<Repositories, 'staff' | 'sessions' | 'audit'>; now: () => Date }) {
  const { db, repos, now } = deps;
  return {
    /** Until when the address is locked out of sign-in (the sign-in's own rule, sign-in.ts), or null. */
    lockedUntil(email: string): Date | null {
      const f = repos.staff.failuresSince(email, new Date(now().getTime() - STAFF_FAILURE_WINDOW_MS));
      return f.n >= STAFF_FAILURES_PER_ADDRESS && f.oldest ? new Date(Date.parse(f.oldest) + STAFF_FAILURE_WINDOW_MS) : null;
    },

    /** Forgets the user's failed sign-ins; false when the user is unknown. */
    unlock(id: number, actor: Actor): boolean {
      return db.transaction(() => {
        const user = repos.staff.getById(id);
        if (!user) return false;
        const failuresCleared = repos.staff.clearFailures(user.email);
        repos.audit.record(actor, user.id, { action: 'staff.unlocked', details: { failuresCleared } });
        return true;
      })();
    },

    /** Sets a new password chosen by the admin, lifts the lockout and ends the user's sessions; false when unknown. */
    async setPassword(id: number, password: string, actor: Actor): Promise<boolean> {
      if (!repos.staff.getById(id)) return false;
      const hash = await hashPassword(password);
      return db.transaction(() => {
        const user = repos.staff.getById(id);
        if (!user || !repos.staff.setPassword(user.id, hash)) return false;
        repos.staff.clearFailures(user.email);
        const sessionsEnded = repos.sessions.destroyAllOf('staff', user.id);
        repos.audit.record(actor, user.id, { action: 'staff.password_set', details: { sessionsEnded } });
        return true;
      })();
    },
  };
}
export type StaffAccessService = ReturnType<typeof createStaffAccessService>;
