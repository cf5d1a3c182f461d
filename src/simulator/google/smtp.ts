import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { GoogleDirectory } from './directory.js';

export interface SmtpSimulator {
  port: number;
  close(): Promise<void>;
}

/**
 * Gmail's SMTP submission, played by smtp-server: implicit TLS (like smtp.gmail.com:465) or STARTTLS
 * (like :587, AUTH only after TLS), answering AUTH PLAIN/LOGIN with Gmail's replies from the directory.
 * Accepted messages are discarded: the simulator delivers nothing.
 */
export async function startSmtpSimulator(opts: { host: string; port: number; security: 'tls' | 'starttls'; key: string; cert: string; directory: GoogleDirectory }): Promise<SmtpSimulator> {
  const server = new SMTPServer({
    secure: opts.security === 'tls',
    key: opts.key,
    cert: opts.cert,
    minVersion: 'TLSv1.2',
    name: 'smtp.gmail.com',
    banner: 'ESMTP Symulator Google (demo)',
    authMethods: ['PLAIN', 'LOGIN'],
    // No AUTH before STARTTLS, as at Gmail.
    allowInsecureAuth: false,
    logger: false,
    // Closing the demo must not wait for a client that keeps its connection open.
    closeTimeout: 500,
    onAuth(auth, _session, done) {
      const answer = opts.directory.login(auth.username ?? '', auth.password ?? '', 'smtp');
      if (answer.ok) return done(null, { user: answer.address });
      // smtp-server sends an array message as a multi-line reply (534-…, 534 …), as Gmail does.
      const err = Object.assign(new Error(answer.smtp.lines.join(' ')), { responseCode: answer.smtp.responseCode });
      (err as unknown as { message: readonly string[] }).message = answer.smtp.lines;
      return done(err);
    },
    onData(stream, _session, done) {
      stream.resume();
      stream.on('end', () => done());
    },
  });
  // Aborted handshakes and dropped clients surface as 'error' events; the simulator keeps serving.
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
