import fp from 'fastify-plugin';
import fastifyCsrf from '@fastify/csrf-protection';
import { hkdfSync } from 'node:crypto';
import type { Keyring } from '../crypto/secret-box.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLang } from '../i18n/index.js';
import type { Seller } from '../domain/model.js';
import type { SessionsRepository } from '../repositories/sessions.js';
import type { SessionKind } from '../domain/model.js';

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

/**
 * A local path to return to after sign-in; anything pointing off-site (or that a browser could read
 * as off-site: a leading // or \\, any backslash or white space) becomes the migration page.
 */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && next.length <= 2000 && /^\/(?![\/\\])[^\s\\]*$/.test(next) ? (localPath(next) ?? '/migration') : '/migration';
}

/**
 * A checked local path as it may go into a Location header: characters outside printable ASCII (a
 * decoded "/staff/ą") are percent-encoded, as a browser would send them, instead of failing the
 * response. Nothing else changes (no dot segments are resolved: "/a/..//x" must not become "//x").
 * Null for text that cannot be encoded (a lone surrogate).
 */
export function localPath(p: string): string | null {
  try {
    return p.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
  } catch {
    return null;
  }
}

/**
 * A server-side session carried in one cookie: read it back (sliding its expiry), start a fresh one
 * (a new id; the old session, if any, is destroyed) and end it. Seller and staff sessions both use it,
 * each with its own cookie, path, kind, idle timeout and absolute lifetime (a session that is used
 * all the time still ends: a stolen cookie does not work for ever).
 */
export function cookieSession(
  sessions: SessionsRepository,
  opts: { cookie: string; kind: SessionKind; path: string; idleMs: number; maxMs: number; secure: boolean },
) {
  const cookieOptions = { path: opts.path, httpOnly: true, sameSite: 'lax' as const, secure: opts.secure };
  const drop = (request: FastifyRequest) => {
    const old = request.cookies[opts.cookie];
    if (old) sessions.destroy(old);
  };
  return {
    /** The subject of the live session of this kind, if any. */
    resume(request: FastifyRequest): number | null {
      const value = request.cookies[opts.cookie];
      const session = value ? sessions.resume(value, opts.idleMs, opts.maxMs) : undefined;
      return session?.kind === opts.kind ? session.subjectId : null;
    },
    start(reply: FastifyReply, subjectId: number): void {
      drop(reply.request);
      reply.setCookie(opts.cookie, sessions.create(opts.kind, subjectId, opts.idleMs, opts.maxMs), cookieOptions);
    },
    end(reply: FastifyReply): void {
      drop(reply.request);
      reply.clearCookie(opts.cookie, cookieOptions);
    },
  };
}

/**
 * Cookies (signed with a key derived from the encryption key), CSRF on every state-changing request,
 * and server-side seller sessions in SQLite.
 */
export default fp(
  async (fastify) => {
    await fastify.register(fastifyCsrf, {
      cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', path: '/', secure: fastify.config.https },
      // Forms post the token as a field; scripts may send the header.
      getToken: (req: FastifyRequest) => ((req.body as Record<string, unknown> | undefined)?._csrf as string | undefined) ?? (req.headers['x-csrf-token'] as string | undefined),
    });
    // Every state-changing route is protected, so a new POST route cannot forget it.
    fastify.addHook('preHandler', (request, reply, done) => {
      if (SAFE_METHODS.has(request.method)) return done();
      fastify.csrfProtection(request, reply, done);
    });

    const { sessions, sellers } = fastify.services.repos;
    const session = cookieSession(sessions, { cookie: SESSION_COOKIE, kind: 'seller', path: '/', idleMs: fastify.config.sessionIdleMs, maxMs: fastify.config.sessionMaxMs, secure: fastify.config.https });
    fastify.decorateRequest('seller', null);
    fastify.addHook('onRequest', async (request) => {
      const sellerId = session.resume(request);
      if (sellerId === null) return;
      request.seller = sellers.getById(sellerId) ?? null;
      // The seller's own language, unless they picked one with the switch.
      if (request.seller && !isLang(request.cookies.lang) && !isLang((request.query as Record<string, unknown>)?.lang)) request.lang = request.seller.language;
    });
    fastify.decorateReply('signInSeller', function (this: FastifyReply, sellerId: number) {
      session.start(this, sellerId);
      sellers.markSeen(sellerId);
    });
    fastify.decorateReply('signOut', function (this: FastifyReply) {
      session.end(this);
    });
    fastify.decorate('requireSeller', async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.seller) return;
      if (SAFE_METHODS.has(request.method)) return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
      return reply.code(401).page('error', { message: fastify.i18n.t(request.lang)('errors.401'), code: 'MIG_ERR_SIGNED_OUT' });
    });
  },
  { name: 'auth', dependencies: ['services', 'views', '@fastify/cookie'], fastify: '5.x' },
);
