import type { Db } from '../db/database.js';
import type { ReplyTemplate, V3Draft } from '../domain/model.js';

/**
 * The seller's approved plain-text versions of the templates (step 1 of the switch), and the mailbox
 * version's templates kept at the switch for switching back.
 */
export function createV3DraftsRepository(db: Db, now: () => Date = () => new Date()) {
  const list = db.prepare(`SELECT position, text, source_hash AS sourceHash, updated_at AS updatedAt FROM v3_drafts WHERE autoresponder_id = ? ORDER BY position`);
  const clear = db.prepare(`DELETE FROM v3_drafts WHERE autoresponder_id = ?`);
  const insert = db.prepare(`INSERT INTO v3_drafts (autoresponder_id, position, text, source_hash, updated_at) VALUES (?, ?, ?, ?, ?)`);
  const snapshot = db.prepare(
    `INSERT INTO template_snapshots (autoresponder_id, position, name, subject, body, body_format, saved_at)
     SELECT autoresponder_id, position, name, subject, body, body_format, ? FROM reply_templates WHERE autoresponder_id = ?`,
  );
  const snapshotRows = db.prepare(
    `SELECT position, name, subject, body, body_format AS bodyFormat FROM template_snapshots WHERE autoresponder_id = ? ORDER BY position`,
  );
  const clearSnapshot = db.prepare(`DELETE FROM template_snapshots WHERE autoresponder_id = ?`);
  return {
    list: (autoresponderId: number) => list.all(autoresponderId) as V3Draft[],
    /** Replaces the drafts of an autoresponder, in one transaction. */
    save: db.transaction((autoresponderId: number, drafts: { position: number; text: string; sourceHash: string }[]) => {
      clear.run(autoresponderId);
      const at = now().toISOString();
      for (const d of drafts) insert.run(autoresponderId, d.position, d.text, d.sourceHash, at);
    }),
    clear: (autoresponderId: number) => void clear.run(autoresponderId),
    /** Copies the current templates aside (replacing an older copy); call inside the switch transaction. */
    snapshotTemplates(autoresponderId: number): void {
      clearSnapshot.run(autoresponderId);
      snapshot.run(now().toISOString(), autoresponderId);
    },
    snapshot: (autoresponderId: number) =>
      snapshotRows.all(autoresponderId) as Pick<ReplyTemplate, 'position' | 'name' | 'subject' | 'body' | 'bodyFormat'>[],
    clearSnapshot: (autoresponderId: number) => void clearSnapshot.run(autoresponderId),
  };
}
export type V3DraftsRepository = ReturnType<typeof createV3DraftsRepository>;
