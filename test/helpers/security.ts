import { createHash } from 'node:crypto';
import type { TestContext } from 'node:test';
import { SESSION_COOKIE } from '../../src/plugins/auth.js';
import { STAFF_COOKIE } from '../../src/plugins/staff-auth.js';
import type { StaffRole } from '../../src/domain/model.js';
import type { Db } from '../../src/db/database.js';
import { Agent } from './agent.js';
import { build } from './build.js';
import { createStaff, seedAccounts } from './staff.js';

export const PRINCIPALS = ['anonymous', 'seller', 'otherSeller', 'viewer', 'agent', 'admin'] as const;
export type Principal = (typeof PRINCIPALS)[number];

/** Who may use a route: anyone, the signed-in seller who owns what the URL names, or a staff role. */
export type Access = 'public' | 'seller' | StaffRole;

/**
 * Every route of the app and who may use it. The security tests compare this with the app's own route
 * table, so a new route fails them until it is listed here with its access.
 */
export const ACCESS: Record<string, Access> = {
  'GET /static/*': 'public',
  'GET /healthz': 'public',
  // Operators' routes: /readyz says only ok or why not; /metrics is guarded by METRICS_TOKEN or loopback (routes/health.ts).
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /': 'public',
  'GET /help': 'public',
  'GET /login': 'public',
  'POST /login': 'public',
  'POST /login/demo': 'public',
  'GET /login/sent': 'public',
  'GET /login/verify': 'public',
  'POST /login/verify': 'public',
  'POST /logout': 'public',
  'GET /migration': 'seller',
  'POST /mailboxes/:id/app-password/start': 'seller',
  'GET /mailboxes/:id/app-password/:step': 'seller',
  'POST /mailboxes/:id/app-password': 'seller',
  'POST /mailboxes/:id/app-password/fetch': 'seller',
  'POST /autoresponders/:id/v3/start': 'seller',
  'GET /autoresponders/:id/v3': 'seller',
  'POST /autoresponders/:id/v3/templates': 'seller',
  'GET /autoresponders/:id/v3/authorize': 'seller',
  'POST /autoresponders/:id/v3/authorize': 'seller',
  'GET /allegro/callback': 'seller',
  'GET /autoresponders/:id/v3/account': 'seller',
  'POST /autoresponders/:id/v3/account': 'seller',
  'GET /autoresponders/:id/v3/check': 'seller',
  'POST /autoresponders/:id/v3/switch': 'seller',
  'GET /autoresponders/:id/v3/done': 'seller',
  'POST /autoresponders/:id/v3/switch-back': 'seller',
  'POST /autoresponders/:id/v3/forget-password': 'seller',
  'GET /staff/login': 'public',
  'POST /staff/login': 'public',
  'POST /staff/logout': 'public',
  'GET /staff': 'viewer',
  'GET /staff/accounts': 'viewer',
  'GET /staff/accounts.csv': 'agent',
  'GET /staff/accounts/:id': 'viewer',
  'POST /staff/accounts/:id/recheck': 'agent',
  'POST /staff/accounts/:id/remind': 'agent',
  'POST /staff/accounts/:id/note': 'agent',
  'POST /staff/accounts/:id/review': 'agent',
  'POST /staff/accounts/:id/reopen': 'agent',
  'GET /staff/accounts/:id/seller-view': 'viewer',
  'GET /staff/accounts/:id/resend': 'agent',
  'POST /staff/accounts/:id/resend': 'agent',
  'POST /staff/jobs/confirm': 'agent',
  'POST /staff/jobs': 'agent',
  'GET /staff/jobs': 'viewer',
  'GET /staff/jobs/:id': 'viewer',
  'POST /staff/jobs/:id/cancel': 'agent',
  'GET /staff/users': 'admin',
  'POST /staff/users': 'admin',
  'POST /staff/users/:id': 'admin',
  'POST /staff/users/:id/unlock': 'admin',
  'POST /staff/users/:id/password': 'admin',
};

export const routeKeys = (routes: { method: string; url: string }[]) => routes.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`);

/**
 * The app with two sellers (each with a Google mailbox and a v2 autoresponder), one staff member of
 * each role and one job. Mail servers point at a closed loopback port, so any check fails at once.
 */
export async function securityFixture(t: TestContext, env: Record<string, string> = {}) {
  const built = await build(t, { env: { MIGRATION_DEADLINE: '2027-03-31', ...env } });
  const { app } = built;
  const s = app.services;
  const [own, other] = seedAccounts(s, [
    { name: 'Jan Kowalski', email: 'jan@gmail.com', login: 'jan_k', mailbox: 'jan@gmail.com', imapHost: '127.0.0.1', imapPort: 9, secret: 'Stare-Haslo-Konta-1', secretKind: 'account_password' },
    { name: 'Ola Nowak', email: 'ola@gmail.com', login: 'ola', mailbox: 'ola@gmail.com', imapHost: '127.0.0.1', imapPort: 9 },
  ]);
  const staff: Record<StaffRole, number> = {
    viewer: await createStaff(s, 'viewer@wsparcie.example', 'viewer'),
    agent: await createStaff(s, 'agent@wsparcie.example', 'agent'),
    admin: await createStaff(s, 'admin@wsparcie.example', 'admin'),
  };
  const target = await createStaff(s, 'target@wsparcie.example', 'viewer');
  const job = s.repos.jobs.create({ kind: 'review', selection: 'ids', filter: null, ids: '[]', note: 'x', confirmedCount: 0, createdBy: staff.admin });

  /** A route pattern with its parameters filled with the first seller's ids. */
  const url = (pattern: string) =>
    pattern
      .replace('/mailboxes/:id', `/mailboxes/${own!.mailboxId}`)
      .replace('/autoresponders/:id', `/autoresponders/${own!.autoresponderId}`)
      .replace('/staff/accounts/:id', `/staff/accounts/${own!.autoresponderId}`)
      .replace('/staff/jobs/:id', `/staff/jobs/${job}`)
      .replace('/staff/users/:id', `/staff/users/${target}`)
      .replace(':step', '1')
      .replace('*', 'app.css');

  /** A fresh browser-like client signed in as the principal (sessions made directly: no scrypt per cell). */
  async function client(who: Principal): Promise<Agent> {
    const agent = new Agent(app);
    if (who === 'seller' || who === 'otherSeller') agent.cookies.set(SESSION_COOKIE, s.repos.sessions.create('seller', (who === 'seller' ? own : other)!.sellerId, 3_600_000));
    if (who === 'viewer' || who === 'agent' || who === 'admin') agent.cookies.set(STAFF_COOKIE, s.repos.sessions.create('staff', staff[who], 3_600_000));
    // A page carrying a form, for the CSRF cookie and token a real page would give.
    await agent.get(who === 'seller' || who === 'otherSeller' ? '/migration' : who === 'anonymous' ? '/login' : '/staff');
    if (!agent.lastCsrf) throw new Error(`no CSRF token for ${who}`);
    return agent;
  }
  return { ...built, own: own!, other: other!, staff, target, job, url, client };
}

/**
 * A fingerprint of every table's rows. `except` leaves out tables that record refused attempts by
 * design (the audit log, staff sign-in failures).
 */
export function dbFingerprint(db: Db, except: string[] = []): Record<string, string> {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all() as string[];
  const out: Record<string, string> = {};
  for (const name of tables) {
    if (except.includes(name)) continue;
    // A session's sliding expiry moves with the clock on any request (at most once a minute), whatever
    // the request carried: under a slow, loaded run one refused form could otherwise "change" it.
    const columns = name === 'sessions' ? 'id_hash, kind, subject_id, created_at' : '*';
    const rows = db.prepare(`SELECT ${columns} FROM "${name}"`).raw().all();
    out[name] = createHash('sha256').update(JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? String(v) : Buffer.isBuffer(v) ? v.toString('base64') : v))).digest('hex').slice(0, 16);
  }
  return out;
}
