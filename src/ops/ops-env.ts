import { ConfigError } from '../config.js';

/**
 * The operations settings (issue 26), read from the environment here until config.ts takes them:
 * - METRICS_TOKEN: a bearer token for /metrics (at least 16 characters). Without it /metrics answers
 *   only on loopback, and never a request a proxy forwarded (one with X-Forwarded-For).
 * - SHUTDOWN_TIMEOUT_MS: how long a stop (SIGTERM) waits for requests and job items in flight
 *   before exiting anyway (default 25 s: longer than one mail check, shorter than the usual 30 s a
 *   process manager waits before SIGKILL). Items still running then go back to the queue at the next start.
 */
export interface OpsSettings {
  metricsToken: string | undefined;
  shutdownTimeoutMs: number;
}

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

/** @throws {ConfigError} naming the variable when a value is not usable */
export function readOpsEnv(env: NodeJS.ProcessEnv = process.env): OpsSettings {
  const token = env.METRICS_TOKEN?.trim() || undefined;
  if (token !== undefined && token.length < 16) throw new ConfigError('METRICS_TOKEN', 'Invalid configuration: METRICS_TOKEN: at least 16 characters');
  const raw = env.SHUTDOWN_TIMEOUT_MS?.trim();
  const shutdownTimeoutMs = raw ? Number(raw) : DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if (!Number.isInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 1000 || shutdownTimeoutMs > 600_000) {
    throw new ConfigError('SHUTDOWN_TIMEOUT_MS', `Invalid configuration: SHUTDOWN_TIMEOUT_MS: a whole number of milliseconds from 1000 to 600000 (got "${raw}")`);
  }
  return { metricsToken: token, shutdownTimeoutMs };
}
