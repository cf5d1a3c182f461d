import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { PASSWORD_MAX } from '../../crypto/password.js';
import { localPath } from '../../plugins/auth.js';
import { formOf, NO_FIELDS } from '../../plugins/forms.js';
import { staffKit } from './common.js';

const signInForm = z.object({
  email: z.string().trim().min(1).max(254).pipe(z.email()),
  password: z.string().min(1).max(PASSWORD_MAX),
  next: z.string().max(500).optional(),
});

/**
 * A local /staff path to return to after sign-in; anything else becomes the overview. Characters
 * outside ASCII come back percent-encoded, so the path can always be sent in a Location header.
 */
export function safeStaffNext(next: unknown): string {
  if (typeof next !== 'string' || !/^\/staff(\/[^\s\\?#]*)?(\?[^\s\\#]*)?$/.test(next)) return '/staff';
  const pathPart = next.split('?')[0]!;
  return /(^|\/)\.\.?(\/|$)|\/\//.test(pathPart) ? '/staff' : (localPath(next) ?? '/staff');
}

const signIn: FastifyPluginAsync = async (fastify) => {
  const { t, body } = staffKit(fastify);

  fastify.get('/staff/login', async (req, reply) => {
    const next = safeStaffNext((req.query as Record<string, unknown>).next);
    if (req.staff) return reply.redirect(next, 303);
    return reply.page('staff/login', { title: t(req)('staff.login.title'), next, values: {}, errors: {}, staffArea: true });
  });

  // Per IP by the rate limiter (in memory); per address in the database, so a restart does not reset it.
  fastify.post('/staff/login', { config: { rateLimit: { max: 20, timeWindow: '15 minutes' }, form: formOf(signInForm) } }, async (req, reply) => {
    const b = body(req);
    const next = safeStaffNext(b.next);
    const email = typeof b.email === 'string' ? b.email.trim().slice(0, 254) : '';
    const again = (status: number, error: string, params: Record<string, unknown> = {}) =>
      reply.code(status).page('staff/login', { title: t(req)('staff.login.title'), canonicalUrl: '/staff/login', next, values: { email }, errors: { form: t(req)(error, params) }, staffArea: true });
    const parsed = signInForm.safeParse(b);
    if (!parsed.success) return again(422, 'staff.login.errors.missing');
    const result = await fastify.staffSignIn.signIn(parsed.data.email, parsed.data.password);
    if (!result.ok && result.reason === 'locked') {
      return again(429, 'staff.login.errors.locked', { time: new Intl.DateTimeFormat(req.lang, { timeStyle: 'short', timeZone: 'Europe/Warsaw' }).format(result.retryAt) });
    }
    if (!result.ok) {
      req.log.info({ staffId: result.staffId }, 'staff sign-in failed');
      return again(401, 'staff.login.errors.wrong');
    }
    reply.signInStaff(result.staffId);
    return reply.redirect(next, 303);
  });

  fastify.post('/staff/logout', { config: { form: NO_FIELDS } }, async (req, reply) => {
    if (req.staff) fastify.staffSignIn.signedOut(req.staff.id);
    reply.signOutStaff();
    return reply.redirect('/staff/login', 303);
  });
};

export default signIn;
