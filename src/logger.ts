import type { FastifyServerOptions } from 'fastify';

/** Query parameters that carry one-time credentials (sign-in links, OAuth callbacks). */
const SECRET_QUERY_PARAMS = ['token', 'code', 'state', 'access_token', 'refresh_token', 'password'];

/**
 * Paths pino blanks out wherever they appear in a log line. Secrets should never reach a logger
 * call in the first place; this is the second line of defence, and it is tested.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.Authorization',
  'password',
  'secret',
  'token',
  'appPassword',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'mailbox_password',
  'client_secret',
  '*.password',
  '*.secret',
  '*.token',
  '*.appPassword',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.mailbox_password',
  '*.client_secret',
  '*.headers.authorization',
  '*.headers.Authorization',
  'err.config.headers.Authorization',
  'err.config.data',
  'err.response.config',
];

/** A URL with the values of credential-carrying query parameters replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const key of [...params.keys()]) {
    if (SECRET_QUERY_PARAMS.includes(key.toLowerCase())) {
      params.set(key, '[REDACTED]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}

export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req(req: { method: string; url: string; id: string; ip?: string }) {
        return { id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: req.ip };
      },
    },
  };
}
