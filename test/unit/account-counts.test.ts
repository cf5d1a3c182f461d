import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Db } from '../../src/db/database.js';
import { createAccountsRepository } from '../../src/repositories/accounts.js';
import { statesOf, type AccountFilter } from '../../src/accounts/filter.js';
import { codeFigures, funnelFigures, headlineFigures, providerFigures, stateFigures, versionFigures } from '../../src/accounts/figures.js';
import { seed } from '../../bench/seed.js';
import { memoryDb, testServices } from '../helpers/core.js';
import { seedAccounts } from '../helpers/staff.js';

/**
 * The staff list's totals and the overview read counters kept by triggers (schema 7), and search reads
 * an index of listed rows with tags. After any mix of inserts, updates and deletes, through the app's
 * services or straight in SQL, each must equal a recount of the rows it summarises.
 */
function assertCountersMatch(db: Db, when: string): void {
  const counters = db.prepare(`SELECT state, version, provider, code, n FROM account_counts WHERE n != 0 ORDER BY 1, 2, 3, 4`).all();
  const recount = db
    .prepare(`SELECT state, version, provider, COALESCE(last_error_code, '') AS code, count(*) AS n FROM account_index GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
    .all();
  assert.deepEqual(counters, recount, `account_counts after ${when}`);
  assert.equal(db.prepare(`SELECT count(*) FROM account_counts WHERE n < 0`).pluck().get(), 0, `no negative counter after ${when}`);

  const perDay = db.prepare(`SELECT day, n FROM migrated_per_day WHERE n != 0 ORDER BY day`).all();
  const recountDays = db
    .prepare(`SELECT substr(completed_at, 1, 10) AS day, count(*) AS n FROM migrations WHERE state IN ('switched_v3', 'relinked_app_password') AND completed_at IS NOT NULL GROUP BY 1 ORDER BY 1`)
    .all();
  assert.deepEqual(perDay, recountDays, `migrated_per_day after ${when}`);

  // The search index holds exactly the listed rows, each with the tags of its current state, version and provider.
  const fts = (match: string) => db.prepare(`SELECT rowid FROM account_search WHERE account_search MATCH ? ORDER BY rowid`).pluck().all(match);
  const rows = (where: string) => db.prepare(`SELECT autoresponder_id FROM account_index WHERE state != 'not_affected' AND ${where} ORDER BY 1`).pluck().all();
  assert.deepEqual(fts('tags : "V01" OR tags : "V02" OR tags : "V03"'), rows('1'), `listed rows in the search index after ${when}`);
  for (const [tag, where] of [
    ['Saf', `state = 'affected'`],
    ['Sre', `state = 'relinked_app_password'`],
    ['Ssw', `state = 'switched_v3'`],
    ['Sna', `state = 'needs_attention'`],
    ['Srv', `state = 'reviewed'`],
    ['V02', 'version = 2'],
    ['Pws', `provider = 'workspace'`],
  ] as const) {
    assert.deepEqual(fts(`tags : "${tag}"`), rows(where), `tag ${tag} after ${when}`);
  }
  const sample = db.prepare(`SELECT autoresponder_id, search FROM account_index WHERE state != 'not_affected' ORDER BY autoresponder_id DESC LIMIT 1`).get() as { autoresponder_id: number; search: string } | undefined;
  if (sample) assert.ok(fts(`search : "${sample.search.slice(0, 12).replace(/"/g, '""')}"`).includes(sample.autoresponder_id), `search text after ${when}`);

  // The overview's figures (each the total of the list it links to, from the counters) against a recount.
  const repo = createAccountsRepository(db);
  const listedCount = (where: string, ...params: unknown[]) => db.prepare(`SELECT count(*) FROM account_index WHERE state != 'not_affected' AND ${where}`).pluck().get(...params) as number;
  const source = { count: (f: AccountFilter) => repo.count(f), unlisted: () => repo.unlisted() };
  for (const f of stateFigures(source)) {
    const want = f.filter ? listedCount('state = ?', f.key) : (db.prepare(`SELECT count(*) FROM account_index WHERE state = 'not_affected'`).pluck().get() as number);
    assert.equal(f.n, want, `figure ${f.id} after ${when}`);
  }
  for (const f of headlineFigures(source)) {
    const states = f.filter!.state ? statesOf(f.filter!.state) : null;
    assert.equal(f.n, states ? listedCount(`state IN (${states.map(() => '?').join(', ')})`, ...states) : listedCount('1'), `figure ${f.id} after ${when}`);
  }
  for (const f of versionFigures(source)) assert.equal(f.n, listedCount('version = ?', f.filter!.version), `figure ${f.id} after ${when}`);
  for (const f of providerFigures(source)) assert.equal(f.n, listedCount('provider = ?', f.filter!.provider), `figure ${f.id} after ${when}`);
  const codes = repo.codes();
  assert.deepEqual(codes, db.prepare(`SELECT DISTINCT last_error_code FROM account_index WHERE state != 'not_affected' AND last_error_code IS NOT NULL ORDER BY 1`).pluck().all(), `error codes after ${when}`);
  for (const f of codeFigures(source, codes)) assert.equal(f.n, listedCount('last_error_code = ?', f.key), `figure ${f.id} after ${when}`);
  // The funnel's figures against a recount of account_funnel's rows (the counters' own source).
  const funnelRecount = (where: string) => db.prepare(`SELECT count(*) FROM account_funnel WHERE step != 'excluded' AND ${where}`).pluck().get() as number;
  const funnel = funnelFigures(source, []);
  assert.deepEqual(
    funnel.steps.map((s) => s.reached.n),
    [funnelRecount('1'), funnelRecount('cohort IS NOT NULL'), funnelRecount(`cohort IS NOT NULL AND step IN ('signed_in', 'chose', 'done')`), funnelRecount(`cohort IS NOT NULL AND step IN ('chose', 'done')`), funnelRecount(`cohort IS NOT NULL AND step = 'done'`)],
    `funnel steps after ${when}`,
  );
  assert.equal(funnel.unprompted.done.n, funnelRecount(`cohort IS NULL AND step = 'done'`), `funnel without a reminder after ${when}`);
}

test('counters equal a recount after the app creates, changes and re-checks accounts', () => {
  const s = testServices();
  const rows = seedAccounts(s, [
    { name: 'Jan Kowalski', email: 'jan@gmail.com', mailbox: 'jan@gmail.com' },
    { name: 'Sklep Łódź', email: 'lodz@firma.pl', mailbox: 'biuro@firma.pl', provider: 'workspace', version: 1 },
    { name: 'Ola Nowak', email: 'ola@gmail.com', mailbox: 'ola@gmail.com', state: 'relinked_app_password' },
    { name: 'Piotr V3', email: 'p@gmail.com', mailbox: 'p@gmail.com', state: 'switched_v3' },
    { name: 'Ewa Uwaga', email: 'ewa@gmail.com', mailbox: 'ewa@gmail.com', state: 'needs_attention' },
    { name: 'Zofia Sprawdzona', email: 'z@gmail.com', mailbox: 'z@gmail.com', state: 'reviewed' },
    { name: 'Ukryty', email: 'nie@example.pl', mailbox: 'nie@example.pl', provider: 'other', state: 'not_affected' },
  ]);
  assertCountersMatch(s.db, 'seeding');

  const { repos, migrationService } = s;
  const m = (i: number) => repos.migrations.findByAutoresponder(rows[i]!.autoresponderId)!;
  repos.migrations.recordAttempt(m(0).id, 'MAIL_AUTH_FAILED');
  migrationService.transition(m(0).id, 'start_app_password', 'in_progress_app_password', { actor: { type: 'system' } });
  migrationService.transition(m(0).id, 'relinked', 'relinked_app_password', { actor: { type: 'system' } });
  migrationService.transition(m(5).id, 'reopened', 'affected', { actor: { type: 'system' } });
  repos.sellers.update(rows[1]!.sellerId, { email: 'nowy@firma.pl', name: 'Sklep Kraków', allegroLogin: 'krakow' });
  repos.mailboxes.setDetection(rows[1]!.mailboxId!, { google: true, provider: 'gmail', rule: 'gmail_address', detail: null } as never);
  repos.autoresponders.update(rows[2]!.autoresponderId, { version: 1, mailboxId: rows[2]!.mailboxId });
  assertCountersMatch(s.db, 'transitions, a re-check, renames and a provider change');

  s.db.prepare(`DELETE FROM autoresponders WHERE id = ?`).run(rows[3]!.autoresponderId);
  s.db.prepare(`DELETE FROM autoresponders WHERE id = ?`).run(rows[6]!.autoresponderId);
  assertCountersMatch(s.db, 'deleting autoresponders');
});

test('counters equal a recount after hundreds of random updates and deletes in SQL, and inserts after them', () => {
  const db = memoryDb();
  seed(db, 800);
  assertCountersMatch(db, 'the bench seed');
  let x = 7;
  const rnd = (n: number) => ((x = (x * 1103515245 + 12345) % 2 ** 31), x % n);
  const pick = <T>(a: readonly T[]) => a[rnd(a.length)]!;
  const ids = () => db.prepare(`SELECT id FROM migrations`).pluck().all() as number[];
  const day = () => `2026-${String(1 + rnd(11)).padStart(2, '0')}-${String(1 + rnd(28)).padStart(2, '0')}T10:00:00.000Z`;
  const STATES = ['affected', 'unknown', 'in_progress_v3', 'in_progress_app_password', 'switched_v3', 'relinked_app_password', 'reviewed', 'not_affected'];
  for (let step = 1; step <= 600; step++) {
    const op = rnd(8);
    const id = pick(ids());
    if (op <= 2) db.prepare(`UPDATE migrations SET state = ?, completed_at = ?, state_changed_at = ? WHERE id = ?`).run(pick(STATES), rnd(3) ? day() : null, day(), id);
    else if (op === 3) db.prepare(`UPDATE migrations SET last_error_code = ?, last_checked_at = ? WHERE id = ?`).run(pick([null, 'MAIL_TIMEOUT', 'MAIL_AUTH_FAILED', 'X_NEW']), day(), id);
    else if (op === 4) db.prepare(`UPDATE sellers SET last_seen_at = ?, name = name || 'x' WHERE id = (SELECT seller_id FROM autoresponders a JOIN migrations m ON m.autoresponder_id = a.id WHERE m.id = ?)`).run(day(), id);
    else if (op === 5) db.prepare(`UPDATE mailboxes SET provider = ? WHERE id = (SELECT mailbox_id FROM autoresponders a JOIN migrations m ON m.autoresponder_id = a.id WHERE m.id = ?)`).run(pick(['gmail', 'workspace', 'other', 'unknown']), id);
    else if (op === 6) db.prepare(`UPDATE autoresponders SET version = ? WHERE id = (SELECT autoresponder_id FROM migrations WHERE id = ?) AND mailbox_id IS NOT NULL`).run(pick([1, 2, 3]), id);
    else db.prepare(`DELETE FROM autoresponders WHERE id = (SELECT autoresponder_id FROM migrations WHERE id = ?)`).run(id);
    if (step % 100 === 0) assertCountersMatch(db, `${step} random changes`);
  }
  // More inserts after the deletes: new sellers, mailboxes, autoresponders and migrations.
  const at = '2026-11-01T10:00:00.000Z';
  for (let i = 0; i < 40; i++) {
    const seller = db.prepare(`INSERT INTO sellers (external_id, email, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`).run(`NEW-${i}`, `n${i}@gmail.com`, `Nowy ${i}`, at, at).lastInsertRowid;
    const box = db.prepare(`INSERT INTO mailboxes (seller_id, email, imap_host, imap_port, imap_security, smtp_host, smtp_port, smtp_security, username, provider, created_at, updated_at)
      VALUES (?, ?, 'imap.gmail.com', 993, 'tls', 'smtp.gmail.com', 465, 'tls', ?, 'gmail', ?, ?)`).run(seller, `n${i}@gmail.com`, `n${i}@gmail.com`, at, at).lastInsertRowid;
    const ar = db.prepare(`INSERT INTO autoresponders (seller_id, external_id, version, mailbox_id, created_at, updated_at) VALUES (?, ?, 2, ?, ?, ?)`).run(seller, `NEW-AR-${i}`, box, at, at).lastInsertRowid;
    db.prepare(`INSERT INTO migrations (autoresponder_id, state, verdict_rule, completed_at, created_at, updated_at, state_changed_at) VALUES (?, ?, 'gmail_address', ?, ?, ?, ?)`).run(ar, pick(STATES), rnd(2) ? day() : null, at, at, at);
  }
  assertCountersMatch(db, 'inserting again');
});
