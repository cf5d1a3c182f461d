import fp from 'fastify-plugin';
import fastifyCsrf from '@fastify/csrf-protection';
import { hkdfSync } from 'node:crypto';
import type { Keyring } from '../crypto/secret-box.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLang } from '../i18n/index.js';
import type { Seller } from '../repositories/sellers.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in seller, if any. */
    seller: Seller | null;
  }
  interface FastifyReply {
    /** Starts a fresh seller session (a new id: the old one, if any, is destroyed). */
    signInSeller(sellerId: number): void;
    signOut(): void;
  }
  interface FastifyInstance {
    requireSeller(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  }
}

export const SESSION_COOKIE = 'sid';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The cookie-signing secret, derived from the encryption key so there is no second secret to manage. */
export function cookieSecret(keyring: Keyring): string {
  return Buffer.from(hkdfSync('sha256', keyring.primary.bytes, 'cookies', 'mig cookie signing', 32)).toString('base64');
}

/** A local path to return to after sign-in; anything pointing off-site becomes the migration page. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![\/\\])[^\s]*$/.test(next) ? next : '/migration';
}

/**
 * Cookies (signed with a key derived from the encryption key), CSRF on every state-changing request,
 * and server-side seller sessions in SQLite.
 */
export default fp(
  async (fastify) => {
    const secure = fastify.config.publicUrl.startsWith('https:');
    await fastify.register(fastifyCsrf, {
      cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', path: '/', secure },
      // Forms post the token as a field; scripts may send the header.
      getToken: (req: FastifyRequest) => ((req.body as Record<string, unknown> | undefined)?._csrf as string | undefined) ?? (req.headers['x-csrf-token'] as string | undefined),
    });
    // Every state-changing route is protected, so a new POST route cannot forget it.
    fastify.addHook('preHandler', (request, reply, done) => {
      if (SAFE_METHODS.has(request.method)) return done();
      fastify.csrfProtection(request, reply, done);
    });

    const { sessions, sellers } = fastify.services.repos;
    const idleMs = fastify.config.sessionIdleMs;
    fastify.decorateRequest('seller', null);
    fastify.addHook('onRequest', async (request) => {
      const value = request.cookies[SESSION_COOKIE];
      if (!value) return;
      const session = sessions.resume(value, idleMs);
      if (session?.kind === 'seller') {
        request.seller = sellers.getById(session.subjectId) ?? null;
        // The seller's own language, unless they picked one with the switch.
        if (request.seller && !isLang(request.cookies.lang) && !isLang((request.query as Record<string, unknown>)?.lang)) request.lang = request.seller.language;
      }
    });

    const cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure };
    const dropSession = (request: FastifyRequest) => {
      const old = request.cookies[SESSION_COOKIE];
      if (old) sessions.destroy(old);
    };
    fastify.decorateReply('signInSeller', function (this: FastifyReply, sellerId: number) {
      dropSession(this.request);
      this.setCookie(SESSION_COOKIE, sessions.create('seller', sellerId, idleMs), cookieOptions);
      sellers.markSeen(sellerId);
    });
    fastify.decorateReply('signOut', function (this: FastifyReply) {
      dropSession(this.request);
      this.clearCookie(SESSION_COOKIE, cookieOptions);
    });
    fastify.decorate('requireSeller', async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.seller) return;
      if (SAFE_METHODS.has(request.method)) return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
      return reply.code(401).page('error', { message: fastify.i18n.t(request.lang)('errors.401'), code: 'MIG_ERR_SIGNED_OUT' });
    });
  },
  { name: 'auth', dependencies: ['services', 'views', '@fastify/cookie'], fastify: '5.x' },
);
