/** The benchmark's data: 100,000 autoresponders across sellers, with a realistic mix of states. */
import type { Db } from '../src/db/database.js';

const FIRST = ['Anna', 'Jan', 'Łukasz', 'Małgorzata', 'Żaneta', 'Piotr', 'Katarzyna', 'Grzegorz', 'Ewa', 'Paweł', 'Zofia', 'Józef'];
const LAST = ['Nowak', 'Kowalski', 'Wiśniewski', 'Wójcik', 'Kamińska', 'Lewandowski', 'Zieliński', 'Szymańska', 'Woźniak', 'Dąbrowski'];
const SHOPS = ['Pasmanteria', 'Elektronika', 'Akwarystyka', 'Hurtownia', 'Sklep', 'Księgarnia', 'Zabawki', 'Ogród'];
const CITIES = ['Łódź', 'Kraków', 'Gdańsk', 'Poznań', 'Wrocław', 'Szczecin', 'Lublin', 'Białystok'];
const STATES: [string, number][] = [
  ['affected', 45], ['relinked_app_password', 20], ['switched_v3', 15], ['in_progress_app_password', 3], ['in_progress_v3', 2],
  ['needs_attention', 5], ['reviewed', 5], ['unknown', 3], ['not_affected', 2],
];
const CODES = ['MAIL_AUTH_FAILED', 'MAIL_APP_PASSWORD_REQUIRED', 'MAIL_TIMEOUT', 'MAIL_IMAP_DISABLED', 'MIG_ERR_AUTHORIZE_AGAIN'];

/** Deterministic pseudo-random numbers: every run seeds the same data. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

export function seed(db: Db, rows: number): void {
  const r = rng(42);
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)]!;
  const stateTable = STATES.flatMap(([s, w]) => Array(w).fill(s) as string[]);
  const now = Date.now();
  const iso = (daysAgo: number) => new Date(now - daysAgo * 86_400_000).toISOString();
  const insSeller = db.prepare(`INSERT INTO sellers (external_id, email, name, allegro_login, language, created_at, updated_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const insBox = db.prepare(`INSERT INTO mailboxes (seller_id, email, imap_host, imap_port, imap_security, smtp_host, smtp_port, smtp_security, username, provider, detection_rule, created_at, updated_at)
    VALUES (?, ?, ?, 993, 'tls', ?, 465, 'tls', ?, ?, 'gmail_address', ?, ?)`);
  const insAr = db.prepare(`INSERT INTO autoresponders (seller_id, external_id, version, mailbox_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`);
  // The verdict is what detection would have written: the rule that decided it and its detail.
  const insMig = db.prepare(`INSERT INTO migrations (autoresponder_id, state, path, reason_code, verdict_rule, verdict_detail, last_error_code, last_checked_at, completed_at, created_at, updated_at, state_changed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    let seller = 0;
    let sellerId = 0;
    for (let i = 0; i < rows; i++) {
      // About 1.4 autoresponders per seller.
      if (i === 0 || r() < 0.72) {
        seller++;
        const name = `${pick(SHOPS)} ${pick(CITIES)} — ${pick(FIRST)} ${pick(LAST)}`;
        sellerId = Number(insSeller.run(`S-${seller}`, `sprzedawca${seller}@example.pl`, name, `login_${seller}`, r() < 0.1 ? 'en' : 'pl', iso(60), iso(60), r() < 0.5 ? iso(r() * 60) : null).lastInsertRowid);
      }
      const provider = r() < 0.7 ? 'gmail' : r() < 0.85 ? 'workspace' : 'other';
      const host = provider === 'gmail' ? 'imap.gmail.com' : provider === 'workspace' ? 'imap.gmail.com' : 'mail.example.pl';
      const boxEmail = `skrzynka${i}@${provider === 'gmail' ? 'gmail.com' : 'firma.pl'}`;
      const box = Number(insBox.run(sellerId, boxEmail, host, host.replace('imap', 'smtp'), boxEmail, provider, iso(60), iso(60)).lastInsertRowid);
      const state = pick(stateTable);
      const version = state === 'switched_v3' ? 3 : r() < 0.5 ? 1 : 2;
      const ar = Number(insAr.run(sellerId, `AR-${i + 1}`, version, box, iso(60), iso(60)).lastInsertRowid);
      const checked = r() < 0.6 ? iso(r() * 30) : null;
      const code = checked && r() < 0.3 ? pick(CODES) : null;
      const migrated = state === 'switched_v3' || state === 'relinked_app_password';
      const path = migrated || state.startsWith('in_progress') ? (state.includes('v3') ? 'v3' : 'app_password') : null;
      const changed = iso(r() * 50);
      insMig.run(ar, state, path, state === 'needs_attention' ? 'connection_failed' : null, provider === 'gmail' ? 'gmail_address' : 'workspace_mx', provider === 'gmail' ? 'gmail.com' : 'aspmx.l.google.com', code, checked, migrated ? iso(r() * 40) : null, iso(60), changed, changed);
    }
  })();
}
