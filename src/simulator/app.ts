import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import fastifyFormbody from '@fastify/formbody';
import { z } from 'zod';
import type { SimAccount, SimThread } from './accounts.js';

/**
 * A local Allegro that speaks the real contract (openapi-messaging.yaml and the OAuth facts in
 * shared/allegro/README.md), for the tests and the offline demo: the consent page, the token
 * endpoint (authorization_code with PKCE S256 and a 10-second single-use code; refresh_token with
 * rotation and a 60-second grace for the old token), /me and the Message Center. The tests validate
 * every exchange against the spec, so it cannot drift from Allegro's shapes.
 */

export const MEDIA_TYPE = 'application/vnd.allegro.public.v1+json';
const SCOPES = ['allegro:api:messaging', 'allegro:api:profile:read'];

export interface SimClient {
  id: string;
  secret: string;
  name: string;
  redirectUris: string[];
}

export interface SimulatorOptions {
  clients: SimClient[];
  accounts: SimAccount[];
  now?: () => Date;
  codeTtlMs?: number;
  accessTtlMs?: number;
  refreshTtlMs?: number;
  refreshGraceMs?: number;
  /** Minimum time between two sends of one user (Allegro: 1 request per second). */
  sendIntervalMs?: number;
  logger?: FastifyServerOptions['logger'];
  /** Called with every request and response, for contract tests. */
  onExchange?: (x: Exchange) => void;
  /**
   * Where the issued tokens are kept (the demo: beside its database). Allegro does not forget a
   * seller's authorization when it restarts, so neither does the simulator: without this file a
   * restart of the demo would turn every working v3 autoresponder into "authorize again".
   */
  tokenFile?: string;
}

export interface Exchange {
  method: string;
  /** The route pattern, e.g. /messaging/threads/:threadId/messages. */
  route: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  requestBody: unknown;
  statusCode: number;
  contentType: string | undefined;
  responseBody: string;
}

interface Fault {
  method: string;
  path: string;
  /** The answer's status; without one, the call is only delayed and then answered normally. */
  status?: number;
  /** Wait this long before answering (longer than the client's timeout: a timeout). */
  delayMs?: number;
  times: number;
}

interface Code {
  clientId: string;
  redirectUri: string;
  challenge: string;
  accountId: string;
  scopes: string[];
  expiresAt: number;
  used: boolean;
  issued: string[];
}

interface AccessToken {
  accountId: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
}

interface RefreshToken {
  accountId: string;
  clientId: string;
  scopes: string[];
  expiresAt: number;
  /** When it was used: it keeps working for the grace period, answering with the same new pair. */
  rotatedAt: number | null;
  successor: TokenPair | null;
  revoked: boolean;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
  allegro_api: true;
  jti: string;
}

export interface SimulatorState {
  stats: { authorizationCode: number; refresh: number; refreshRejected: number; api: number; sends: number };
  /**
   * Makes the next `times` calls of a method + path (the REST API or the token endpoint) answer with
   * `status` (429 or 5xx bodies as Allegro's), after `delayMs` if given; a delay alone only slows them.
   */
  injectFault(f: { method: string; path: string; status?: number; delayMs?: number; times?: number }): void;
  /** Every access token issued so far stops working (as after 12 hours). */
  expireAccessTokens(): void;
  /** Every token of an account is revoked (the seller changed the password). */
  revokeAccount(login: string): void;
  /**
   * The token pair the app would hold had this account's owner consented on the consent page and the
   * code been exchanged (the demo's data: v3 autoresponders authorized before the demo begins).
   * @throws when there is no such account or client
   */
  grant(login: string, clientId: string): { pair: TokenPair; account: SimAccount };
  accounts: SimAccount[];
}

const token = (bytes = 32) => randomBytes(bytes).toString('base64url');
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const eq = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};
const codePoints = (s: string) => [...s].length;

function errors(code: string, message: string, userMessage: string, path: string | null = null) {
  return { errors: [{ code, message, details: null, path, userMessage, metadata: {} }] };
}

export function buildSimulator(opts: SimulatorOptions): { app: FastifyInstance; state: SimulatorState } {
  const now = () => (opts.now ?? (() => new Date()))().getTime();
  const codeTtl = opts.codeTtlMs ?? 10_000;
  const accessTtl = opts.accessTtlMs ?? 12 * 3_600_000;
  const refreshTtl = opts.refreshTtlMs ?? 90 * 24 * 3_600_000;
  const grace = opts.refreshGraceMs ?? 60_000;
  const sendInterval = opts.sendIntervalMs ?? 1000;

  const accounts = new Map(opts.accounts.map((a) => [a.id, a]));
  const codes = new Map<string, Code>();
  const access = new Map<string, AccessToken>();
  const refresh = new Map<string, RefreshToken>();
  const tokens = tokenStore(opts.tokenFile, access, refresh, { now, grace });
  const lastSend = new Map<string, number>();
  const faults: Fault[] = [];
  const stats = { authorizationCode: 0, refresh: 0, refreshRejected: 0, api: 0, sends: 0 };

  const state: SimulatorState = {
    stats,
    injectFault: (f) => void faults.push({ ...f, times: f.times ?? 1 }),
    expireAccessTokens() {
      for (const t of access.values()) t.expiresAt = Math.min(t.expiresAt, now() - 1);
      tokens.save();
    },
    revokeAccount(login) {
      const acc = opts.accounts.find((a) => a.login === login);
      if (!acc) return;
      for (const [k, t] of access) if (t.accountId === acc.id) access.delete(k);
      for (const t of refresh.values()) if (t.accountId === acc.id) t.revoked = true;
      tokens.save();
    },
    grant(login, clientId) {
      const account = opts.accounts.find((a) => a.login === login);
      if (!account || !clientById(clientId)) throw new Error(`simulator: no account ${login} or client ${clientId}`);
      const pair = issue(account.id, clientId, SCOPES);
      tokens.save();
      return { pair, account };
    },
    accounts: opts.accounts,
  };

  const app = Fastify({ logger: opts.logger ?? false });
  app.register(fastifyFormbody);
  // The API takes Allegro's own media type for JSON bodies.
  app.addContentTypeParser(MEDIA_TYPE, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body ? JSON.parse(body as string) : undefined);
    } catch {
      const err = new Error('Malformed JSON') as Error & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  if (opts.onExchange) {
    const record = opts.onExchange;
    app.addHook('onSend', async (req, reply, payload) => {
      record({
        method: req.method,
        route: req.routeOptions.url ?? req.url,
        path: req.url.split('?')[0]!,
        headers: req.headers,
        query: req.query as Record<string, unknown>,
        requestBody: req.body,
        statusCode: reply.statusCode,
        contentType: reply.getHeader('content-type') as string | undefined,
        responseBody: typeof payload === 'string' ? payload : payload == null ? '' : String(payload),
      });
      return payload;
    });
  }

  // ---- OAuth ------------------------------------------------------------------------------------
  const clientById = (id: unknown) => opts.clients.find((c) => c.id === id);

  /** The consent request's parameters; a bad client or redirect URI is shown, never redirected to. */
  function authorizeParams(q: Record<string, unknown>): { ok: true; p: Record<string, string>; client: SimClient } | { ok: false; message: string } {
    const p = Object.fromEntries(Object.entries(q).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
    const client = clientById(p.client_id);
    if (!client) return { ok: false, message: 'Nieznana aplikacja (client_id).' };
    if (!p.redirect_uri || !client.redirectUris.includes(p.redirect_uri)) return { ok: false, message: 'Adres powrotu (redirect_uri) nie jest zarejestrowany dla tej aplikacji.' };
    if (p.response_type !== 'code') return { ok: false, message: 'Obsługiwany jest tylko response_type=code.' };
    if (p.code_challenge && p.code_challenge_method !== 'S256') return { ok: false, message: 'PKCE: obsługiwana jest tylko metoda S256.' };
    if (!p.code_challenge || !/^[A-Za-z0-9_-]{43}$/.test(p.code_challenge)) return { ok: false, message: 'PKCE: brak poprawnego code_challenge.' };
    return { ok: true, p, client };
  }

  const page = (title: string, body: string) => `<!doctype html>
<html lang="pl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} – Symulator Allegro</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f5f5f5;color:#222;line-height:1.5}
.banner{background:#ffd54f;color:#222;padding:.6rem 1rem;font-weight:600;border-bottom:2px solid #c9a400}
main{max-width:32rem;margin:1.5rem auto;background:#fff;padding:1.25rem;border-radius:8px}
h1{font-size:1.4rem;margin-top:0;color:#c24400}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
select{width:100%;font-size:1rem;padding:.6rem;min-height:44px}
.buttons{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1.25rem}
button{font-size:1rem;padding:.7rem 1.2rem;min-height:44px;border-radius:6px;border:2px solid #c24400;cursor:pointer}
.accept{background:#c24400;color:#fff}.deny{background:#fff;color:#222}
ul{padding-left:1.2rem}.muted{color:#555;font-size:.9rem}
</style></head><body>
<div class="banner" role="note">Symulator Allegro – to nie jest prawdziwe Allegro (tryb demo i testy)</div>
<main>${body}</main></body></html>`;

  app.get('/auth/oauth/authorize', async (req, reply) => {
    const r = authorizeParams(req.query as Record<string, unknown>);
    reply.type('text/html; charset=utf-8');
    if (!r.ok) return reply.code(400).send(page('Błąd', `<h1>Nie można kontynuować</h1><p>${esc(r.message)}</p>`));
    const hidden = Object.entries(r.p)
      .filter(([k]) => ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope'].includes(k))
      .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
      .join('');
    // The demo passes the login the autoresponder belongs to (login_hint, as in OpenID Connect): that
    // account is preselected, so clicking "Zezwól" authorizes the right one. Any account can still be chosen.
    const hint = (r.p.login_hint ?? '').toLowerCase();
    const options = opts.accounts
      .map((a) => `<option value="${esc(a.id)}"${hint && a.login.toLowerCase() === hint ? ' selected' : ''}>${esc(a.login)} (${esc(a.firstName)} ${esc(a.lastName)})</option>`)
      .join('');
    return page(
      'Zgoda na dostęp',
      `<h1>Aplikacja „${esc(r.client.name)}” prosi o dostęp do Twojego konta</h1>
<p>Po wyrażeniu zgody aplikacja będzie mogła:</p>
<ul><li>czytać i wysyłać wiadomości w Centrum wiadomości,</li><li>odczytać podstawowe dane Twojego konta (login).</li></ul>
<form method="post" action="/auth/oauth/authorize">${hidden}
<label for="account">Konto Allegro, na które się logujesz</label>
<select id="account" name="account">${options}</select>
<div class="buttons"><button class="accept" type="submit" name="decision" value="accept">Zezwól</button>
<button class="deny" type="submit" name="decision" value="deny">Odmów</button></div>
</form><p class="muted">W prawdziwym Allegro logujesz się tu swoim loginem i hasłem.</p>`,
    );
  });

  app.post('/auth/oauth/authorize', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const r = authorizeParams(body);
    if (!r.ok) return reply.code(400).type('text/html; charset=utf-8').send(page('Błąd', `<h1>Nie można kontynuować</h1><p>${esc(r.message)}</p>`));
    const target = new URL(r.p.redirect_uri!);
    if (body.decision !== 'accept') {
      target.searchParams.set('error', 'access_denied');
      target.searchParams.set('error_description', 'The user denied access');
    } else {
      const account = accounts.get(String(body.account ?? ''));
      if (!account) return reply.code(400).type('text/html; charset=utf-8').send(page('Błąd', '<h1>Wybierz konto</h1>'));
      const code = token(24);
      const requested = (r.p.scope ?? SCOPES.join(' ')).split(/\s+/).filter((s) => SCOPES.includes(s));
      codes.set(code, { clientId: r.client.id, redirectUri: r.p.redirect_uri!, challenge: r.p.code_challenge!, accountId: account.id, scopes: requested, expiresAt: now() + codeTtl, used: false, issued: [] });
      target.searchParams.set('code', code);
    }
    if (r.p.state) target.searchParams.set('state', r.p.state);
    return reply.redirect(target.toString(), 303);
  });

  function issue(accountId: string, clientId: string, scopes: string[]): TokenPair {
    const pair: TokenPair = {
      access_token: token(48),
      refresh_token: token(48),
      token_type: 'bearer',
      expires_in: Math.floor(accessTtl / 1000) - 1,
      scope: scopes.join(' '),
      allegro_api: true,
      jti: randomUUID(),
    };
    access.set(pair.access_token, { accountId, clientId, scopes, expiresAt: now() + accessTtl });
    refresh.set(pair.refresh_token, { accountId, clientId, scopes, expiresAt: now() + refreshTtl, rotatedAt: null, successor: null, revoked: false });
    return pair;
  }

  /** The fault planned for this call, if any, after its delay. */
  async function takeFault(req: FastifyRequest): Promise<Fault | undefined> {
    const fault = faults.find((f) => f.method === req.method && f.path === req.url.split('?')[0] && f.times > 0);
    if (!fault) return undefined;
    fault.times--;
    if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    return fault;
  }

  const invalidGrant = (reply: FastifyReply, description: string) => reply.code(400).send({ error: 'invalid_grant', error_description: description });

  app.post('/auth/oauth/token', async (req, reply) => {
    const fault = await takeFault(req);
    if (fault?.status) return reply.code(fault.status).send({ error: 'server_error', error_description: 'Service temporarily unavailable' });
    // Allegro takes the parameters in the query or the form body.
    const p = { ...(req.query as Record<string, unknown>), ...((req.body as Record<string, unknown>) ?? {}) } as Record<string, string | undefined>;
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
    const [id, secret] = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(/:(.*)/s) : [];
    const client = clientById(id);
    if (!client || secret === undefined || !eq(secret, client.secret)) {
      return reply.code(401).send({ error: 'invalid_client', error_description: 'Bad client credentials' });
    }
    if (p.grant_type === 'authorization_code') {
      stats.authorizationCode++;
      const code = p.code ? codes.get(p.code) : undefined;
      if (!code || code.clientId !== client.id) return invalidGrant(reply, 'Invalid authorization code');
      if (code.used) {
        // A code used twice is a sign of theft: what it gave is revoked too (RFC 6749, 4.1.2).
        for (const t of code.issued) access.delete(t);
        tokens.save();
        return invalidGrant(reply, 'Authorization code already used');
      }
      code.used = true;
      if (code.expiresAt <= now()) return invalidGrant(reply, 'Authorization code expired');
      if (p.redirect_uri !== code.redirectUri) return invalidGrant(reply, 'Redirect URI mismatch');
      if (!p.code_verifier || s256(p.code_verifier) !== code.challenge) return invalidGrant(reply, 'Invalid PKCE code_verifier');
      const pair = issue(code.accountId, client.id, code.scopes);
      code.issued.push(pair.access_token);
      tokens.save();
      return pair;
    }
    if (p.grant_type === 'refresh_token') {
      stats.refresh++;
      const rt = p.refresh_token ? refresh.get(p.refresh_token) : undefined;
      const reject = (d: string) => {
        stats.refreshRejected++;
        return invalidGrant(reply, d);
      };
      if (!rt || rt.clientId !== client.id || rt.revoked) return reject('Invalid refresh token');
      if (rt.expiresAt <= now()) return reject('Refresh token expired');
      if (rt.rotatedAt !== null) {
        // Rotated: the old token keeps working for the grace period, with the same answer.
        if (now() - rt.rotatedAt > grace || !rt.successor) return reject('Invalid refresh token');
        return rt.successor;
      }
      const pair = issue(rt.accountId, rt.clientId, rt.scopes);
      rt.rotatedAt = now();
      rt.successor = pair;
      tokens.save(); // before answering: the pair the app receives survives a restart
      return pair;
    }
    return reply.code(400).send({ error: 'unsupported_grant_type', error_description: 'Unsupported grant type' });
  });

  // ---- REST API -----------------------------------------------------------------------------------
  const api = async (req: FastifyRequest, reply: FastifyReply) => {
    stats.api++;
    reply.header('trace-id', randomUUID());
    const fault = await takeFault(req);
    if (fault?.status) {
      reply.code(fault.status).type(MEDIA_TYPE);
      return fault.status === 429
        ? reply.send(errors('TOO_MANY_REQUESTS', 'Too Many Requests.', 'Zbyt wiele zapytań. Spróbuj ponownie za chwilę.'))
        : reply.send(errors('InternalServerErrorException', 'Internal Server Error', 'Wystąpił błąd. Spróbuj ponownie później.'));
    }
    const accept = req.headers.accept ?? '';
    if (!accept.split(',').some((t) => t.trim().split(';')[0] === MEDIA_TYPE)) {
      return reply
        .code(406)
        .type(MEDIA_TYPE)
        .send(errors('NotAcceptableException', "Not acceptable representation requested. Please check 'Accept' request header", 'Żądanie zawiera niepoprawne dane. Skontaktuj się z autorem aplikacji.'));
    }
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const t = m ? access.get(m[1]!) : undefined;
    if (!m || !t) return reply.code(401).type(MEDIA_TYPE).send({ error: 'unauthorized', error_description: 'Full authentication is required to access this resource' });
    if (t.expiresAt <= now()) {
      // Allegro echoes the token here; the app must never log this body.
      return reply.code(401).type(MEDIA_TYPE).send({ error: 'invalid_token', error_description: `Access token expired: ${m[1]}` });
    }
    const account = accounts.get(t.accountId)!;
    (req as FastifyRequest & { simAccount: SimAccount; simScopes: string[] }).simAccount = account;
    (req as FastifyRequest & { simScopes: string[] }).simScopes = t.scopes;
  };
  const accountOf = (req: FastifyRequest) => (req as FastifyRequest & { simAccount: SimAccount }).simAccount;
  const requireScope = (req: FastifyRequest, reply: FastifyReply, scope: string) => {
    if ((req as FastifyRequest & { simScopes: string[] }).simScopes.includes(scope)) return true;
    reply.code(403).type(MEDIA_TYPE).send(errors('AccessDenied', 'Access is denied', 'Brak uprawnień do tego zasobu.'));
    return false;
  };

  const intParam = (v: unknown, def: number, min: number, max: number): number | null => {
    if (v === undefined) return def;
    if (typeof v !== 'string' || !/^\d{1,12}$/.test(v)) return null;
    const n = Number(v);
    return n >= min && n <= max ? n : null;
  };
  const unprocessable = (reply: FastifyReply, path: string, message: string) =>
    reply.code(422).type(MEDIA_TYPE).send(errors('VALIDATION_ERROR', message, 'Niepoprawne parametry zapytania.', path));

  const threadJson = (th: SimThread) => ({
    id: th.id,
    read: th.read,
    lastMessageDateTime: th.messages[0]?.createdAt ?? null,
    interlocutor: { login: th.buyerLogin, avatarUrl: `https://a.allegroimg.com/original/avatar/${encodeURIComponent(th.buyerLogin)}` },
  });
  const messageJson = (th: SimThread, msg: SimThread['messages'][number]) => ({
    id: msg.id,
    status: 'DELIVERED',
    type: 'MESSAGE_CENTER',
    createdAt: msg.createdAt,
    thread: { id: th.id },
    author: { login: msg.authorLogin, isInterlocutor: msg.fromBuyer },
    text: msg.text,
    subject: null,
    // MessageOffer is nullable in the spec, MessageOrder is not: a message without an order omits it.
    relatesTo: { offer: null },
    hasAdditionalAttachments: false,
    attachments: [],
    additionalInformation: null,
  });

  app.register(async (scope) => {
    // After body parsing, so that the contract recorder sees every request body, also of refused calls.
    scope.addHook('preValidation', api);

    scope.get('/me', async (req, reply) => {
      if (!requireScope(req, reply, 'allegro:api:profile:read')) return reply;
      const a = accountOf(req);
      return reply.type(MEDIA_TYPE).send({
        id: a.id,
        login: a.login,
        firstName: a.firstName,
        lastName: a.lastName,
        email: a.email,
        baseMarketplace: { id: 'allegro-pl' },
        company: { name: a.companyName, taxId: null },
        features: [],
      });
    });

    scope.get('/messaging/threads', async (req, reply) => {
      if (!requireScope(req, reply, 'allegro:api:messaging')) return reply;
      const q = req.query as Record<string, unknown>;
      const limit = intParam(q.limit, 20, 1, 20);
      const offset = intParam(q.offset, 0, 0, 15_000_000);
      if (limit === null) return unprocessable(reply, 'limit', 'limit must be between 1 and 20');
      if (offset === null) return unprocessable(reply, 'offset', 'offset must be between 0 and 15000000');
      const sorted = [...accountOf(req).threads].sort((x, y) => Date.parse(y.messages[0]?.createdAt ?? '0') - Date.parse(x.messages[0]?.createdAt ?? '0'));
      return reply.type(MEDIA_TYPE).send({ threads: sorted.slice(offset, offset + limit).map(threadJson), offset, limit });
    });

    const threadOf = (req: FastifyRequest) => accountOf(req).threads.find((th) => th.id === (req.params as { threadId: string }).threadId);

    scope.get('/messaging/threads/:threadId/messages', async (req, reply) => {
      if (!requireScope(req, reply, 'allegro:api:messaging')) return reply;
      const th = threadOf(req);
      if (!th) return reply.code(404).type(MEDIA_TYPE).send(errors('NOT_FOUND', 'Thread not found', 'Nie znaleziono wątku.'));
      const q = req.query as Record<string, unknown>;
      const limit = intParam(q.limit, 20, 1, 20);
      const offset = intParam(q.offset, 0, 0, 15_000);
      if (limit === null) return unprocessable(reply, 'limit', 'limit must be between 1 and 20');
      if (offset === null) return unprocessable(reply, 'offset', 'offset must be between 0 and 15000');
      return reply.type(MEDIA_TYPE).send({ messages: th.messages.slice(offset, offset + limit).map((msg) => messageJson(th, msg)), offset, limit });
    });

    scope.post('/messaging/threads/:threadId/messages', async (req, reply) => {
      if (!requireScope(req, reply, 'allegro:api:messaging')) return reply;
      const a = accountOf(req);
      const last = lastSend.get(a.id);
      if (last !== undefined && now() - last < sendInterval) {
        return reply.code(429).type(MEDIA_TYPE).send(errors('TOO_MANY_REQUESTS', 'Too Many Requests.', 'Zbyt wiele zapytań. Spróbuj ponownie za chwilę.'));
      }
      const th = threadOf(req);
      if (!th) return reply.code(404).type(MEDIA_TYPE).send(errors('NOT_FOUND', 'Thread not found', 'Nie znaleziono wątku.'));
      if (!(req.headers['content-type'] ?? '').startsWith(MEDIA_TYPE)) {
        return reply.code(415).type(MEDIA_TYPE).send(errors('UnsupportedMediaType', 'Unsupported Media Type', 'Żądanie zawiera niepoprawne dane.'));
      }
      const body = req.body as { text?: unknown } | undefined;
      const text = body?.text;
      if (typeof text !== 'string' || !text.trim()) return unprocessable(reply, 'text', 'text must not be empty');
      if (codePoints(text) > 2000) return unprocessable(reply, 'text', 'text must be at most 2000 characters');
      lastSend.set(a.id, now());
      stats.sends++;
      const msg = { id: randomUUID(), authorLogin: a.login, fromBuyer: false, text, createdAt: new Date(now()).toISOString() };
      th.messages.unshift(msg);
      th.read = true;
      return reply.code(201).type(MEDIA_TYPE).send(messageJson(th, msg));
    });
  });

  return { app, state };
}

const savedToken = z.object({ accountId: z.string(), clientId: z.string(), scopes: z.array(z.string()), expiresAt: z.number() });
const savedTokens = z.object({
  access: z.record(z.string(), savedToken),
  refresh: z.record(z.string(), savedToken.extend({ rotatedAt: z.number().nullable(), successor: z.unknown(), revoked: z.boolean() })),
});
const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * The simulator's tokens in a file (SimulatorOptions.tokenFile), read at start and written after
 * every change, atomically (a new file renamed over the old), readable by its owner only. Tokens that
 * can no longer be used (expired, revoked, rotated past the grace) are left out: they are refused
 * exactly as unknown ones. Without a file it does nothing.
 */
function tokenStore(file: string | undefined, access: Map<string, AccessToken>, refresh: Map<string, RefreshToken>, o: { now: () => number; grace: number }) {
  if (file && existsSync(file)) {
    const saved = savedTokens.safeParse(parseJson(readFileSync(file, 'utf8')));
    if (saved.success) {
      for (const [k, v] of Object.entries(saved.data.access)) access.set(k, v);
      for (const [k, v] of Object.entries(saved.data.refresh)) refresh.set(k, v as RefreshToken);
    } else {
      // A file that cannot be read (cut short, edited by hand) must not stop the demo: it is put aside
      // and named, and the simulator starts with no tokens (the demo's v3 sellers then authorize again).
      const aside = `${file}.unreadable-${Date.now()}`;
      renameSync(file, aside);
      process.emitWarning(`Allegro simulator: ${file} could not be read (${saved.error.issues[0]?.message ?? 'invalid'}); moved to ${aside}, starting without tokens`);
    }
  }
  return {
    save(): void {
      if (!file) return;
      const at = o.now();
      const live = <T extends { expiresAt: number }>(m: Map<string, T>, keep: (t: T) => boolean) => Object.fromEntries([...m].filter(([, t]) => t.expiresAt > at && keep(t)));
      const data = {
        _comment: 'The Allegro simulator\'s tokens (demo only), so that a restart does not forget the demo sellers\' authorizations.',
        access: live(access, () => true),
        refresh: live(refresh, (t) => !t.revoked && (t.rotatedAt === null || at - t.rotatedAt <= o.grace)),
      };
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
      renameSync(tmp, file);
    },
  };
}
