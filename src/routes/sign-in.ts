import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { safeNext } from '../plugins/auth.js';
import { formBody, formOf, NO_FIELDS } from '../plugins/forms.js';
import { createDemoSignIn } from '../demo/demo-sign-in.js';
import { NotFoundError } from '../errors.js';

/** The one notice word the sign-in page knows. */
const SIGNED_OUT = 'signed_out';

const emailForm = z.object({
  email: z.string().trim().max(254).pipe(z.email()),
  next: z.string().max(500).optional(),
});

/**
 * The seller's sign-in: a one-time link by e-mail (the answer never depends on the address), the
 * confirm page that uses it up, sign-out, and in the demo "Zaloguj jako".
 */
const sellerSignIn: FastifyPluginAsync = async (fastify) => {
  const { repos } = fastify.services;
  const { config } = fastify;
  const t = (req: FastifyRequest) => fastify.i18n.t(req.lang);

  // ---- sign-in -------------------------------------------------------------------------------
  /** In demo mode the sign-in page lists demo sellers by situation, each signed in with one click. */
  const demoSignIn = createDemoSignIn(repos, config);

  const signInLimit = { rateLimit: { max: 10, timeWindow: '15 minutes' } };

  fastify.get('/login', async (req, reply) => {
    if (req.seller) return reply.redirect('/migration', 303);
    const q = req.query as Record<string, unknown>;
    const next = safeNext(q.next);
    // Only a known word turns a notice on: the URL never carries text that the page would show.
    const notice = q.notice === SIGNED_OUT ? `login.notice.${SIGNED_OUT}` : null;
    return reply.page('login', { title: t(req)('login.title'), next, notice, values: {}, errors: {}, demo: demoSignIn?.list() });
  });

  // Demo only: "Zaloguj jako" signs in a listed demo seller at once (outside the demo: 404, nothing done).
  fastify.post('/login/demo', { config: { rateLimit: { max: 60, timeWindow: '15 minutes' }, form: formOf(null, 'seller') } }, async (req, reply) => {
    const id = demoSignIn?.signInAs(formBody(req).seller) ?? null;
    if (id === null) throw new NotFoundError();
    reply.signInSeller(id);
    return reply.redirect('/migration', 303);
  });

  fastify.post('/login', { config: { ...signInLimit, form: formOf(emailForm, 'next') } }, async (req, reply) => {
    const body = formBody(req);
    const parsed = emailForm.safeParse(body);
    if (!parsed.success) {
      return reply.code(422).page('login', {
        title: t(req)('login.title'),
        canonicalUrl: '/login',
        next: safeNext(body.next),
        values: { email: typeof body.email === 'string' ? body.email.slice(0, 254) : '' },
        errors: { email: 'login.errors.email' },
        demo: demoSignIn?.list(),
      });
    }
    fastify.signIn.request(parsed.data.email);
    return reply.redirect('/login/sent', 303);
  });

  // In the demo without SMTP_URL no e-mail leaves: the link is in the server's log.
  const linkInLog = config.demo && !config.smtpUrl;
  fastify.get('/login/sent', async (req, reply) => reply.page('login-sent', { title: t(req)('login.sentTitle'), linkInLog }));

  // Opening links is limited too, as guessing them would be. One limiter as the route's preHandler:
  // Fastify's HEAD twin of a GET route shares it, whereas config.rateLimit gives each its own counter.
  const openLinkLimit = fastify.rateLimit({ max: 10, timeWindow: '15 minutes' });

  // The link opens a page with a button, not a session: mail scanners that pre-fetch links must not
  // use up a one-time token. The page holds the live token, so no browser or proxy may keep it.
  fastify.get('/login/verify', { preHandler: openLinkLimit }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const q = req.query as Record<string, unknown>;
    const token = typeof q.token === 'string' ? q.token.slice(0, 200) : '';
    // Whose account the link opens, and who else is signed in here (the page asks before switching).
    const found = fastify.signIn.preview(token, req.seller);
    if (!found.ok) return reply.code(400).page('login-verify', { title: t(req)('login.invalidTitle'), problem: `login.invalid.${found.error}` });
    return reply.page('login-verify', { title: t(req)('login.confirmTitle'), token, next: safeNext(q.next), account: found.account, other: found.other, already: found.already });
  });

  fastify.post('/login/verify', { config: { ...signInLimit, form: formOf(null, 'token', 'next') } }, async (req, reply) => {
    const body = formBody(req);
    const token = typeof body.token === 'string' ? body.token.slice(0, 200) : '';
    // Where to go is settled before the one-time link is used up.
    const next = safeNext(body.next);
    const result = fastify.signIn.useLink(token);
    if (!result.ok) return reply.code(400).page('login-verify', { title: t(req)('login.invalidTitle'), problem: `login.invalid.${result.error}` });
    reply.signInSeller(result.sellerId);
    return reply.redirect(next, 303);
  });

  fastify.post('/logout', { config: { form: NO_FIELDS } }, async (req, reply) => {
    // The page after signing out says so and how to come back, in the language the seller just read
    // (their stored one is forgotten with the session, and the browser's may differ).
    const lang = req.lang;
    reply.signOut();
    return reply.redirect(`/login?notice=${SIGNED_OUT}&lang=${lang}`, 303);
  });
};
export default sellerSignIn;
