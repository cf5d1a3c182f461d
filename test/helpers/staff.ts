import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../src/crypto/password.js';
import type { Services } from '../../src/composition.js';
import type { StaffRole } from '../../src/domain/model.js';
import type { MigrationState } from '../../src/migration/states.js';
import { Agent } from './agent.js';
import { registerSecret } from './transcript.js';

export const STAFF_PASSWORD = 'Haslo-Wsparcia-2026!';
let cachedHash: Promise<string> | undefined;

/** Creates a staff member (one hash per test run: scrypt is slow on purpose). */
export async function createStaff(services: Services, email: string, role: StaffRole): Promise<number> {
  registerSecret(STAFF_PASSWORD);
  cachedHash ??= hashPassword(STAFF_PASSWORD);
  return services.repos.staff.upsert({ email, passwordHash: await cachedHash, role }).id;
}

/** A browser-like agent signed in to the console through the real form. */
export async function staffAgent(app: FastifyInstance, role: StaffRole, email = `${role}@wsparcie.example`): Promise<Agent> {
  await createStaff(app.services, email, role);
  const agent = new Agent(app);
  await agent.get('/staff/login');
  const res = await agent.post('/staff/login', { email, password: STAFF_PASSWORD });
  if (res.statusCode !== 303) throw new Error(`staff sign-in failed: ${res.statusCode} ${res.body.slice(0, 300)}`);
  return agent;
}

export interface SeedAccount {
  name: string;
  email: string;
  login?: string | null;
  language?: 'pl' | 'en';
  mailbox?: string;
  imapHost?: string;
  imapPort?: number;
  /** The mailbox's SMTP port (on imapHost, implicit TLS); 465 when not given. */
  smtpPort?: number;
  provider?: 'gmail' | 'workspace' | 'other' | 'unknown';
  version?: 1 | 2 | 3;
  /** Stored mailbox secret (encrypted), and its kind. */
  secret?: string;
  secretKind?: 'account_password' | 'app_password';
  /** Reuse this seller (external id) instead of creating one. */
  sellerExternalId?: string;
  /** Reuse a mailbox id. */
  mailboxId?: number;
  state?: MigrationState;
}

/**
 * Writes accounts straight through the repositories (fast, for hundreds of rows), each with a
 * migration created the way detection creates it. Returns the autoresponder ids.
 */
export function seedAccounts(services: Services, accounts: SeedAccount[]): { autoresponderId: number; sellerId: number; mailboxId: number | null }[] {
  const { db, repos, migrationService, secrets } = services;
  let n = repos.autoresponders.count();
  return db.transaction(() =>
    accounts.map((a) => {
      n++;
      const externalId = a.sellerExternalId ?? `S-${n}`;
      const sellerId =
        repos.sellers.findByExternalId(externalId)?.id ??
        repos.sellers.insert({ externalId, email: a.email, name: a.name, allegroLogin: a.login ?? null, language: a.language ?? 'pl' });
      let mailboxId = a.mailboxId ?? null;
      if (!mailboxId && a.mailbox !== undefined) {
        mailboxId = repos.mailboxes.insert({
          sellerId,
          email: a.mailbox,
          imapHost: a.imapHost ?? 'imap.gmail.com',
          imapPort: a.imapPort ?? 993,
          imapSecurity: 'tls',
          smtpHost: a.imapHost ?? 'smtp.gmail.com',
          smtpPort: a.smtpPort ?? 465,
          smtpSecurity: 'tls',
          username: a.mailbox,
        });
        const provider = a.provider ?? 'gmail';
        repos.mailboxes.setDetection(mailboxId, { google: provider === 'gmail' || provider === 'workspace', provider, rule: provider === 'gmail' ? 'gmail_address' : 'workspace_mx', detail: null } as never);
        registerSecret(a.secret);
        if (a.secret) repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt(a.secret, 'mailbox-secret'), kind: a.secretKind ?? 'account_password', verifiedAt: a.secretKind === 'app_password' ? new Date().toISOString() : null });
      }
      const version = a.version ?? 2;
      const autoresponderId = repos.autoresponders.insert({ sellerId, externalId: `AR-${n}`, version, mailboxId: version === 3 ? null : mailboxId });
      const m = migrationService.create(autoresponderId, { state: 'affected', rule: 'gmail_mailbox', detail: null } as never, { type: 'system', id: 'test' });
      const target = a.state ?? 'affected';
      if (target === 'relinked_app_password') {
        migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor: { type: 'system' } });
      } else if (target === 'switched_v3') {
        migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor: { type: 'system' } });
        migrationService.transition(m.id, 'switched_v3', 'switched_v3', { actor: { type: 'system' } });
      } else if (target === 'reviewed') {
        migrationService.transition(m.id, 'reviewed', 'reviewed', { actor: { type: 'system' } });
      } else if (target === 'needs_attention') {
        migrationService.transition(m.id, 'needs_attention', 'needs_attention', { actor: { type: 'system' }, reason: 'connection_failed', errorCode: 'MAIL_AUTH_FAILED' });
      } else if (target === 'not_affected') {
        migrationService.transition(m.id, 'detected', 'not_affected', { actor: { type: 'system' }, verdict: { state: 'not_affected', rule: 'not_google', detail: null } as never, details: { rule: 'not_google' } });
      } else if (target !== 'affected') {
        throw new Error(`seedAccounts: state ${target} not supported`);
      }
      return { autoresponderId, sellerId, mailboxId };
    }),
  )();
}

/** The one-time key a bulk confirmation page carries: the job is made once per key. */
export function confirmationKeyOf(body: string): string {
  const m = /name="confirmationKey" value="([0-9a-f-]{36})"/.exec(body);
  if (!m) throw new Error('the page carries no confirmation key');
  return m[1]!;
}

/** Waits (bounded) until a job is finished or cancelled. */
export async function waitForJob(app: FastifyInstance, jobId: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const job = app.services.repos.jobs.get(jobId);
    if (job && (job.status === 'done' || job.status === 'cancelled')) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${jobId} did not finish in ${timeoutMs} ms: ${JSON.stringify(app.services.repos.jobs.counts(jobId))}`);
}
