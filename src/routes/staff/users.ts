import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../crypto/password.js';
import { NotFoundError } from '../../errors.js';
import { STAFF_ROLES } from '../../domain/model.js';
import { formOf } from '../../plugins/forms.js';
import { idParam, staffKit } from './common.js';

const userForm = z.object({
  email: z.string().trim().min(1).max(254).pipe(z.email()),
  role: z.enum(STAFF_ROLES),
  password: z.string().min(PASSWORD_MIN).max(PASSWORD_MAX),
});
const userChange = z.object({ role: z.enum(STAFF_ROLES).optional(), disabled: z.enum(['0', '1']).optional() });

/** Staff accounts, for admins. */
const users: FastifyPluginAsync = async (fastify) => {
  const { t, admin, actor, body, staffPage } = staffKit(fastify);
  const staffUsers = fastify.staffUsers;

  const usersPage = (req: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}) =>
    staffPage(req, reply, 'users', { title: t(req)('staff.users.title'), canonicalUrl: '/staff/users', users: staffUsers.list().map((u) => ({ ...u, self: u.id === req.staff!.id })), roles: STAFF_ROLES, values: { role: 'viewer' }, errors: {}, passwordMin: PASSWORD_MIN, ...extra });

  fastify.get('/staff/users', admin, async (req, reply) => usersPage(req, reply));

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
    return reply.redirect('/staff/users?done=created', 303);
  });

  fastify.post('/staff/users/:id', { ...admin, config: { form: formOf(userChange) } }, async (req, reply) => {
    const p = idParam.safeParse(req.params);
    if (!p.success) throw new NotFoundError();
    const parsed = userChange.safeParse(body(req));
    if (!parsed.success) {
      if (!fastify.services.repos.staff.getById(p.data.id)) throw new NotFoundError();
      return usersPage(req, reply.code(422), { rowError: { id: p.data.id, key: 'staff.users.errors.role' } });
    }
    const { role, disabled } = parsed.data;
    const r = staffUsers.change(p.data.id, { role, disabled: disabled === undefined ? undefined : disabled === '1' }, actor(req));
    if (!r.ok && r.reason === 'not_found') throw new NotFoundError();
    if (!r.ok) return usersPage(req, reply.code(409), { rowError: { id: p.data.id, key: 'staff.users.errors.lastAdmin' } });
    return reply.redirect('/staff/users?done=changed', 303);
  });
};

export default users;
