import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../crypto/password.js';
import { NotFoundError } from '../../errors.js';
import { STAFF_ROLES } from '../../domain/model.js';
import { formOf, NO_FIELDS } from '../../plugins/forms.js';
import { idParam, staffKit } from './common.js';
import { createStaffAccessService } from '../../staff/user-access.js';


const userForm = z.object({
  email: z.string().trim().min(1).max(254).pipe(z.email()),
  role: z.enum(STAFF_ROLES),
  password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX),
});
const userChange = z.object({
  role: z.enum(STAFF_ROLES).optional(),
  disabled: z.enum(['0', '1']).optional(),
  /** Sent by the confirmation page of a change that takes an admin's rights away (one's own, or another admin's). */
  confirmed: z.literal('1').optional(),
});
const newPassword = z.object({ password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX) });
/** What the page says after a change: which one, and about whom. */
const DONE = ['created', 'role', 'disabled', 'enabled', 'unlocked', 'password', 'unchanged'] as const;

/** Staff accounts, for admins. */
const users: FastifyPluginAsync = async (fastify) => {
  const { t, admin, actor, body, staffPage } = staffKit(fastify);
  const staffUsers = fastify.staffUsers;
  const access = createStaffAccessService({ db: fastify.services.db, repos: fastify.services.repos, now: fastify.services.now });

  const usersPage = (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) =>
    staffPage(req, reply, 'users', {
      title: t(req)('staff.users.title'),
      canonicalUrl: '/staff/users',
      users: staffUsers.list().map((u) => ({ ...u, self: u.id === req.staff!.id, lockedUntil: access.lockedUntil(u.email)?.toISOString() ?? null })),
      roles: STAFF_ROLES,
      values: { role: 'viewer' },
      errors: {},
      passwordMin: PASSWORD_MIN,
      ...extra,
    });
  /** After every change: back to the page, which says what was done and to whom. */
  const doneRedirect = (reply: FastifyReply, done: (typeof DONE)[number], email: string) => reply.redirect(`/staff/users?done=${done}&who=${encodeURIComponent(email)}#done`, 303);

  fastify.get('/staff/users', admin, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const done = typeof q.done === 'string' && (DONE as readonly string[]).includes(q.done) ? q.done : null;
    const who = typeof q.who === 'string' ? q.who.slice(0, 254) : '';
    return usersPage(req, reply, { done, who });
  });

  fastify.post('/staff/users', { ...admin, config: { form: formOf(userForm) } }, async (req, reply) => {
    const b = body(req);
    const parsed = userForm.safeParse(b);
    const values = { email: typeof b.email === 'string' ? b.email.slice(0, 254) : '', role: typeof b.role === 'string' && (STAFF_ROLES as readonly string[]).includes(b.role) ? b.role : 'viewer' };
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const f = String(issue.path[0]);
        if (!errors[f]) errors[f] = `staff.users.errors.${['email', 'role', 'password'].includes(f) ? f : 'email'}`;
      }
      return usersPage(req, reply.code(422), { values, errors });
    }
    if (!(await staffUsers.create(parsed.data, actor(req)))) return usersPage(req, reply.code(409), { values, errors: { email: 'staff.users.errors.exists' } });
    return doneRedirect(reply, 'created', parsed.data.email);
  });

  fastify.post('/staff/users/:id', { ...admin, config: { form: formOf(userChange) } }, async (req, reply) => {
    const p = idParam.safeParse(req.params);
    if (!p.success) throw new NotFoundError();
    const parsed = userChange.safeParse(body(req));
    if (!parsed.success) {
      if (!fastify.services.repos.staff.getById(p.data.id)) throw new NotFoundError();
      return usersPage(req, reply.code(422), { rowError: { id: p.data.id, key: 'staff.users.errors.role' } });
    }
    const { role, disabled, confirmed } = parsed.data;
    const target = fastify.services.repos.staff.getById(p.data.id);
    if (!target) throw new NotFoundError();
    const self = target.id === req.staff!.id;
    const demotes = role !== undefined && role !== target.role && target.role === 'admin';
    const disables = disabled === '1' && !target.disabledAt;
    // Taking an admin's rights away (one's own or another admin's) is asked first, saying what follows.
    if ((demotes || (disables && (self || target.role === 'admin'))) && !confirmed) {
      return staffPage(req, reply, 'user-confirm', {
        title: t(req)(disables ? 'staff.users.confirm.disableTitle' : 'staff.users.confirm.demoteTitle', { email: target.email }),
        target,
        self,
        role,
        disabled,
        what: disables ? 'disable' : 'demote',
      });
    }
    const r = staffUsers.change(p.data.id, { role, disabled: disabled === undefined ? undefined : disabled === '1' }, actor(req));
    if (!r.ok && r.reason === 'not_found') throw new NotFoundError();
    if (!r.ok) return usersPage(req, reply.code(409), { rowError: { id: p.data.id, key: 'staff.users.errors.lastAdmin' } });
    const done = disabled === '1' && disables ? 'disabled' : disabled === '0' && target.disabledAt ? 'enabled' : role !== undefined && role !== target.role ? 'role' : 'unchanged';
    // Who took away their own admin rights (or account) no longer has this page: the overview says what was done.
    if (self && (demotes || disables)) return reply.redirect(disables ? '/staff/login' : `/staff?selfChanged=${done}`, 303);
    return doneRedirect(reply, done, target.email);
  });

  // An admin lifts a colleague's sign-in lockout (audited): no waiting 15 minutes.
  fastify.post('/staff/users/:id/unlock', { ...admin, config: { form: NO_FIELDS } }, async (req, reply) => {
    const p = idParam.safeParse(req.params);
    const target = p.success ? fastify.services.repos.staff.getById(p.data.id) : undefined;
    if (!target || !access.unlock(target.id, actor(req))) throw new NotFoundError();
    return doneRedirect(reply, 'unlocked', target.email);
  });

  // An admin sets a new password (audited); the user's sessions end, and the lockout is lifted.
  fastify.post('/staff/users/:id/password', { ...admin, config: { form: formOf(newPassword) } }, async (req, reply) => {
    const p = idParam.safeParse(req.params);
    const target = p.success ? fastify.services.repos.staff.getById(p.data.id) : undefined;
    if (!target) throw new NotFoundError();
    const parsed = newPassword.safeParse(body(req));
    if (!parsed.success) return usersPage(req, reply.code(422), { rowError: { id: target.id, key: 'staff.users.errors.password' }, passwordOpen: target.id });
    if (!(await access.setPassword(target.id, parsed.data.password, actor(req)))) throw new NotFoundError();
    if (target.id === req.staff!.id) return reply.redirect('/staff/login', 303);
    return doneRedirect(reply, 'password', target.email);
  });
};

export default users;
