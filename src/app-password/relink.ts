import { NotFoundError } from '../errors.js';
import type { Actor, Mailbox, ServerSettings } from '../domain/model.js';
import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { MigrationService } from '../migration/service.js';
import type { SecretsService } from '../crypto/secrets.js';
import type { InboxProof } from '../mail/check.js';
import type { MailCheckCode } from '../mail/classify.js';
import type { Checks } from '../checks/service.js';

export type RelinkOutcome =
  | { ok: true }
  | { ok: false; code: MailCheckCode; protocol: 'imap' | 'smtp'; serverText: string | null }
  | { ok: false; code: 'MIG_ERR_TOO_MANY_ATTEMPTS'; retryAt: string };

export interface RelinkDeps {
  db: Db;
  repos: Pick<Repositories, 'mailboxes' | 'autoresponders' | 'migrations' | 'audit'>;
  migrationService: MigrationService;
  secrets: Pick<SecretsService, 'encrypt'>;
  now: () => Date;
  checks: Pick<Checks, 'budget' | 'verifyNew' | 'checkMailbox'>;
}

/**
 * The app-password path's engine: a pasted app password is verified for real through the one door
 * (checks/: the attempt budget, one login at a time per mailbox, IMAP and SMTP), and only then stored
 * (encrypted) with the autoresponders that read the mailbox marked relinked, in the transaction that
 * records the check, with the audit entry. A failed check saves nothing but the attempt itself.
 */
export function createRelinkService(deps: RelinkDeps) {
  const { db, repos, migrationService, secrets, now, checks } = deps;

  function ownMailbox(sellerId: number, mailboxId: number): Mailbox {
    const m = repos.mailboxes.getById(mailboxId);
    if (!m || m.sellerId !== sellerId) throw new NotFoundError();
    return m;
  }

  const budget = (mailboxId: number) => checks.budget(mailboxId);

  /** Marks the seller's choice on every v1/v2 autoresponder that reads this mailbox. */
  function start(sellerId: number, mailboxId: number, actor: Actor): void {
    ownMailbox(sellerId, mailboxId);
    db.transaction(() => {
      for (const a of repos.autoresponders.listByMailbox(mailboxId)) {
        const m = repos.migrations.findByAutoresponder(a.id);
        if (a.version !== 3 && m && m.state !== 'in_progress_app_password') {
          migrationService.transitionIfAllowed(m.id, 'start_app_password', 'in_progress_app_password', { actor });
        }
      }
    })();
  }

  /**
   * @throws {NotFoundError} when the mailbox is not the seller's
   */
  async function relink(args: { sellerId: number; mailboxId: number; appPassword: string; servers: ServerSettings; actor: Actor }): Promise<RelinkOutcome> {
    const mailbox = ownMailbox(args.sellerId, args.mailboxId);
    return checks.verifyNew({
      mailbox,
      password: args.appPassword,
      servers: args.servers,
      // Runs in the transaction that records the passing check.
      onPass: () => {
        // Read again: what the new password replaces is what is stored now, not before the check.
        const replaced = repos.mailboxes.getById(mailbox.id)?.secretKind ?? 'none';
        repos.mailboxes.updateServers(mailbox.id, args.servers);
        repos.mailboxes.setEncryptedSecret(mailbox.id, { ciphertext: secrets.encrypt(args.appPassword, 'mailbox-secret'), kind: 'app_password', verifiedAt: now().toISOString() });
        repos.audit.record(args.actor, mailbox.id, {
          action: 'mailbox.relinked',
          details: { imapHost: args.servers.imapHost, smtpHost: args.servers.smtpHost, smtpPort: args.servers.smtpPort, replaced },
        });
        for (const a of repos.autoresponders.listByMailbox(mailbox.id).filter((x) => x.version !== 3)) {
          const m = repos.migrations.findByAutoresponder(a.id);
          if (m) migrationService.transitionIfAllowed(m.id, 'relinked', 'relinked_app_password', { actor: args.actor, details: { mailboxId: mailbox.id } });
        }
      },
    }) as Promise<RelinkOutcome>;
  }

  /**
   * "Pobierz e-maile": headers of the newest INBOX messages, read with the stored app password through
   * the door (the same budget as every login). Undefined when no app password is stored.
   */
  async function proof(sellerId: number, mailboxId: number): Promise<InboxProof | RelinkOutcome | undefined> {
    const mailbox = ownMailbox(sellerId, mailboxId);
    if (mailbox.secretKind !== 'app_password') return undefined;
    const c = await checks.checkMailbox({ mailboxId: mailbox.id, purpose: 'inbox', trigger: 'seller', actor: { type: 'seller', id: sellerId } });
    if (c.status === 'budget') return { ok: false, code: 'MIG_ERR_TOO_MANY_ATTEMPTS', retryAt: c.retryAt };
    // Its mailbox stayed busy (another check stuck): not the password's fault, try again later.
    if (c.status === 'busy') return { ok: false, code: 'MAIL_TIMEOUT', protocol: 'imap', serverText: null };
    if (c.status !== 'checked') return undefined;
    if (c.proof) return c.proof;
    return c.result as RelinkOutcome;
  }

  return { ownMailbox, budget, start, relink, proof };
}
export type RelinkService = ReturnType<typeof createRelinkService>;
