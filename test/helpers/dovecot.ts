import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { testCert } from './tls.js';
import { registerSecret } from './transcript.js';

export interface DovecotUser {
  user: string;
  password: string;
  /** Messages put in INBOX before the server starts. */
  messages?: { from: string; subject: string; date: Date; body?: string }[];
}

export interface Dovecot {
  /** Implicit-TLS IMAP port (like 993). */
  port: number;
  /** Plain IMAP port offering STARTTLS (like 143). */
  starttlsPort: number;
  dir: string;
  log(): string;
  /**
   * Changes a user's password (or adds the user). Dovecot looks at the passwd-file at most once a
   * second, so this resolves only when a login would see the change.
   */
  setPassword(user: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

const NOBODY = 65534;

/**
 * A private Dovecot (Debian's dovecot-imapd) on 127.0.0.1: its own config, self-signed certificate and
 * passwd-file in a fresh folder; no system file is read or touched. Mail runs as nobody (Dovecot
 * refuses uid 0). The auth penalty is off so wrong passwords fail fast. Its output goes to a log
 * file, not to a pipe nobody reads.
 */
export async function startDovecot(users: DovecotUser[], opts: { port?: number; starttlsPort?: number } = {}): Promise<Dovecot> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dovecot-'));
  chmodSync(dir, 0o755);
  const baseDir = path.join(dir, 'run');
  rmSync(baseDir, { recursive: true, force: true });
  const mailRoot = path.join(dir, 'mail');
  mkdirSync(mailRoot, { recursive: true });
  const cert = testCert();
  // Given ports bring a stopped server back where the app expects it.
  const port = opts.port ?? (await freePort());
  const starttlsPort = opts.starttlsPort ?? (await freePort());

  for (const u of users) registerSecret(u.password);
  const passwords = new Map(users.map((u) => [u.user, u.password]));
  // Written aside and renamed over the old file: Dovecot, which re-reads the file when it changes, never
  // sees it half-written (a truncated file read under load refused every user once).
  const writePasswd = () => {
    const tmp = path.join(dir, 'passwd.tmp');
    writeFileSync(tmp, [...passwords].map(([user, password]) => `${user}:{PLAIN}${password}::::::`).join('\n') + '\n', { mode: 0o644 });
    renameSync(tmp, path.join(dir, 'passwd'));
  };
  writePasswd();
  for (const u of users) {
    const maildir = path.join(mailRoot, u.user, 'Maildir');
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(path.join(maildir, sub), { recursive: true });
    (u.messages ?? []).forEach((m, i) => {
      const raw = [
        `From: ${m.from}`,
        `To: ${u.user}`,
        `Subject: ${m.subject}`,
        `Date: ${m.date.toUTCString()}`,
        `Message-ID: <seed-${i}@test.local>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        m.body ?? 'Treść wiadomości.',
        '',
      ].join('\r\n');
      const t = Math.floor(m.date.getTime() / 1000);
      writeFileSync(path.join(maildir, 'cur', `${t}.seed${i}.test:2,`), raw);
    });
    chownRecursive(path.join(mailRoot, u.user), NOBODY, NOBODY);
  }

  const conf = `
base_dir = ${baseDir}
state_dir = ${path.join(dir, 'state')}
instance_name = test-dovecot-${port}
log_path = ${path.join(dir, 'dovecot.log')}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <${cert.certFile}
ssl_key = <${cert.keyFile}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/Maildir
first_valid_uid = ${NOBODY}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${path.join(dir, 'passwd')}
}
userdb {
  driver = static
  args = uid=${NOBODY} gid=${NOBODY} home=${mailRoot}/%u
}
protocol imap {
  mail_max_userip_connections = 15
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${starttlsPort}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${port}
    ssl = yes
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
  const confFile = path.join(dir, 'dovecot.conf');
  writeFileSync(confFile, conf);
  const child: ChildProcess = spawn('/usr/sbin/dovecot', ['-F', '-c', confFile], { stdio: 'ignore' });
  let exited = false;
  child.on('exit', () => (exited = true));
  const logFile = path.join(dir, 'dovecot.log');
  // After stop() the folder is gone (no /tmp left behind); its log is kept in memory for a test that reads it then.
  let kept: string | undefined;
  const log = () => kept ?? (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const cleanUp = () => {
    if (kept !== undefined) return;
    kept = log();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port);
    await waitForPort(starttlsPort);
  } catch (err) {
    child.kill('SIGKILL');
    cleanUp();
    throw new Error(`Dovecot did not start: ${(err as Error).message}\n${log()}`);
  }
  return {
    port,
    starttlsPort,
    dir,
    log,
    async setPassword(user, password) {
      registerSecret(password);
      passwords.set(user, password);
      writePasswd();
      await new Promise((r) => setTimeout(r, 1100));
    },
    async stop() {
      if (!exited) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await done;
        clearTimeout(timer);
      }
      cleanUp();
    },
  };
}

function chownRecursive(p: string, uid: number, gid: number): void {
  chownSync(p, uid, gid);
  if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownRecursive(path.join(p, e), uid, gid);
}
