import { provesNothingAboutPassword, type MailCheckCode } from '../mail/classify.js';
import { NotFoundError } from '../errors.js';
import type { Actor } from '../domain/model.js';
import type { Mailbox, ServerSettings } from '../domain/model.js';
import type { Services } from '../composition.js';
import { fetchInboxProof, verifyMailbox, type InboxProof, type MailCheckOptions } from '../mail/check.js';

/**
 * Google locks an account that fails too often: at most this many seller verifications per window.
 * Only checks Google answered count: one that never reached a verdict (unreachable server, TLS,
 * Google's own error — see provesNothingAboutPassword) cannot lock the account and is not counted.
 */
export const MAX_VERIFICATIONS = 5;
export const VERIFICATION_WINDOW_MS = 15 * 60_000;
/** Checks of any outcome per window, so the form cannot be used to hammer a server that is down. */
export const MAX_CHECKS = 15;

export type RelinkOutcome =
  | { ok: true }
  | { ok: false; code: MailCheckCode; protocol: 'imap' | 'smtp'; serverText: string | null }
  | { ok: false; code: 'MIG_ERR_TOO_MANY_ATTEMPTS'; retryAt: string };

export interface AttemptBudget {
  /** Counted attempts in the window (checks that proved nothing about the password are not). */
  used: number;
  remaining: number;
  /** When the budget opens again, if it is used up. */
  retryAt: string | null;
  /** What is used up: the counted attempts, or (rarely) the checks of any outcome. */
  exhausted: 'attempts' | 'checks' | null;
}

/**
 * The app-password path's engine: verify a pasted app password with a real IMAP login and SMTP AUTH,
 * and only then store it (encrypted) and mark the autoresponders that read the mailbox relinked, in
 * one transaction with the audit entry. A failed check saves nothing but the attempt itself.
 */
export function createRelinkService(services: Services, checkOptions: MailCheckOptions) {
  const { db, repos, migrationService, secrets, now } = services;

  function ownMailbox(sellerId: number, mailboxId: number): Mailbox {
    const m = repos.mailboxes.getById(mailboxId);
    if (!m || m.sellerId !== sellerId) throw new NotFoundError();
    return m;
  }

  function budget(mailboxId: number): AttemptBudget {
    const since = now().getTime() - VERIFICATION_WINDOW_MS;
    // Newest first; a window holds at most MAX_CHECKS seller checks, staff checks may sit between them.
    const recent = repos.connectionChecks.listByMailbox(mailboxId, 200).filter((c) => c.trigger === 'seller' && Date.parse(c.at) > since);
    const counted = recent.filter((c) => c.ok || !provesNothingAboutPassword(c.code));
    const opensAt = (checks: typeof recent, max: number) => new Date(Date.parse(checks[max - 1]!.at) + VERIFICATION_WINDOW_MS).toISOString();
    const exhausted = counted.length >= MAX_VERIFICATIONS ? 'attempts' : recent.length >= MAX_CHECKS ? 'checks' : null;
    return {
      used: counted.length,
      remaining: exhausted ? 0 : MAX_VERIFICATIONS - counted.length,
      // The window opens when the oldest check that still fills it expires.
      retryAt: exhausted === 'attempts' ? opensAt(counted, MAX_VERIFICATIONS) : exhausted === 'checks' ? opensAt(recent, MAX_CHECKS) : null,
      exhausted,
    };
  }

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
    const b = budget(mailbox.id);
    if (b.remaining === 0) return { ok: false, code: 'MIG_ERR_TOO_MANY_ATTEMPTS', retryAt: b.retryAt! };

    const result = await verifyMailbox(args.servers, args.appPassword, checkOptions);
    const autoresponders = repos.autoresponders.listByMailbox(mailbox.id).filter((a) => a.version !== 3);

    if (!result.ok) {
      db.transaction(() => {
        repos.connectionChecks.record({ mailboxId: mailbox.id, autoresponderId: null, kind: 'mail', trigger: 'seller', ok: false, code: result.code, protocol: result.protocol, detail: result.serverText });
        for (const a of autoresponders) {
          const m = repos.migrations.findByAutoresponder(a.id);
          if (m) migrationService.recordCheck(m.id, result.code);
        }
      })();
      return result;
    }

    db.transaction(() => {
      // Read again: what the new password replaces is what is stored now, not before the check.
      const replaced = repos.mailboxes.getById(mailbox.id)?.secretKind ?? 'none';
      repos.connectionChecks.record({ mailboxId: mailbox.id, autoresponderId: null, kind: 'mail', trigger: 'seller', ok: true, code: null, protocol: null, detail: null });
      repos.mailboxes.updateServers(mailbox.id, args.servers);
      repos.mailboxes.setEncryptedSecret(mailbox.id, {
        ciphertext: secrets.encrypt(args.appPassword, 'mailbox-secret'),
        kind: 'app_password',
        verifiedAt: now().toISOString(),
      });
      repos.audit.append({
        actor: args.actor,
        action: 'mailbox.relinked',
        targetType: 'mailbox',
        targetId: mailbox.id,
        details: { imapHost: args.servers.imapHost, smtpHost: args.servers.smtpHost, smtpPort: args.servers.smtpPort, replaced },
      });
      for (const a of autoresponders) {
        const m = repos.migrations.findByAutoresponder(a.id);
        if (!m) continue;
        migrationService.recordCheck(m.id, null);
        migrationService.transitionIfAllowed(m.id, 'relinked', 'relinked_app_password', { actor: args.actor, details: { mailboxId: mailbox.id } });
      }
    })();
    return { ok: true };
  }

  /** Headers of the newest INBOX messages, read with the stored app password. */
  async function proof(sellerId: number, mailboxId: number): Promise<InboxProof | RelinkOutcome | undefined> {
    const mailbox = ownMailbox(sellerId, mailboxId);
    const stored = repos.mailboxes.getEncryptedSecret(mailbox.id);
    if (!stored || mailbox.secretKind !== 'app_password') return undefined;
    return fetchInboxProof(mailbox, secrets.decrypt(stored, 'mailbox-secret'), checkOptions) as Promise<InboxProof | RelinkOutcome>;
  }

  return { ownMailbox, budget, start, relink, proof };
}
export type RelinkService = ReturnType<typeof createRelinkService>;
