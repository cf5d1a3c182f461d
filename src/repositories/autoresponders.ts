import type { Db } from '../db/database.js';
import type { Version, Autoresponder, ReplyTemplate, ReplyTemplateInput } from '../domain/model.js';

const COLUMNS = `id, seller_id AS sellerId, external_id AS externalId, version, previous_version AS previousVersion,
  mailbox_id AS mailboxId, authorization_id AS authorizationId, created_at AS createdAt, updated_at AS updatedAt`;

export function createAutorespondersRepository(db: Db, now: () => Date = () => new Date()) {
  const byId = db.prepare(`SELECT ${COLUMNS} FROM autoresponders WHERE id = ?`);
  const byExternalId = db.prepare(`SELECT ${COLUMNS} FROM autoresponders WHERE external_id = ?`);
  const bySeller = db.prepare(`SELECT ${COLUMNS} FROM autoresponders WHERE seller_id = ? ORDER BY id`);
  const byMailbox = db.prepare(`SELECT ${COLUMNS} FROM autoresponders WHERE mailbox_id = ? ORDER BY id`);
  const byAuthorization = db.prepare(`SELECT ${COLUMNS} FROM autoresponders WHERE authorization_id = ? ORDER BY id`);
  const insert = db.prepare(
    `INSERT INTO autoresponders (seller_id, external_id, version, mailbox_id, created_at, updated_at)
     VALUES (@sellerId, @externalId, @version, @mailboxId, @at, @at)`,
  );
  const update = db.prepare(
    `UPDATE autoresponders SET version = @version, mailbox_id = @mailboxId, updated_at = @at WHERE id = @id`,
  );
  const switchVersion = db.prepare(
    `UPDATE autoresponders SET version = @version, previous_version = @previousVersion, authorization_id = @authorizationId,
       updated_at = @at WHERE id = @id`,
  );
  const templates = db.prepare(
    `SELECT id, autoresponder_id AS autoresponderId, position, name, subject, body, body_format AS bodyFormat
       FROM reply_templates WHERE autoresponder_id = ? ORDER BY position`,
  );
  const templateNamesBySeller = db.prepare(
    `SELECT t.autoresponder_id, t.name FROM autoresponders a JOIN reply_templates t ON t.autoresponder_id = a.id
      WHERE a.seller_id = ? ORDER BY a.id, t.position`,
  ).raw();
  const deleteTemplates = db.prepare(`DELETE FROM reply_templates WHERE autoresponder_id = ?`);
  const insertTemplate = db.prepare(
    `INSERT INTO reply_templates (autoresponder_id, position, name, subject, body, body_format, created_at, updated_at)
     VALUES (@autoresponderId, @position, @name, @subject, @body, @bodyFormat, @at, @at)`,
  );
  const count = db.prepare(`SELECT count(*) FROM autoresponders`).pluck();
  return {
    getById: (id: number) => byId.get(id) as Autoresponder | undefined,
    findByExternalId: (externalId: string) => byExternalId.get(externalId) as Autoresponder | undefined,
    listBySeller: (sellerId: number) => bySeller.all(sellerId) as Autoresponder[],
    listByMailbox: (mailboxId: number) => byMailbox.all(mailboxId) as Autoresponder[],
    listByAuthorization: (authorizationId: number) => byAuthorization.all(authorizationId) as Autoresponder[],
    insert(a: { sellerId: number; externalId: string; version: Version; mailboxId: number | null }): number {
      return Number(insert.run({ ...a, at: now().toISOString() }).lastInsertRowid);
    },
    update(id: number, a: { version: Version; mailboxId: number | null }): void {
      update.run({ id, ...a, at: now().toISOString() });
    },
    /** Moves an autoresponder between the mailbox versions and v3, remembering where it came from. */
    switchVersion(id: number, a: { version: Version; previousVersion: 1 | 2 | null; authorizationId: number | null }): void {
      switchVersion.run({ id, ...a, at: now().toISOString() });
    },
    listTemplates: (autoresponderId: number) => templates.all(autoresponderId) as ReplyTemplate[],
    /** The names of every template of a seller's autoresponders, in their order, by autoresponder (one read). */
    templateNamesOfSeller(sellerId: number): Map<number, string[]> {
      const out = new Map<number, string[]>();
      for (const [id, name] of templateNamesBySeller.all(sellerId) as [number, string][]) {
        const names = out.get(id);
        if (names) names.push(name);
        else out.set(id, [name]);
      }
      return out;
    },
    /** Replaces every template of an autoresponder; call inside the caller's transaction. */
    replaceTemplates(autoresponderId: number, list: ReplyTemplateInput[]): void {
      const at = now().toISOString();
      deleteTemplates.run(autoresponderId);
      list.forEach((t, position) => insertTemplate.run({ autoresponderId, position, ...t, at }));
    },
    count: () => count.get() as number,
  };
}
export type AutorespondersRepository = ReturnType<typeof createAutorespondersRepository>;
