import type { ImapFlow } from 'imapflow';
import type NodemailerModule from 'nodemailer';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { classifyImapError, classifySmtpError, mailErrorFacts, type MailCheckCode } from './classify.js';
import { resolveMailServer, type MailServerPolicy, type ResolvedMailServer } from './servers.js';
import type { ServerSettings } from '../domain/model.js';
import { mailEndpoint, type MailRoutes } from './mail-route.js';

// imapflow and nodemailer are loaded at the first check, not at the server's start: together they
// are a third of the time a start spends loading modules, and a start answers pages before any check.
let imapflow: Promise<typeof import('imapflow')> | undefined;
let nodemailer: Promise<typeof NodemailerModule> | undefined;
const loadImapflow = () => (imapflow ??= import('imapflow'));
const loadNodemailer = () => (nodemailer ??= import('nodemailer').then((m) => m.default));

export interface MailCheckOptions {
  /** Connect, greeting and socket timeout, each. */
  timeoutMs: number;
  /** An extra trusted CA (PEM), added to the system's. */
  extraCa?: string | undefined;
  /** Which ports and addresses a connection may go to; checked after resolution, before connecting. */
  policy: MailServerPolicy;
  /** Demo only: Google's mail hosts routed to the local Google simulator (see mail-route.ts). */
  routes?: MailRoutes | undefined;
}

export type MailCheckResult =
  | { ok: true }
  | { ok: false; protocol: 'imap' | 'smtp'; code: MailCheckCode; serverText: string | null };

export interface InboxProof {
  total: number;
  /** Newest first. */
  latest: { from: string; subject: string; date: string | null; fromAllegro: boolean }[];
  allegroCount: number;
}

// With an extra certificate authority, the trust store (every root plus that one) is built once: built
// per connection it cost about 20 ms of CPU, more than the rest of a login.
const contexts = new Map<string, SecureContext>();
function trustedWith(extraCa: string): SecureContext {
  let ctx = contexts.get(extraCa);
  if (!ctx) {
    ctx = createSecureContext({ ca: [...rootCertificates, extraCa], minVersion: 'TLSv1.2' });
    contexts.set(extraCa, ctx);
  }
  return ctx;
}

// A routed (demo) connection trusts its route's CA alone: the simulator can never pass for anything else.
const routeContexts = new Map<string, SecureContext>();
function trustingOnly(ca: string): SecureContext {
  let ctx = routeContexts.get(ca);
  if (!ctx) {
    ctx = createSecureContext({ ca, minVersion: 'TLSv1.2' });
    routeContexts.set(ca, ctx);
  }
  return ctx;
}

/** Where a connection goes: a checked address (or a demo route's), its port, and a route's only trusted CA. */
interface Target {
  server: ResolvedMailServer;
  port: number;
  ca?: string;
}

function tlsOptions(target: Target, opts: MailCheckOptions) {
  return {
    minVersion: 'TLSv1.2' as const,
    // The connection goes to the checked address; the certificate must still name the host.
    servername: target.server.servername,
    ...(target.ca ? { secureContext: trustingOnly(target.ca) } : opts.extraCa ? { secureContext: trustedWith(opts.extraCa) } : {}),
  };
}

/**
 * The address to connect to, resolved once and checked against the policy; a refusal or a failed
 * lookup is a classified failure, and no connection is made.
 */
async function reach(protocol: 'imap' | 'smtp', host: string, port: number, opts: MailCheckOptions): Promise<({ ok: true } & Target) | Extract<MailCheckResult, { ok: false }>> {
  // Demo only: an explicit route to the Google simulator on loopback, exempt from the address policy
  // by being configured (config refuses routes outside the demo); the certificate is still checked.
  const routed = mailEndpoint(host, port, opts.routes);
  if (routed.ca) return { ok: true, server: { address: routed.host, family: 4, servername: routed.servername }, port: routed.port, ca: routed.ca };
  try {
    return { ok: true, server: await resolveMailServer(host, port, opts.policy, { timeoutMs: opts.timeoutMs }), port };
  } catch (err) {
    const facts = mailErrorFacts(err);
    return { ok: false, protocol, code: protocol === 'imap' ? classifyImapError(facts) : classifySmtpError(facts), serverText: null };
  }
}

/** Server text for support, short, with the password removed should a server ever echo it. */
function serverText(text: string | undefined, password: string): string | null {
  if (!text) return null;
  return text.split(password).join('***').slice(0, 300);
}

async function imapClient(s: ServerSettings, target: Target, password: string, opts: MailCheckOptions): Promise<ImapFlow> {
  if (s.imapSecurity === 'none') throw new Error('refusing to send a password without TLS');
  const { ImapFlow } = await loadImapflow();
  const client = new ImapFlow({
    host: target.server.address,
    servername: target.server.servername,
    port: target.port,
    secure: s.imapSecurity === 'tls',
    doSTARTTLS: s.imapSecurity === 'starttls' ? true : undefined,
    auth: { user: s.username, pass: password },
    logger: false,
    tls: tlsOptions(target, opts),
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs * 2,
    disableAutoIdle: true,
  });
  // imapflow emits 'error' after a failed or timed-out connection; unhandled, it would end the process.
  client.on('error', () => {});
  return client;
}

/** Resolves once the TCP socket is really closed (imapflow's own 'close' event comes before that). */
function socketGone(client: ImapFlow): Promise<void> {
  const socket = (client as unknown as { socket?: import('node:net').Socket | null }).socket;
  if (!socket || socket.closed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    socket.once('close', () => setImmediate(resolve));
    setTimeout(resolve, 2000).unref();
  });
}

/** Logs out and waits for the socket to close, so a caller counting connections frees its slot only then. */
async function closeImap(client: ImapFlow): Promise<void> {
  const gone = socketGone(client);
  try {
    if (client.usable) await client.logout();
  } catch {
    /* already gone */
  } finally {
    client.close();
    await gone;
  }
}

function imapFailure(err: unknown, password: string): MailCheckResult {
  const facts = mailErrorFacts(err);
  return { ok: false, protocol: 'imap', code: classifyImapError(facts), serverText: serverText(facts.text, password) };
}

/** A real IMAP login. Never throws: the outcome is classified. */
export async function checkImap(s: ServerSettings, password: string, opts: MailCheckOptions): Promise<MailCheckResult> {
  const target = await reach('imap', s.imapHost, s.imapPort, opts);
  if (!target.ok) return target;
  const client = await imapClient(s, target, password, opts);
  try {
    await client.connect();
    return { ok: true };
  } catch (err) {
    return imapFailure(err, password);
  } finally {
    await closeImap(client);
  }
}

/** A real SMTP AUTH (nodemailer's verify: connect, TLS, AUTH, QUIT). Never throws. */
export async function checkSmtp(s: ServerSettings, password: string, opts: MailCheckOptions): Promise<MailCheckResult> {
  if (s.smtpSecurity === 'none') throw new Error('refusing to send a password without TLS');
  const target = await reach('smtp', s.smtpHost, s.smtpPort, opts);
  if (!target.ok) return target;
  const transport = (await loadNodemailer()).createTransport({
    host: target.server.address,
    servername: target.server.servername,
    port: target.port,
    secure: s.smtpSecurity === 'tls',
    requireTLS: s.smtpSecurity === 'starttls',
    auth: { user: s.username, pass: password },
    tls: tlsOptions(target, opts),
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs * 2,
    dnsTimeout: opts.timeoutMs,
  });
  try {
    await transport.verify();
    return { ok: true };
  } catch (err) {
    const facts = mailErrorFacts(err);
    return { ok: false, protocol: 'smtp', code: classifySmtpError(facts), serverText: serverText(facts.text, password) };
  } finally {
    transport.close();
  }
}

/** IMAP first (it is what the autoresponder reads with), then SMTP; both must pass. */
export async function verifyMailbox(s: ServerSettings, password: string, opts: MailCheckOptions): Promise<MailCheckResult> {
  const imap = await checkImap(s, password, opts);
  if (!imap.ok) return imap;
  return checkSmtp(s, password, opts);
}

const isAllegro = (address: string | undefined) => !!address && /@(.+\.)?allegro\.pl$/i.test(address.trim());

/**
 * Proof that the mailbox works: the INBOX size and the newest messages' headers (only headers).
 * @throws the classified failure as { code } when the login fails
 */
export async function fetchInboxProof(s: ServerSettings, password: string, opts: MailCheckOptions, limit = 20): Promise<InboxProof | MailCheckResult> {
  const target = await reach('imap', s.imapHost, s.imapPort, opts);
  if (!target.ok) return target;
  const client = await imapClient(s, target, password, opts);
  try {
    await client.connect();
  } catch (err) {
    await closeImap(client);
    return imapFailure(err, password);
  }
  try {
    const lock = await client.getMailboxLock('INBOX', { readOnly: true });
    try {
      const mailbox = client.mailbox;
      const total = mailbox && typeof mailbox === 'object' ? mailbox.exists : 0;
      const latest: InboxProof['latest'] = [];
      if (total > 0) {
        const from = Math.max(1, total - limit + 1);
        for await (const msg of client.fetch(`${from}:*`, { envelope: true })) {
          const addr = msg.envelope?.from?.[0];
          latest.push({
            from: addr ? (addr.name ? `${addr.name} <${addr.address ?? ''}>` : (addr.address ?? '')) : '',
            subject: msg.envelope?.subject ?? '',
            date: msg.envelope?.date ? new Date(msg.envelope.date).toISOString() : null,
            fromAllegro: isAllegro(addr?.address),
          });
        }
      }
      latest.reverse();
      return { total, latest, allegroCount: latest.filter((m) => m.fromAllegro).length };
    } finally {
      lock.release();
    }
  } finally {
    await closeImap(client);
  }
}
