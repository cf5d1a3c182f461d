import { SMTPServer, type SMTPServerAuthentication } from 'smtp-server';
import { freePort } from './ports.js';
import { testCert } from './tls.js';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpOptions {
  /** 'tls' = implicit TLS (like 465), 'starttls' (like 587), 'plain' for the app's own outgoing relay. */
  security: 'tls' | 'starttls' | 'plain';
  /** Accepted logins; omit for a relay that needs no AUTH. */
  users?: Record<string, string>;
  /** A password that makes the server answer with this reply (e.g. Gmail's 534-5.7.9). */
  replies?: Record<string, { code: number; text: string }>;
  /** Wait this long after the end of DATA before answering 250 (a slow server: widens the window in which a client may die). */
  acceptDelayMs?: number;
  /** Wait this long before answering AUTH (a slow login: a window in which the app may be killed). */
  authDelayMs?: number;
  /** Listen on this port (to bring a stopped server back where the app expects it). */
  port?: number;
  /**
   * The answer to RCPT TO for an address, given how many times it was asked for it (1 the first
   * time): a refusal such as 550 5.1.1 or 451 4.3.0, or nothing to accept it.
   */
  rcpt?: (address: string, nth: number) => { code: number; text: string } | undefined;
  /**
   * The answer to the end of DATA for a message to this recipient (after the final "."): a refusal
   * such as 451 or 550, or nothing to accept it. A refused message is not recorded as received.
   */
  dataReply?: (to: string) => { code: number; text: string } | undefined;
  /**
   * A message to this recipient is taken whole (and recorded as received) but never answered: the
   * server drops the connection after the final "." — a relay that stalls, for the sender "unknown".
   */
  dataDrop?: (to: string) => boolean;
}

export interface TestSmtp {
  port: number;
  received: ReceivedMail[];
  /** Every RCPT TO the server was asked, accepted or refused, in order (lower-cased). */
  rcpts: string[];
  stop(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1 (the smtp-server package), recording every message it accepts. */
export async function startSmtp(opts: SmtpOptions): Promise<TestSmtp> {
  const cert = testCert();
  const port = opts.port ?? (await freePort());
  const received: ReceivedMail[] = [];
  const rcpts: string[] = [];
  const needsAuth = !!opts.users;
  const server = new SMTPServer({
    secure: opts.security === 'tls',
    key: cert.key,
    cert: cert.cert,
    hideSTARTTLS: opts.security !== 'starttls',
    authOptional: !needsAuth,
    disabledCommands: needsAuth ? [] : ['AUTH'],
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth: SMTPServerAuthentication, _session, done) {
      const cb = (...args: Parameters<typeof done>) => (opts.authDelayMs ? void setTimeout(() => done(...args), opts.authDelayMs) : done(...args));
      const reply = auth.password ? opts.replies?.[auth.password] : undefined;
      if (reply) return cb(Object.assign(new Error(reply.text), { responseCode: reply.code }));
      if (auth.username && opts.users?.[auth.username] === auth.password) return cb(null, { user: auth.username });
      return cb(Object.assign(new Error('5.7.8 Username and Password not accepted.'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, cb) {
      const to = address.address.toLowerCase();
      rcpts.push(to);
      const reply = opts.rcpt?.(to, rcpts.filter((r) => r === to).length);
      if (reply) return cb(Object.assign(new Error(reply.text), { responseCode: reply.code }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const first = session.envelope.rcptTo[0]?.address.toLowerCase() ?? '';
        const refusal = opts.dataReply?.(first);
        if (refusal) return cb(Object.assign(new Error(refusal.text), { responseCode: refusal.code }));
        if (opts.dataDrop?.(first)) {
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          for (const c of (server as unknown as { connections: Set<{ id: string; close(): void }> }).connections ?? []) if (c.id === session.id) c.close();
          return;
        }
        if (opts.acceptDelayMs) {
          // The message is complete once the final "." arrived: a real server queues it then, whatever happens to the client.
          const mail = { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') };
          received.push(mail);
          setTimeout(() => cb(), opts.acceptDelayMs);
          return;
        }
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  // Aborted TLS handshakes (a client that distrusts the test certificate) surface as 'error' events.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    port,
    received,
    rcpts,
    // Closes the listener and every open connection (a server going down, not draining politely).
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of (server as unknown as { connections: Set<{ close(): void }> }).connections ?? []) c.close();
      }),
  };
}

/** Decodes a quoted-printable body enough to find links in it. */
export function decodeQuotedPrintable(raw: string): string {
  const bytes = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  // The escapes are bytes of UTF-8: read them back as such.
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
