import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { migErrorCode } from '../errors.js';

const KNOWN_STATUS = new Set([400, 401, 403, 404, 409, 413, 415, 429, 500, 503]);
/** Errors whose code has a more helpful message than their status. */
const MESSAGE_BY_CODE: Record<string, string> = { FST_CSRF_INVALID_TOKEN: 'errors.csrf', FST_CSRF_MISSING_SECRET: 'errors.csrf' };

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
    const respond = (request: FastifyRequest, reply: FastifyReply, status: number, code: string | undefined) => {
      const key = KNOWN_STATUS.has(status) ? status : status >= 500 ? 500 : 400;
      const message = fastify.i18n.t(request.lang)((code && MESSAGE_BY_CODE[code]) ?? `errors.${key}`);
      reply.code(status);
      if (wantsJson(request)) return reply.send({ error: { status, code: code ?? null, message } });
      return reply.page('error', { title: fastify.i18n.t(request.lang)('errors.title'), message, code });
    };

    fastify.setErrorHandler(async (error: FastifyError, request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: error.code, status }, error.message);
      const code = migErrorCode(error) ?? (status < 500 ? error.code : undefined);
      return respond(request, reply, status, code);
    });

    // Unknown URLs are rate limited: a scanner walking paths gets 429s, not free work.
    fastify.setNotFoundHandler({ preHandler: fastify.rateLimit({ max: 60, timeWindow: '1 minute' }) }, async (request, reply) =>
      respond(request, reply, 404, 'MIG_ERR_NOT_FOUND'),
    );
  },
  { name: 'errors', dependencies: ['views', '@fastify/rate-limit'], fastify: '5.x' },
);
