import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';
import { TEST_KEY_TEXT } from './core.js';

/** The real server (src/server.ts) as a separate process, its output appended to dir/server.log. */
export function startServer(dir: string, env: Record<string, string>): ChildProcess {
  const log = openSync(path.join(dir, 'server.log'), 'a');
  return spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', log, log],
  });
}

/** The environment of a server on a database file, listening on 127.0.0.1:port with the test key. */
export function serverEnv(dbFile: string, port: number, extra: Record<string, string>): Record<string, string> {
  return { DATABASE_PATH: dbFile, APP_SECRET_KEY: TEST_KEY_TEXT, DEMO: '0', HOST: '127.0.0.1', PORT: String(port), WATCH_ENABLED: '0', ...extra };
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
