import type { Db } from '../db/database.js';
import type { MailboxRule, MailboxVerdict, Provider } from '../domain/model.js';
import type { Security, SecretKind, ServerSettings, Mailbox } from '../domain/model.js';

const COLUMNS = `id, seller_id AS sellerId, email, imap_host AS imapHost, imap_port AS imapPort,
  imap_security AS imapSecurity, smtp_host AS smtpHost, smtp_port AS smtpPort, smtp_security AS smtpSecurity,
  username, secret IS NOT NULL AS hasSecret, secret_kind AS secretKind, secret_verified_at AS secretVerifiedAt,
  provider, detection_rule AS detectionRule, detection_detail AS detectionDetail, detected_at AS detectedAt,
  created_at AS createdAt, updated_at AS updatedAt`;

type Row = Omit<Mailbox, 'hasSecret'> & { hasSecret: number };
const toMailbox = (r: Row | undefined): Mailbox | undefined => (r ? { ...r, hasSecret: r.hasSecret === 1 } : undefined);

export function createMailboxesRepository(db: Db, now: () => Date = () => new Date()) {
  const byId = db.prepare(`SELECT ${COLUMNS} FROM mailboxes WHERE id = ?`);
  const bySellerAndEmail = db.prepare(`SELECT ${COLUMNS} FROM mailboxes WHERE seller_id = ? AND email = ?`);
  const bySeller = db.prepare(`SELECT ${COLUMNS} FROM mailboxes WHERE seller_id = ? ORDER BY id`);
  const all = db.prepare(`SELECT ${COLUMNS} FROM mailboxes ORDER BY id`);
  const summariesBySeller = db.prepare(
    `SELECT id, email, secret IS NOT NULL AS hasSecret, secret_kind AS secretKind, secret_verified_at AS secretVerifiedAt,
       provider, detection_rule AS detectionRule, detection_detail AS detectionDetail FROM mailboxes WHERE seller_id = ?`,
  );
  const secret = db.prepare(`SELECT secret FROM mailboxes WHERE id = ?`).pluck();
  const insert = db.prepare(
    `INSERT INTO mailboxes (seller_id, email, imap_host, imap_port, imap_security, smtp_host, smtp_port, smtp_security,
       username, created_at, updated_at)
     VALUES (@sellerId, @email, @imapHost, @imapPort, @imapSecurity, @smtpHost, @smtpPort, @smtpSecurity, @username, @at, @at)`,
  );
  const insertWithSecret = db.prepare(
    `INSERT INTO mailboxes (seller_id, email, imap_host, imap_port, imap_security, smtp_host, smtp_port, smtp_security,
       username, secret, secret_kind, created_at, updated_at)
     VALUES (@sellerId, @email, @imapHost, @imapPort, @imapSecurity, @smtpHost, @smtpPort, @smtpSecurity, @username, @secret, @kind, @at, @at)`,
  );
  const updateServers = db.prepare(
    `UPDATE mailboxes SET imap_host = @imapHost, imap_port = @imapPort, imap_security = @imapSecurity,
       smtp_host = @smtpHost, smtp_port = @smtpPort, smtp_security = @smtpSecurity, username = @username, updated_at = @at
     WHERE id = @id`,
  );
  const setSecret = db.prepare(
    `UPDATE mailboxes SET secret = @secret, secret_kind = @kind, secret_verified_at = @verifiedAt, updated_at = @at WHERE id = @id`,
  );
  const setDetection = db.prepare(
    `UPDATE mailboxes SET provider = @provider, detection_rule = @rule, detection_detail = @detail, detected_at = @at
     WHERE id = @id`,
  );
  return {
    getById: (id: number) => toMailbox(byId.get(id) as Row | undefined),
    findBySellerAndEmail: (sellerId: number, email: string) =>
      toMailbox(bySellerAndEmail.get(sellerId, email.trim()) as Row | undefined),
    listBySeller: (sellerId: number) => (bySeller.all(sellerId) as Row[]).map((r) => toMailbox(r)!),
    /** A seller's mailboxes with only what the seller's migration page shows of them. */
    listSummariesBySeller: (sellerId: number) =>
      // In id order, sorted here: the (seller_id, email) index gives another order, and an ORDER BY
      // that no index gives costs SQLite a temporary b-tree (a temporary file's set-up) at every call.
      (summariesBySeller.all(sellerId) as (Omit<MailboxSummary, 'hasSecret'> & { hasSecret: number })[])
        .sort((x, y) => x.id - y.id)
        .map((r) => ({ ...r, hasSecret: r.hasSecret === 1 })) as MailboxSummary[],
    listAll: () => (all.all() as Row[]).map((r) => toMailbox(r)!),
    insert(m: ServerSettings & { sellerId: number; email: string }): number {
      return Number(insert.run({ ...m, at: now().toISOString() }).lastInsertRowid);
    },
    /**
     * Inserts a mailbox with its secret (an already encrypted one, or none) and returns it as stored,
     * without reading it back: a bulk writer (the import) makes a mailbox in one statement, not three.
     */
    create(m: ServerSettings & { sellerId: number; email: string; secret: { ciphertext: string; kind: SecretKind } | null }): Mailbox {
      const at = now().toISOString();
      const { secret, ...fields } = m;
      const id = Number(insertWithSecret.run({ ...fields, secret: secret?.ciphertext ?? null, kind: secret?.kind ?? null, at }).lastInsertRowid);
      return {
        id,
        ...fields,
        hasSecret: secret !== null,
        secretKind: secret?.kind ?? null,
        secretVerifiedAt: null,
        provider: 'unknown',
        detectionRule: 'not_checked',
        detectionDetail: null,
        detectedAt: null,
        createdAt: at,
        updatedAt: at,
      };
    },
    updateServers(id: number, s: ServerSettings): void {
      updateServers.run({ id, ...s, at: now().toISOString() });
    },
    /** The encrypted secret (ciphertext), for the services that decrypt it. */
    getEncryptedSecret: (id: number) => (secret.get(id) as string | null | undefined) ?? null,
    /** Stores an already encrypted secret; null clears it. */
    setEncryptedSecret(id: number, value: { ciphertext: string; kind: SecretKind; verifiedAt: string | null } | null): void {
      setSecret.run({
        id,
        secret: value?.ciphertext ?? null,
        kind: value?.kind ?? null,
        verifiedAt: value?.verifiedAt ?? null,
        at: now().toISOString(),
      });
    },
    /** Stores a verdict; returns the mailbox's detection fields as now stored. */
    setDetection(id: number, v: MailboxVerdict): Pick<Mailbox, 'provider' | 'detectionRule' | 'detectionDetail' | 'detectedAt'> {
      const at = now().toISOString();
      setDetection.run({ id, provider: v.provider, rule: v.rule, detail: v.detail, at });
      return { provider: v.provider, detectionRule: v.rule, detectionDetail: v.detail, detectedAt: at };
    },
  };
}
export type MailboxesRepository = ReturnType<typeof createMailboxesRepository>;

/** A mailbox as the seller's migration page reads it: its address, its secret's kind and its detection. */
export type MailboxSummary = Pick<Mailbox, 'id' | 'email' | 'hasSecret' | 'secretKind' | 'secretVerifiedAt' | 'provider' | 'detectionRule' | 'detectionDetail'>;
