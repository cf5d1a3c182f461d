import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { migErrorCode } from '../errors.js';

const KNOWN_STATUS = new Set([400, 401, 403, 404, 409, 413, 415, 429, 500, 503]);
/** Errors whose code has a more helpful message than their status. */
const MESSAGE_BY_CODE: Record<string, string> = { FST_CSRF_INVALID_TOKEN: 'errors.csrf', FST_CSRF_MISSING_SECRET: 'errors.csrf' };

/**
 * What a rate limit throws (@fastify/rate-limit's errorResponseBuilder): a 429 that knows when the
 * next try is possible, so the page names the exact time ("spróbuj ponownie o 13:05"), never "a moment".
 */
export function rateLimitError(ctx: { statusCode: number; ttl: number; after: string }): Error & { statusCode: number; retryAt: string } {
  return Object.assign(new Error(`Rate limit exceeded, retry in ${ctx.after}`), { statusCode: ctx.statusCode, retryAt: new Date(Date.now() + ctx.ttl).toISOString() });
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();
/** Hours and minutes in Poland, rounded up to the next minute (so the time named is never too early). */
function retryTime(iso: string, lang: string): string {
  let f = timeFormats.get(lang);
  if (!f) {
    f = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Warsaw' });
    timeFormats.set(lang, f);
  }
  return f.format(new Date(Math.ceil(Date.parse(iso) / 60_000) * 60_000));
}

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

/**
 * One error handler: logs with request context, never shows 5xx detail to people, answers with an
 * HTML page (JSON when the client asks for JSON). The message a person sees comes from the
 * catalogs by status; the stable code (MIG_ERR_*) is shown so support can search logs for it.
 */
export default fp(
  async (fastify) => {
    const respond = (request: FastifyRequest, reply: FastifyReply, status: number, code: string | undefined, retryAt?: string) => {
      const key = KNOWN_STATUS.has(status) ? status : status >= 500 ? 500 : 400;
      const t = fastify.i18n.t(request.lang);
      const message = status === 429 && retryAt ? t('errors.429at', { time: retryTime(retryAt, request.lang) }) : t((code && MESSAGE_BY_CODE[code]) ?? `errors.${key}`);
      reply.code(status);
      if (wantsJson(request)) return reply.send({ error: { status, code: code ?? null, message } });
      return reply.page('error', { title: fastify.i18n.t(request.lang)('errors.title'), message, code });
    };

    fastify.setErrorHandler(async (error: FastifyError, request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: error.code, status }, error.message);
      const code = migErrorCode(error) ?? (status < 500 ? error.code : undefined);
      const retryAt = (error as { retryAt?: unknown }).retryAt;
      return respond(request, reply, status, code, typeof retryAt === 'string' ? retryAt : undefined);
    });

    // Unknown URLs are rate limited: a scanner walking paths gets 429s, not free work.
    fastify.setNotFoundHandler({ preHandler: fastify.rateLimit({ max: 60, timeWindow: '1 minute' }) }, async (request, reply) =>
      respond(request, reply, 404, 'MIG_ERR_NOT_FOUND'),
    );
  },
  { name: 'errors', dependencies: ['views', '@fastify/rate-limit'], fastify: '5.x' },
);
