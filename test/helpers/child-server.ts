import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';
import { TEST_KEY_TEXT } from './core.js';
import { freePort } from './ports.js';

/**
 * The real server as a separate process, its output appended to dir/server.log: from the sources
 * (src/server.ts through tsx, what the tests test), or `built` as `npm start` runs it (scripts/start.mjs:
 * dist/ rebuilt if any source is newer, then compiled JavaScript).
 */
export function startServer(dir: string, env: Record<string, string>, opts: { built?: boolean } = {}): ChildProcess {
  const log = openSync(path.join(dir, 'server.log'), 'a');
  return spawn(process.execPath, opts.built ? ['scripts/start.mjs'] : ['--import', 'tsx', 'src/server.ts'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', log, log],
  });
}

/** The environment of a server on a database file, listening on 127.0.0.1:port with the test key. */
export function serverEnv(dbFile: string, port: number, extra: Record<string, string>): Record<string, string> {
  return { DATABASE_PATH: dbFile, APP_SECRET_KEY: TEST_KEY_TEXT, DEMO: '0', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl', HOST: '127.0.0.1', PORT: String(port), WATCH_ENABLED: '0', ...extra };
}

/** Resolves once the process has exited (at once if it already has). */
export const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/** Polls a condition every 10 ms; throws after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** `npm start`'s environment in a fresh folder, on free ports for the app and both simulators. */
export async function demoEnv(prefix: string, extra: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const [port, imap, smtp, submission, allegro] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    DATABASE_PATH: path.join(dir, 'app.db'),
    APP_SECRET_KEY: TEST_KEY_TEXT,
    DEMO: '1',
    HOST: '127.0.0.1',
    PORT: String(port),
    ALLEGRO_SIMULATOR_PORT: String(allegro),
    GOOGLE_SIMULATOR_IMAP_PORT: String(imap),
    GOOGLE_SIMULATOR_SMTP_PORT: String(smtp),
    GOOGLE_SIMULATOR_SUBMISSION_PORT: String(submission),
    ...extra,
  };
  return { dir, port, imap, allegro, env };
}

/** Polls the page every 20 ms; the time from `since` to the first 200, or throws after 60 s. */
export async function firstAnswer(url: string, since: number): Promise<number> {
  while (Date.now() - since < 60_000) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200) return Date.now() - since;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${url} did not answer within 60 s`);
}
