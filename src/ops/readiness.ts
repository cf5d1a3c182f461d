import type { Db } from '../db/database.js';
import { MIGRATIONS } from '../db/migrations.js';
import { decryptSecret, encryptSecret, type Keyring } from '../crypto/secret-box.js';

export interface RunnerPulse {
  /** When the job runner last ended a pass (epoch ms), and whether that pass went through. */
  at: number | null;
  ok: boolean;
}

export interface Readiness {
  ready: boolean;
  /** Each part: 'ok', or why not. */
  checks: { database: string; schema: string; key: string; runner: string };
}

/**
 * Can this process serve? (`/readyz`, for a load balancer or a process manager.) Unlike liveness
 * (`/healthz`, one read), it writes: the database must take a write (a table created inside a
 * savepoint and rolled back, so nothing reaches the file), the schema must be the one this code
 * knows, the key must encrypt and decrypt, and the job runner must have ended a pass lately
 * (`quietMs`: it is woken at least every few seconds by a heartbeat) without failing.
 */
export function createReadiness(deps: { db: Db; keyring: Keyring; runner: () => RunnerPulse & { running: boolean }; quietMs: number; now?: () => number }) {
  const { db, keyring } = deps;
  const now = deps.now ?? Date.now;
  let stopping = false;
  const part = (fn: () => string) => {
    try {
      return fn();
    } catch (err) {
      return (err as Error).message || String(err);
    }
  };
  return {
    /** From the first signal on, the answer is "stopping": a load balancer sends no new requests. */
    stopping(): void {
      stopping = true;
    },
    check(): Readiness {
      const database = part(() => {
        if (!db.open) return 'closed';
        db.exec('SAVEPOINT readyz');
        try {
          db.exec('CREATE TABLE readyz_probe (x)');
        } finally {
          db.exec('ROLLBACK TO readyz');
          db.exec('RELEASE readyz');
        }
        return 'ok';
      });
      const schema = part(() => {
        const v = db.pragma('user_version', { simple: true }) as number;
        return v === MIGRATIONS.length ? 'ok' : `version ${v}, this code needs ${MIGRATIONS.length}`;
      });
      const key = part(() => (decryptSecret(keyring, encryptSecret(keyring, 'readyz', 'mailbox-secret'), 'mailbox-secret') === 'readyz' ? 'ok' : 'the key does not read what it wrote'));
      const runner = part(() => {
        if (stopping) return 'stopping';
        const r = deps.runner();
        if (!r.running) return 'not started';
        if (!r.ok) return 'its last pass failed';
        if (r.at === null || now() - r.at > deps.quietMs) return `no pass for over ${Math.round(deps.quietMs / 1000)} s`;
        return 'ok';
      });
      const checks = { database, schema, key, runner };
      return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
    },
  };
}
export type ReadinessProbe = ReturnType<typeof createReadiness>;
