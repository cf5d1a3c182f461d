import type { Db } from '../db/database.js';
import type { Language, Seller, SellerInput } from '../domain/model.js';

const COLUMNS = `id, external_id AS externalId, email, name, allegro_login AS allegroLogin, language,
  created_at AS createdAt, updated_at AS updatedAt`;

export function createSellersRepository(db: Db, now: () => Date = () => new Date()) {
  const byId = db.prepare(`SELECT ${COLUMNS} FROM sellers WHERE id = ?`);
  const byExternalId = db.prepare(`SELECT ${COLUMNS} FROM sellers WHERE external_id = ?`);
  const byEmail = db.prepare(`SELECT ${COLUMNS} FROM sellers WHERE email = ? COLLATE NOCASE ORDER BY id`);
  const insert = db.prepare(
    `INSERT INTO sellers (external_id, email, name, allegro_login, language, created_at, updated_at)
     VALUES (@externalId, @email, @name, @allegroLogin, @language, @at, @at)`,
  );
  const update = db.prepare(
    `UPDATE sellers SET email = @email, name = @name, allegro_login = @allegroLogin, updated_at = @at WHERE id = @id`,
  );
  const setLanguage = db.prepare(`UPDATE sellers SET language = ?, updated_at = ? WHERE id = ?`);
  const count = db.prepare(`SELECT count(*) FROM sellers`).pluck();
  const firstEmails = db.prepare(`SELECT email FROM sellers ORDER BY id LIMIT ?`).pluck();
  const markSeen = db.prepare(`UPDATE sellers SET last_seen_at = ? WHERE id = ?`);
  return {
    getById: (id: number) => byId.get(id) as Seller | undefined,
    findByExternalId: (externalId: string) => byExternalId.get(externalId) as Seller | undefined,
    findByEmail: (email: string) => byEmail.all(email.trim()) as Seller[],
    insert(s: SellerInput): number {
      return Number(insert.run({ ...s, language: s.language ?? 'pl', at: now().toISOString() }).lastInsertRowid);
    },
    update(id: number, s: Pick<Seller, 'email' | 'name' | 'allegroLogin'>): void {
      update.run({ id, ...s, at: now().toISOString() });
    },
    setLanguage(id: number, language: Language): void {
      setLanguage.run(language, now().toISOString(), id);
    },
    /** A seller signed in: "activity" on the staff list. */
    markSeen(id: number): void {
      markSeen.run(now().toISOString(), id);
    },
    count: () => count.get() as number,
    /** The first few sellers' addresses (the demo's sign-in hint). */
    firstEmails: (limit: number) => firstEmails.all(limit) as string[],
  };
}
export type SellersRepository = ReturnType<typeof createSellersRepository>;
