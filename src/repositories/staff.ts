import type { Db } from '../db/database.js';
import { STAFF_ROLES, type StaffRole, type StaffUser } from '../domain/model.js';

const COLUMNS = `id, email, role, disabled_at AS disabledAt, created_at AS createdAt, updated_at AS updatedAt`;

/** Support staff accounts. The password hash is read only for sign-in, never with the account. */
export function createStaffRepository(db: Db, now: () => Date = () => new Date()) {
  const byId = db.prepare(`SELECT ${COLUMNS} FROM staff_users WHERE id = ?`);
  const byEmail = db.prepare(`SELECT ${COLUMNS} FROM staff_users WHERE email = ?`);
  const hashOf = db.prepare(`SELECT password_hash FROM staff_users WHERE id = ?`).pluck();
  const all = db.prepare(`SELECT ${COLUMNS} FROM staff_users ORDER BY email`);
  const insert = db.prepare(
    `INSERT INTO staff_users (email, password_hash, role, created_at, updated_at) VALUES (@email, @passwordHash, @role, @at, @at)`,
  );
  const update = db.prepare(
    `UPDATE staff_users SET password_hash = @passwordHash, role = @role, disabled_at = NULL, updated_at = @at WHERE id = @id`,
  );
  const count = db.prepare(`SELECT count(*) FROM staff_users`).pluck();
  const setPassword = db.prepare(`UPDATE staff_users SET password_hash = ?, updated_at = ? WHERE id = ?`);
  const setRole = db.prepare(`UPDATE staff_users SET role = ?, updated_at = ? WHERE id = ?`);
  const setDisabled = db.prepare(`UPDATE staff_users SET disabled_at = ?, updated_at = ? WHERE id = ?`);
  const fail = db.prepare(`INSERT INTO staff_sign_in_failures (email, at) VALUES (?, ?)`);
  const failures = db.prepare(`SELECT count(*) AS n, min(at) AS oldest FROM staff_sign_in_failures WHERE email = ? AND at > ?`);
  const forgetAttempt = db.prepare(`DELETE FROM staff_sign_in_failures WHERE rowid = ?`);
  const purgeFailures = db.prepare(`DELETE FROM staff_sign_in_failures WHERE at <= ?`);
  const clearFailures = db.prepare(`DELETE FROM staff_sign_in_failures WHERE email = ?`);
  const admins = db.prepare(`SELECT count(*) FROM staff_users WHERE role = 'admin' AND disabled_at IS NULL`).pluck();
  return {
    getById: (id: number) => byId.get(id) as StaffUser | undefined,
    findByEmail: (email: string) => byEmail.get(email.trim()) as StaffUser | undefined,
    passwordHash: (id: number) => hashOf.get(id) as string | undefined,
    list: () => all.all() as StaffUser[],
    count: () => count.get() as number,
    activeAdmins: () => admins.get() as number,
    /** Forgets every failed sign-in of an address: an admin's unlock. */
    clearFailures: (email: string) => clearFailures.run(email.trim().slice(0, 254)).changes,
    setPassword: (id: number, passwordHash: string) => setPassword.run(passwordHash, now().toISOString(), id).changes === 1,
    setRole: (id: number, role: StaffRole) => setRole.run(role, now().toISOString(), id),
    setDisabled: (id: number, disabled: boolean) => setDisabled.run(disabled ? now().toISOString() : null, now().toISOString(), id),
    /** Records a failed (or reserved, not yet checked) sign-in per address, known or not; returns its id. */
    recordFailure: (email: string) => Number(fail.run(email.trim().slice(0, 254), now().toISOString()).lastInsertRowid),
    failuresSince: (email: string, since: Date) => failures.get(email.trim().slice(0, 254), since.toISOString()) as { n: number; oldest: string | null },
    /** Takes back one reserved attempt that turned out to be a successful sign-in. */
    forgetAttempt: (id: number) => forgetAttempt.run(id),
    purgeFailures: (before: Date) => purgeFailures.run(before.toISOString()).changes,
    /** Creates an account, or (same e-mail) sets its password and role and enables it again. Returns the id and whether it was new. */
    upsert(u: { email: string; passwordHash: string; role: StaffRole }): { id: number; created: boolean } {
      const at = now().toISOString();
      const existing = byEmail.get(u.email.trim()) as StaffUser | undefined;
      if (existing) {
        update.run({ id: existing.id, passwordHash: u.passwordHash, role: u.role, at });
        return { id: existing.id, created: false };
      }
      return { id: Number(insert.run({ ...u, email: u.email.trim(), at }).lastInsertRowid), created: true };
    },
  };
}
export type StaffRepository = ReturnType<typeof createStaffRepository>;
