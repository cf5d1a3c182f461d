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

/** How deep return addresses inside return addresses are followed (next=/x?next=/y?code=…). */
const MAX_NESTING = 3;

/**
 * Parameters (a query or a fragment) with credential values replaced. A value that is itself an
 * address with parameters, such as a sign-in page's next=/allegro/callback?code=…, is redacted the
 * same way: an OAuth callback opened without a session comes back as exactly that.
 */
function redactParams(text: string, depth: number): { text: string; changed: boolean } {
  const out = new URLSearchParams();
  let changed = false;
  for (const [key, value] of new URLSearchParams(text)) {
    let v = value;
    if (SECRET_QUERY_PARAMS.includes(key.toLowerCase())) v = '[REDACTED]';
    else if (depth < MAX_NESTING) {
      // Encoded once more than the address needs (%3F for ?): decoded, so the parameters are seen.
      const inner = /[?#]/.test(value) ? value : /%3F|%23/i.test(value) ? safeDecode(value) : null;
      if (inner !== null) {
        const redacted = redactUrl(inner, depth + 1);
        if (redacted !== inner) v = redacted;
      }
    }
    if (v !== value) changed = true;
    out.append(key, v);
  }
  return { text: out.toString(), changed };
}

function safeDecode(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}

/** A URL with the values of credential-carrying parameters replaced, also inside return addresses it carries. */
export function redactUrl(url: string, depth = 0): string {
  const hash = url.indexOf('#');
  const beforeHash = hash < 0 ? url : url.slice(0, hash);
  const q = beforeHash.indexOf('?');
  const query = q < 0 ? null : redactParams(beforeHash.slice(q + 1), depth);
  const fragment = hash < 0 ? null : redactParams(url.slice(hash + 1), depth);
  if (!query?.changed && !fragment?.changed) return url;
  const path = q < 0 ? beforeHash : beforeHash.slice(0, q);
  const rest = (part: { text: string; changed: boolean } | null, original: string, mark: string) => (part ? mark + (part.changed ? part.text : original) : '');
  return path + rest(query, beforeHash.slice(q + 1), '?') + rest(fragment, url.slice(hash + 1), '#');
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
