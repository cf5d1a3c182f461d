import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { StaffRole, StaffUser } from '../repositories/staff.js';

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
 * Staff sessions: their own cookie, scoped to /staff, with their own (shorter) idle timeout. A seller
 * session never grants a staff page, and the other way round.
 */
export default fp(
  async (fastify) => {
    const { sessions, staff } = fastify.services.repos;
    const idleMs = fastify.config.staffSessionIdleMs;
    const secure = fastify.config.publicUrl.startsWith('https:');
    const cookieOptions = { path: '/staff', httpOnly: true, sameSite: 'lax' as const, secure };

    fastify.decorateRequest('staff', null);
    fastify.addHook('onRequest', async (request) => {
      if (!request.url.startsWith('/staff')) return;
      const value = request.cookies[STAFF_COOKIE];
      if (!value) return;
      const session = sessions.resume(value, idleMs);
      if (session?.kind !== 'staff') return;
      const user = staff.getById(session.subjectId);
      if (user && !user.disabledAt) request.staff = user;
    });

    const drop = (request: FastifyRequest) => {
      const old = request.cookies[STAFF_COOKIE];
      if (old) sessions.destroy(old);
    };
    fastify.decorateReply('signInStaff', function (this: FastifyReply, staffId: number) {
      drop(this.request);
      this.setCookie(STAFF_COOKIE, sessions.create('staff', staffId, idleMs), cookieOptions);
    });
    fastify.decorateReply('signOutStaff', function (this: FastifyReply) {
      drop(this.request);
      this.clearCookie(STAFF_COOKIE, cookieOptions);
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
