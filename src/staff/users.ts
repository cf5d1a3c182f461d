import type { Db } from '../db/database.js';
import { hashPassword } from '../crypto/password.js';
import type { Actor } from '../domain/model.js';
import type { Repositories } from '../repositories/index.js';
import type { StaffRole } from '../domain/model.js';

export type StaffUserChange = { ok: true } | { ok: false; reason: 'not_found' | 'last_admin' };

/**
 * Staff accounts, managed by admins: create, change role, disable and enable. The last active admin
 * can neither be demoted nor disabled (the console would have no one to manage it), and disabling an
 * account ends all of its sessions at once, so enabling it again does not bring an old cookie back;
 * so does a new password.
 */
export function createStaffUsersService(deps: { db: Db; repos: Repositories }) {
  const { db, repos } = deps;
  return {
    list: () => repos.staff.list(),

    /** Creates an account; false when the address is already taken. */
    async create(input: { email: string; role: StaffRole; password: string }, actor: Actor): Promise<boolean> {
      if (repos.staff.findByEmail(input.email)) return false;
      const passwordHash = await hashPassword(input.password);
      return db.transaction(() => {
        // Checked again: another admin may have created it while the hash was being computed.
        if (repos.staff.findByEmail(input.email)) return false;
        const { id } = repos.staff.upsert({ email: input.email, passwordHash, role: input.role });
        repos.audit.record(actor, id, { action: 'staff.created', details: { email: input.email, role: input.role } });
        return true;
      })();
    },

    change(id: number, change: { role?: StaffRole; disabled?: boolean }, actor: Actor): StaffUserChange {
      return db.transaction((): StaffUserChange => {
        const user = repos.staff.getById(id);
        if (!user) return { ok: false, reason: 'not_found' };
        const losesAdmin = user.role === 'admin' && !user.disabledAt && ((change.role && change.role !== 'admin') || change.disabled === true);
        if (losesAdmin && repos.staff.activeAdmins() <= 1) return { ok: false, reason: 'last_admin' };
        if (change.role && change.role !== user.role) {
          repos.staff.setRole(user.id, change.role);
          repos.audit.record(actor, user.id, { action: 'staff.role_changed', details: { from: user.role, to: change.role } });
        }
        if (change.disabled !== undefined && change.disabled !== !!user.disabledAt) {
          repos.staff.setDisabled(user.id, change.disabled);
          const ended = change.disabled ? repos.sessions.destroyAllOf('staff', user.id) : 0;
          repos.audit.record(actor, user.id, change.disabled ? { action: 'staff.disabled', details: { sessionsEnded: ended } } : { action: 'staff.enabled' });
        }
        return { ok: true };
      })();
    },
  };
}
export type StaffUsersService = ReturnType<typeof createStaffUsersService>;
