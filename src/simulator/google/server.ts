import type { GoogleSimulatorConfig } from '../../config.js';
import { ensureSimulatorCertificates } from './certificates.js';
import { createDirectory, type GoogleDirectory } from './directory.js';
import { startImapSimulator } from './imap.js';
import { startSmtpSimulator } from './smtp.js';

export interface GoogleSimulator {
  /** The ports really listened on (a configured 0 becomes a free port). */
  imapPort: number;
  smtpPort: number;
  submissionPort: number;
  /** The simulator's CA (PEM): what the app trusts for routed connections. */
  ca: string;
  directory: GoogleDirectory;
  close(): Promise<void>;
}

/**
 * Starts the demo's Google mail servers on loopback: IMAP over TLS, SMTP with implicit TLS and SMTP
 * with STARTTLS, with the CA and certificate from `dir` (made on first start) and the mailboxes of the
 * demo export. Each server is closed again if a later one cannot start.
 */
export async function startGoogleSimulator(sim: GoogleSimulatorConfig, opts: { demoDir: string; now?: Date }): Promise<GoogleSimulator> {
  const certs = await ensureSimulatorCertificates(sim.dir);
  const directory = createDirectory({ demoDir: opts.demoDir, now: opts.now ?? new Date() });
  const common = { host: sim.host, key: certs.key, cert: certs.cert, directory };
  const started: { close(): Promise<void> }[] = [];
  let closing: Promise<void> | undefined;
  try {
    const imap = await startImapSimulator({ ...common, port: sim.imapPort });
    started.push(imap);
    const smtp = await startSmtpSimulator({ ...common, port: sim.smtpPort, security: 'tls' });
    started.push(smtp);
    const submission = await startSmtpSimulator({ ...common, port: sim.submissionPort, security: 'starttls' });
    started.push(submission);
    return {
      imapPort: imap.port,
      smtpPort: smtp.port,
      submissionPort: submission.port,
      ca: certs.ca,
      directory,
      // Once, however often it is asked (the app's onClose and a failed start may both ask).
      close: () => (closing ??= Promise.all(started.map((s) => s.close())).then(() => undefined)),
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.close().catch(() => {})));
    throw err;
  }
}

/** One line for the log: where the simulator listens and what it stands in for. */
export function describeGoogleSimulator(g: Pick<GoogleSimulator, 'imapPort' | 'smtpPort' | 'submissionPort'>, host = '127.0.0.1'): string {
  return `Google simulator (demo only): imap.gmail.com:993 → ${host}:${g.imapPort}, smtp.gmail.com:465 → ${host}:${g.smtpPort}, smtp.gmail.com:587 → ${host}:${g.submissionPort}`;
}
