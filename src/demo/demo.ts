import { randomBytes } from 'node:crypto';
import { hashPassword } from '../crypto/password.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ATTENTION_REASONS } from '../migration/states.js';
import { DemoDataError } from '../errors.js';
import type { Actor } from '../domain/model.js';
import { applyImport, prepareImport, type ImportResult } from '../import/import.js';
import type { ImportDeps } from '../import/import.js';
import type { MigrationService } from '../migration/service.js';

/** What loading the demo uses: the import's dependencies, the state machine and the clock. */
export type DemoDeps = ImportDeps & { migrationService: MigrationService; now: () => Date };
import { SEEDED_APP_PASSWORD } from '../simulator/google/demo-passwords.js';
import { createAuthorizationService } from '../allegro/authorization.js';

const template = z.object({
  name: z.string().min(1),
  subject: z.string(),
  body: z.string().min(1),
  format: z.enum(['html', 'text']),
});

const step = z.discriminatedUnion('do', [
  z.object({ do: z.literal('start_v3'), autoresponder: z.string() }),
  z.object({ do: z.literal('start_app_password'), autoresponder: z.string() }),
  z.object({ do: z.literal('switched_v3'), autoresponder: z.string(), keepMailboxSecret: z.boolean().default(false) }),
  z.object({ do: z.literal('relinked'), autoresponder: z.string() }),
  z.object({ do: z.literal('needs_attention'), autoresponder: z.string(), reason: z.enum(ATTENTION_REASONS), errorCode: z.string().optional() }),
  z.object({ do: z.literal('reviewed'), autoresponder: z.string(), note: z.string() }),
]);

const scenarioSchema = z.object({
  languages: z.record(z.string(), z.enum(['pl', 'en'])),
  templates: z.object({ packs: z.record(z.string(), z.array(template)), assign: z.record(z.string(), z.array(z.string())) }),
  /** Mailboxes (seller id + address) that already use a verified app password. */
  appPasswords: z.array(z.object({ seller: z.string(), mailbox: z.string() })),
  steps: z.array(step),
});

export interface DemoResult {
  loaded: boolean;
  import?: ImportResult;
}

/**
 * The Allegro simulator running beside the app (the demo's ALLEGRO_ENV=simulator): it grants the
 * seeded v3 autoresponders real authorizations, as if their sellers had consented before the demo
 * began, and revokes the one the demo data says Allegro refused. Without it they have none.
 */
export interface DemoAllegro {
  grant(login: string): { accessToken: string; refreshToken: string; expiresIn: number; scope: string; allegroUserId: string; login: string };
  revoke(login: string): void;
}

/** A made-up app password in Google's format, so demo mailboxes look like relinked ones (the Google simulator accepts it). */
const DEMO_APP_PASSWORD = SEEDED_APP_PASSWORD;

/**
 * Loads the demo data on an empty database: the seller-tools export through the real import, then
 * the scenario (templates, languages, migrations in every state) through the real services. All of
 * it in one transaction: a broken demo file leaves the database empty, not half-filled.
 * @throws {DemoDataError} when a demo file is invalid
 */
export async function loadDemoIfEmpty(services: DemoDeps, demoDir: string, opts: { allegro?: DemoAllegro | undefined } = {}): Promise<DemoResult> {
  const { db, repos, migrationService, detection, secrets } = services;
  const allegro = opts.allegro;
  // Only its invalidate() is used (no Allegro client needed): the same path as a refused refresh token.
  const authorizations = createAuthorizationService(services, null);
  if (repos.sellers.count() > 0) return { loaded: false };
  const csv = readFileSync(path.join(demoDir, 'autoresponders.csv'));
  const parsedScenario = scenarioSchema.safeParse(JSON.parse(readFileSync(path.join(demoDir, 'scenario.json'), 'utf8')));
  if (!parsedScenario.success) throw new DemoDataError(parsedScenario.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const scenario = parsedScenario.data;
  const prepared = await prepareImport(csv, services);
  const actor: Actor = { type: 'system', id: 'demo' };

  const result = db.transaction(() => {
    const imported = applyImport(prepared, services, { actor, fileName: 'demo/autoresponders.csv' });
    if (imported.rejected) throw new DemoDataError(imported.problems.map((p) => `line ${p.line}: ${p.reason}`).join('; '));

    const sellerOf = (externalId: string) => {
      const s = repos.sellers.findByExternalId(externalId);
      if (!s) throw new DemoDataError(`unknown seller ${externalId}`);
      return s;
    };
    const arOf = (externalId: string) => {
      const a = repos.autoresponders.findByExternalId(externalId);
      if (!a) throw new DemoDataError(`unknown autoresponder ${externalId}`);
      return a;
    };

    for (const [seller, lang] of Object.entries(scenario.languages)) repos.sellers.setLanguage(sellerOf(seller).id, lang);
    for (const [ar, packs] of Object.entries(scenario.templates.assign)) {
      const list = packs.flatMap((p) => {
        const pack = scenario.templates.packs[p];
        if (!pack) throw new DemoDataError(`unknown template pack ${p}`);
        return pack;
      });
      repos.autoresponders.replaceTemplates(arOf(ar).id, list.map((t) => ({ name: t.name, subject: t.subject, body: t.body, bodyFormat: t.format })));
    }
    const verifiedAt = services.now().toISOString();
    /** A real authorization from the Allegro simulator, stored as the OAuth callback stores one (encrypted, audited). */
    const authorize = (sellerId: number): number | null => {
      const login = repos.sellers.getById(sellerId)?.allegroLogin;
      if (!allegro || !login) return null;
      const t = allegro.grant(login);
      const id = repos.authorizations.upsert({
        sellerId,
        allegroUserId: t.allegroUserId,
        allegroLogin: t.login,
        scopes: t.scope,
        confirmed: true,
        accessToken: secrets.encrypt(t.accessToken, 'oauth-access-token'),
        refreshToken: secrets.encrypt(t.refreshToken, 'oauth-refresh-token'),
        accessExpiresAt: new Date(services.now().getTime() + t.expiresIn * 1000).toISOString(),
      });
      repos.audit.record(actor, sellerId, { action: 'allegro.authorized', details: { authorizationId: id, allegroLogin: t.login, expectedLogin: login, mismatch: false, scopes: t.scope } });
      return id;
    };
    const setAppPassword = (mailboxId: number) =>
      repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt(DEMO_APP_PASSWORD, 'mailbox-secret'), kind: 'app_password', verifiedAt });
    for (const ap of scenario.appPasswords) {
      const seller = sellerOf(ap.seller);
      const box = repos.mailboxes.findBySellerAndEmail(seller.id, ap.mailbox);
      if (!box) throw new DemoDataError(`unknown mailbox ${ap.mailbox}`);
      setAppPassword(box.id);
      for (const a of repos.autoresponders.listByMailbox(box.id)) detection.refreshAutoresponder(a.id, actor);
    }
    for (const s of scenario.steps) {
      const a = arOf(s.autoresponder);
      const m = repos.migrations.findByAutoresponder(a.id)!;
      switch (s.do) {
        case 'start_v3':
          migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor });
          break;
        case 'start_app_password':
          migrationService.transition(m.id, 'start_app_password', 'in_progress_app_password', { actor });
          break;
        case 'switched_v3':
          migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor });
          repos.autoresponders.switchVersion(a.id, { version: 3, previousVersion: a.version === 3 ? null : a.version, authorizationId: authorize(a.sellerId) });
          if (!s.keepMailboxSecret && a.mailboxId) repos.mailboxes.setEncryptedSecret(a.mailboxId, null);
          migrationService.transition(m.id, 'switched_v3', 'switched_v3', { actor });
          break;
        case 'relinked':
          if (!a.mailboxId) throw new DemoDataError(`${s.autoresponder} has no mailbox`);
          setAppPassword(a.mailboxId);
          migrationService.transition(m.id, 'start_app_password', 'in_progress_app_password', { actor });
          migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor });
          break;
        case 'needs_attention': {
          // A v3 autoresponder whose authorization Allegro refused: revoked at the simulator and marked
          // invalid by the app, as after invalid_grant (which moves it to "authorize again").
          const authorizationId = repos.autoresponders.getById(a.id)!.authorizationId;
          if (s.reason === 'authorize_again' && authorizationId !== null) {
            allegro?.revoke(repos.authorizations.getById(authorizationId)!.allegroLogin);
            authorizations.invalidate(authorizationId, s.errorCode ?? 'invalid_grant');
            break;
          }
          migrationService.transition(m.id, 'needs_attention', 'needs_attention', { actor, reason: s.reason, errorCode: s.errorCode ?? null });
          break;
        }
        case 'reviewed':
          migrationService.transition(m.id, 'reviewed', 'reviewed', { actor, details: { note: s.note } });
          break;
      }
    }
    return imported;
  })();
  return { loaded: true, import: result };
}

export const DEMO_ADMIN_EMAIL = 'admin@demo.example';

/**
 * Demo mode only: the demo staff admin, with a fresh random password on every start (only its hash
 * is stored, so it cannot be shown again later). The caller prints it once.
 */
export async function ensureDemoAdmin(services: Pick<DemoDeps, 'db' | 'repos'>): Promise<{ email: string; password: string }> {
  const password = randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  services.db.transaction(() => {
    const { id, created } = services.repos.staff.upsert({ email: DEMO_ADMIN_EMAIL, passwordHash, role: 'admin' });
    // A new password ends the sessions signed in with the old one (as staff:create does for an existing address).
    if (!created) services.repos.sessions.destroyAllOf('staff', id);
    services.repos.audit.record({ type: 'system', id: 'demo' }, id, { action: created ? 'staff.created' : 'staff.password_reset', details: { email: DEMO_ADMIN_EMAIL, role: 'admin' } });
  })();
  return { email: DEMO_ADMIN_EMAIL, password };
}
