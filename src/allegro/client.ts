import type { AxiosError, AxiosInstance, AxiosResponse } from 'axios';
import type { z } from 'zod';
import {
  AllegroApiError,
  AllegroOAuthError,
  AllegroResponseError,
  AllegroTokenError,
  AllegroUnavailableError,
} from './errors.js';
import {
  errorsHolder,
  meResponse,
  message,
  messagesList,
  oauthError,
  threadsList,
  tokenResponse,
  type Me,
  type Message,
  type MessagesList,
  type ThreadsList,
} from './schemas.js';

/** The media type of Allegro's public API; anything else is answered 406. */
export const ALLEGRO_MEDIA_TYPE = 'application/vnd.allegro.public.v1+json';
/** What the v3 autoresponder needs: the Message Center, and /me to know whose account it is. */
export const ALLEGRO_SCOPES = ['allegro:api:messaging', 'allegro:api:profile:read'] as const;

export interface AllegroClientOptions {
  authUrl: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  userAgent: string;
  timeoutMs: number;
  /** Retries of a read after 429 or 5xx (and of a send after 429). */
  retries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Injected by tests to observe the backoff without waiting for it. */
  sleep?: (ms: number) => Promise<void>;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  /** Seconds until the access token expires, as Allegro said. */
  expiresIn: number;
  scope: string;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const sleepFor = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const traceIdOf = (res: AxiosResponse | undefined) => {
  const v = res?.headers?.['trace-id'];
  return typeof v === 'string' ? v : undefined;
};

/**
 * Node's documented pattern for a request on a kept-alive connection (http.Agent, `request.reusedSocket`):
 * the server closed the idle socket just as the request was written, and the connection was reset before
 * any answer. Such a request never reached the server's application, so it is safe to send again, even
 * a token request whose refresh token rotates on use. Any other failure (a timeout, a reset of a new
 * connection, a connection cut after an answer began) may have been acted on, and is not repeated.
 */
export function neverReachedServer(err: unknown): boolean {
  const e = err as AxiosError;
  return e?.code === 'ECONNRESET' && !e.response && (e.request as { reusedSocket?: boolean } | undefined)?.reusedSocket === true;
}

/**
 * The Allegro REST API and OAuth client: one axios instance for the API and one for the OAuth server
 * of one environment. Reads retry 429 and 5xx with exponential backoff and jitter; a send retries only
 * 429 (the message was not taken); token requests are retried only when they never reached Allegro
 * (neverReachedServer), because a refresh token rotates on use and a blind second POST could burn the
 * new one.
 */
export function createAllegroClient(opts: AllegroClientOptions) {
  const retries = opts.retries ?? 3;
  const base = opts.backoffBaseMs ?? 300;
  const max = opts.backoffMaxMs ?? 5000;
  const sleep = opts.sleep ?? sleepFor;

  // axios is loaded at the first call to Allegro, not at the server's start (see instances()).
  let made: Promise<{ api: AxiosInstance; oauth: AxiosInstance }> | undefined;
  const instances = () => (made ??= import('axios').then(({ default: axios }) => ({ api: axios.create(apiOptions), oauth: axios.create(oauthOptions) })));
  const apiOptions = {
    baseURL: opts.apiUrl,
    timeout: opts.timeoutMs,
    headers: { Accept: ALLEGRO_MEDIA_TYPE, 'User-Agent': opts.userAgent },
    // Every status is ours to interpret; axios must not throw (its errors carry the token in config).
    validateStatus: () => true,
    maxRedirects: 0,
    responseType: 'text' as const,
  };
  const oauthOptions = {
    baseURL: opts.authUrl,
    timeout: opts.timeoutMs,
    validateStatus: () => true,
    maxRedirects: 0,
    responseType: 'text' as const,
  };
  const basic = 'Basic ' + Buffer.from(`${opts.clientId}:${opts.clientSecret}`).toString('base64');

  function parseJson(res: AxiosResponse): unknown {
    if (typeof res.data !== 'string') return res.data;
    try {
      return res.data ? JSON.parse(res.data) : undefined;
    } catch {
      return undefined;
    }
  }

  function networkError(err: unknown, path: string): AllegroUnavailableError {
    const e = err as AxiosError;
    const reason = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' ? 'timeout' : e.code ?? 'network error';
    return new AllegroUnavailableError(reason, { path });
  }

  function backoff(attempt: number): number {
    const ceiling = Math.min(max, base * 2 ** attempt);
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  async function token(params: Record<string, string>): Promise<TokenSet> {
    const path = '/auth/oauth/token';
    let res: AxiosResponse;
    for (let attempt = 0; ; attempt++) {
      try {
        res = await (await instances()).oauth.post(path, new URLSearchParams(params).toString(), {
          headers: { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        });
        break;
      } catch (err) {
        // Sent once more only when it cannot have been used: see neverReachedServer.
        if (attempt === 0 && neverReachedServer(err)) {
          opts.log?.info({ path }, 'Allegro closed a kept-alive connection as the token request went out; sent again on a new one');
          continue;
        }
        throw networkError(err, path);
      }
    }
    const body = parseJson(res);
    const details = { status: res.status, traceId: traceIdOf(res), path };
    if (res.status >= 200 && res.status < 300) {
      const parsed = tokenResponse.safeParse(body);
      if (!parsed.success) throw new AllegroResponseError('token response', details);
      return { accessToken: parsed.data.access_token, refreshToken: parsed.data.refresh_token, expiresIn: parsed.data.expires_in, scope: parsed.data.scope ?? '' };
    }
    const e = oauthError.safeParse(body);
    throw new AllegroOAuthError(e.success ? e.data.error : `http_${res.status}`, e.success ? e.data.error_description : undefined, details);
  }

  /**
   * One API call with the retry policy.
   * @throws {AllegroTokenError} on 401; {AllegroApiError} on any other error status; {AllegroUnavailableError}; {AllegroResponseError}
   */
  async function call<T>(
    method: 'GET' | 'POST',
    path: string,
    accessToken: string,
    schema: z.ZodType<T>,
    init: { params?: Record<string, string | number>; body?: unknown } = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let res: AxiosResponse;
      try {
        res = await (await instances()).api.request({
          method,
          url: path,
          params: init.params,
          data: init.body === undefined ? undefined : JSON.stringify(init.body),
          headers: {
            Authorization: `Bearer ${accessToken}`,
            ...(init.body === undefined ? {} : { 'Content-Type': ALLEGRO_MEDIA_TYPE }),
          },
        });
      } catch (err) {
        // A read that never got an answer is safe to repeat; a send might have been taken.
        if (method === 'GET' && attempt < retries) {
          await sleep(backoff(attempt));
          continue;
        }
        throw networkError(err, path);
      }
      const details = { status: res.status, traceId: traceIdOf(res), path };
      const body = parseJson(res);
      if (res.status >= 200 && res.status < 300) {
        const parsed = schema.safeParse(body);
        if (!parsed.success) throw new AllegroResponseError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), details);
        return parsed.data;
      }
      if (res.status === 401) {
        const e = oauthError.safeParse(body);
        throw new AllegroTokenError(e.success ? e.data.error : 'unauthorized', details);
      }
      const retryable = method === 'GET' ? RETRYABLE_STATUS.has(res.status) : res.status === 429;
      if (retryable && attempt < retries) {
        const wait = backoff(attempt);
        opts.log?.warn({ status: res.status, path, traceId: details.traceId, attempt: attempt + 1, waitMs: wait }, 'Allegro asked to slow down or failed; retrying');
        await sleep(wait);
        continue;
      }
      const errors = errorsHolder.safeParse(body);
      const err = new AllegroApiError(errors.success ? errors.data.errors : [], details);
      opts.log?.warn({ status: res.status, path, traceId: details.traceId, codes: err.errors.map((x) => x.code) }, 'Allegro API error');
      throw err;
    }
  }

  return {
    /** Where to send the seller's browser: Allegro's consent page, with PKCE (S256) and state. */
    authorizeUrl(p: { state: string; codeChallenge: string; scopes?: readonly string[] }): string {
      const u = new URL('/auth/oauth/authorize', opts.authUrl);
      u.search = new URLSearchParams({
        response_type: 'code',
        client_id: opts.clientId,
        redirect_uri: opts.redirectUri,
        code_challenge_method: 'S256',
        code_challenge: p.codeChallenge,
        state: p.state,
        scope: (p.scopes ?? ALLEGRO_SCOPES).join(' '),
      }).toString();
      return u.toString();
    },
    /** @throws {AllegroOAuthError} e.g. invalid_grant for a used or expired code */
    exchangeCode: (code: string, codeVerifier: string) =>
      token({ grant_type: 'authorization_code', code, redirect_uri: opts.redirectUri, code_verifier: codeVerifier }),
    /** @throws {AllegroOAuthError} invalid_grant when the refresh token is no longer valid */
    refresh: (refreshToken: string) => token({ grant_type: 'refresh_token', refresh_token: refreshToken, redirect_uri: opts.redirectUri }),
    me: (accessToken: string): Promise<Me> => call('GET', '/me', accessToken, meResponse),
    listThreads: (accessToken: string, p: { limit?: number; offset?: number } = {}): Promise<ThreadsList> =>
      call('GET', '/messaging/threads', accessToken, threadsList, { params: { limit: p.limit ?? 20, offset: p.offset ?? 0 } }),
    listMessages: (accessToken: string, threadId: string, p: { limit?: number; offset?: number } = {}): Promise<MessagesList> =>
      call('GET', `/messaging/threads/${encodeURIComponent(threadId)}/messages`, accessToken, messagesList, { params: { limit: p.limit ?? 20, offset: p.offset ?? 0 } }),
    sendMessage: (accessToken: string, threadId: string, text: string): Promise<Message> =>
      call('POST', `/messaging/threads/${encodeURIComponent(threadId)}/messages`, accessToken, message, { body: { text } }),
  };
}
export type AllegroClient = ReturnType<typeof createAllegroClient>;
