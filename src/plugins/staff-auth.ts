import fp from 'fastify-plugin';
import type { FastifyReply, preHandlerAsyncHookHandler } from 'fastify';
import { cookieSession } from './auth.js';
import type { StaffRole, StaffUser } from '../domain/model.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in staff member, if any (never a disabled one). */
    staff: StaffUser | null;
  }
  interface FastifyReply {
    /** Starts a fresh staff session (a new id; the old one, if any, is destroyed). */
    signInStaff(staffId: number): void;
    signOutStaff(): void;
  }
  interface FastifyInstance {
    /** A preHandler that lets through staff with at least this role; checked on the server for every staff route. */
    requireStaff(role: StaffRole): preHandlerAsyncHookHandler;
  }
}

export const STAFF_COOKIE = 'staff_sid';
const RANK: Record<StaffRole, number> = { viewer: 1, agent: 2, admin: 3 };

/** Whether a role includes another: admin ⊃ agent ⊃ viewer. */
export const hasRole = (have: StaffRole, need: StaffRole) => RANK[have] >= RANK[need];

/**
 * Staff sessions: their own cookie, scoped to /staff, with their own (shorter) idle timeout and
 * absolute lifetime. A seller session never grants a staff page, and the other way round.
 */
export default fp(
  async (fastify) => {
    const { sessions, staff } = fastify.services.repos;
    const session = cookieSession(sessions, {
      cookie: STAFF_COOKIE,
      kind: 'staff',
      path: '/staff',
      idleMs: fastify.config.staffSessionIdleMs,
      maxMs: fastify.config.staffSessionMaxMs,
      secure: fastify.config.https,
    });

    fastify.decorateRequest('staff', null);
    fastify.addHook('onRequest', async (request) => {
      if (!request.url.startsWith('/staff')) return;
      const staffId = session.resume(request);
      const user = staffId === null ? undefined : staff.getById(staffId);
      if (user && !user.disabledAt) request.staff = user;
    });
    fastify.decorateReply('signInStaff', function (this: FastifyReply, staffId: number) {
      session.start(this, staffId);
    });
    fastify.decorateReply('signOutStaff', function (this: FastifyReply) {
      session.end(this);
    });

    fastify.decorate('requireStaff', (role: StaffRole): preHandlerAsyncHookHandler => {
      return async function (request, reply) {
        const t = fastify.i18n.t(request.lang);
        if (!request.staff) {
          if (request.method === 'GET' || request.method === 'HEAD') return reply.redirect(`/staff/login?next=${encodeURIComponent(request.url)}`, 303);
          return reply.code(401).page('error', { title: t('errors.title'), message: t('staff.errors.signedOut'), code: 'MIG_ERR_STAFF_SIGNED_OUT' });
        }
        if (!hasRole(request.staff.role, role)) {
          return reply.code(403).page('error', { title: t('errors.title'), message: t('staff.errors.forbidden', { role: t(`staff.roles.${role}`) }), code: 'MIG_ERR_FORBIDDEN' });
        }
      };
    });
  },
  { name: 'staff-auth', dependencies: ['services', 'views', '@fastify/cookie'], fastify: '5.x' },
);
