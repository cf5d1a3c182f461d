import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Db } from '../../src/db/database.js';
import { migrate, openDatabase } from '../../src/db/database.js';
import { ACCOUNT_FUNNEL_ROWS, ACCOUNT_INDEX_ROWS, MIGRATIONS } from '../../src/db/migrations.js';
import { IMPORT_COLUMNS } from '../../src/import/import.js';
import { importFile } from '../../src/import/stream.js';
import { memoryDb, tableResolver, testServices } from '../helpers/core.js';

/**
 * The import writes the derived tables (account_index, the search index, account_counts, account_funnel,
 * funnel_counts) once per batch (db/derived.ts, schema 15) instead of through the triggers row by row.
 * They must end as the triggers would have left them, whatever the import meets: new accounts, changed
 * sellers, mailboxes and versions, accounts staff and sellers have acted on, and a server writing at
 * the same time.
 */

const MX = { 'firma-workspace.pl': ['aspmx.l.google.com'], 'onet.pl': ['mx.poczta.onet.pl'], 'zepsuty-dns.pl': 'ESERVFAIL' };
const actor = { type: 'cli' as const, id: 'import' };
const HEADER = IMPORT_COLUMNS.join(';');
const DOMAINS = [
  ['gmail.com', 'imap.gmail.com', 'smtp.gmail.com'],
  ['firma-workspace.pl', 'mail.firma-workspace.pl', 'mail.firma-workspace.pl'],
  ['onet.pl', 'imap.poczta.onet.pl', 'smtp.poczta.onet.pl'],
  ['zepsuty-dns.pl', 'mail.zepsuty-dns.pl', 'mail.zepsuty-dns.pl'],
] as const;

/** Rows of an export: `sellers` sellers, 1–3 autoresponders each, Polish letters in names, some v3. */
function exportRows(sellers: number, change: (seller: number, ar: number) => Partial<Record<'name' | 'version' | 'imap' | 'password', string>> = () => ({})): string[] {
  const rows: string[] = [];
  for (let s = 0; s < sellers; s++) {
    const [domain, imap, smtp] = DOMAINS[s % DOMAINS.length]!;
    for (let a = 0; a <= s % 3; a++) {
      const c = change(s, a);
      const version = c.version ?? String(a === 2 ? 3 : (s % 2) + 1);
      const name = c.name ?? `Sklep Łódź ${s} Żółw`;
      rows.push(`S${s};sklep${s}@${domain};${name};sklep_${s};AR${s}-${a};${version};sklep${s}@${domain};${c.imap ?? imap};993;${smtp};465;${c.password ?? (s % 2 ? '' : `Haslo-${s}`)}`);
    }
  }
  return rows;
}

/** Services on a fresh database at a fixed time, so two databases fed the same way hold the same rows. */
function services(db: Db = memoryDb()) {
  return testServices({ db, resolver: tableResolver(MX), now: () => new Date('2026-12-07T10:00:00.000Z') });
}

/**
 * A database whose import goes through the triggers row by row, as before schema 15: the flag the
 * import sets is a view that never holds a row, so every trigger writes as it always did.
 */
function perRowDb(): Db {
  const db = memoryDb();
  db.exec(`
    DROP TABLE derived_deferred;
    CREATE VIEW derived_deferred AS SELECT 1 AS id WHERE 0;
    CREATE TRIGGER derived_deferred_insert INSTEAD OF INSERT ON derived_deferred BEGIN SELECT 1; END;
    CREATE TRIGGER derived_deferred_delete INSTEAD OF DELETE ON derived_deferred BEGIN SELECT 1; END;`);
  return db;
}

/** Every derived table, in a stable order (counters at 0 are left out: they mean nothing and nobody reads them). */
function derived(db: Db) {
  // Merging the search index's segments drops deleted entries, so only what a search can find is compared.
  db.exec(`INSERT INTO account_search (account_search) VALUES ('optimize')`);
  db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms USING fts5vocab(main, account_search, 'instance')`);
  return {
    accountIndex: db.prepare(`SELECT * FROM account_index ORDER BY autoresponder_id`).all(),
    accountCounts: db.prepare(`SELECT * FROM account_counts WHERE n != 0 ORDER BY 1, 2, 3, 4`).all(),
    accountFunnel: db.prepare(`SELECT * FROM account_funnel ORDER BY autoresponder_id`).all(),
    funnelCounts: db.prepare(`SELECT * FROM funnel_counts WHERE n != 0 ORDER BY 1, 2`).all(),
    search: db.prepare(`SELECT term, doc, col, offset FROM temp.search_terms ORDER BY doc, col, offset, term`).all(),
    coveredPerDay: db.prepare(`SELECT * FROM covered_per_day WHERE n != 0 ORDER BY day`).all(),
    pending: db.prepare(`SELECT count(*) FROM derived_pending`).pluck().get(),
  };
}

/** The derived tables against their definitions recomputed from the source rows now. */
function assertDerivedMatchSources(db: Db, when: string): void {
  const cols = `autoresponder_id, migration_id, seller_id, seller_name, seller_email, allegro_login, mailbox_id, mailbox_email, mail_host, provider,
    version, state, path, last_error_code, last_checked_at, activity_at, search, sort_name`;
  assert.deepEqual(
    db.prepare(`SELECT ${cols} FROM account_index ORDER BY 1`).raw().all(),
    db.prepare(`${ACCOUNT_INDEX_ROWS} ORDER BY 1`).raw().all(),
    `account_index after ${when}`,
  );
  assert.deepEqual(
    db.prepare(`SELECT state, version, provider, code, n FROM account_counts WHERE n != 0 ORDER BY 1, 2, 3, 4`).all(),
    db.prepare(`SELECT state, version, provider, COALESCE(last_error_code, '') AS code, count(*) AS n FROM account_index GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`).all(),
    `account_counts after ${when}`,
  );
  assert.deepEqual(db.prepare(`SELECT * FROM account_funnel ORDER BY 1`).raw().all(), db.prepare(`${ACCOUNT_FUNNEL_ROWS} ORDER BY 1`).raw().all(), `account_funnel after ${when}`);
  assert.deepEqual(
    db.prepare(`SELECT cohort, step, n FROM funnel_counts WHERE n != 0 ORDER BY 1, 2`).all(),
    db.prepare(`SELECT COALESCE(cohort, '') AS cohort, step, count(*) AS n FROM account_funnel GROUP BY 1, 2 ORDER BY 1, 2`).all(),
    `funnel_counts after ${when}`,
  );
  const fts = (match: string) => db.prepare(`SELECT rowid FROM account_search WHERE account_search MATCH ? ORDER BY rowid`).pluck().all(match);
  const listed = (where: string) => db.prepare(`SELECT autoresponder_id FROM account_index WHERE state != 'not_affected' AND ${where} ORDER BY 1`).pluck().all();
  assert.deepEqual(fts('tags : "V01" OR tags : "V02" OR tags : "V03"'), listed('1'), `listed rows in the search index after ${when}`);
  for (const [tag, where] of [['Saf', `state = 'affected'`], ['Sun', `state = 'unknown'`], ['Sna', `state = 'needs_attention'`], ['Srv', `state = 'reviewed'`], ['Pws', `provider = 'workspace'`], ['Pgm', `provider = 'gmail'`]] as const) {
    assert.deepEqual(fts(`tags : "${tag}"`), listed(where), `tag ${tag} after ${when}`);
  }
  assert.deepEqual(fts('search : "lodz"'), listed(`search LIKE '%lodz%'`), `search text after ${when}`);
  assert.equal(db.prepare(`SELECT count(*) FROM derived_pending`).pluck().get(), 0, `nothing left pending after ${when}`);
  assert.equal(db.prepare(`SELECT count(*) FROM derived_deferred`).pluck().get(), 0, `the flag cleared after ${when}`);
}

// Against the schema just before 15: had a migration changed one of these triggers in between, 15's copy
// of the older body would undo it, and this test would say so.
test('schema 15 changes no trigger body: each is schema 14’s with one condition more', () => {
  const at = (version: number) => {
    const db = openDatabase(':memory:');
    migrate(db, MIGRATIONS.slice(0, version));
    const triggers = new Map(db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger'`).raw().all() as [string, string][]);
    db.close();
    return triggers;
  };
  const before = at(14);
  const after = at(15);
  const norm = (sql: string) => sql.replace(/\s+/g, ' ').trim();
  let gated = 0;
  for (const [name, sql] of after) {
    if (name.startsWith('derived_pending_')) continue;
    const old = before.get(name);
    assert.ok(old, `${name} existed before`);
    if (norm(old) === norm(sql)) continue;
    // The only change: `WHEN NOT EXISTS (SELECT 1 FROM derived_deferred)`, alone or after the old condition.
    const stripped = norm(sql)
      .replace(/ WHEN \((.*)\) AND NOT EXISTS \(SELECT 1 FROM derived_deferred\) BEGIN /, ' WHEN $1 BEGIN ')
      .replace(' WHEN NOT EXISTS (SELECT 1 FROM derived_deferred) BEGIN ', ' BEGIN ');
    assert.equal(stripped, norm(old), `${name}: the same body`);
    gated++;
  }
  assert.equal(gated, 11, 'the five that start the cascade, and the six it runs through');
  assert.equal([...after.keys()].filter((n) => n.startsWith('derived_pending_')).length, 5, 'a twin for each that starts it');
});

test('an import writes the derived tables exactly as the triggers do row by row: new accounts, then changes, after staff and sellers acted', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-derived-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, rows: string[]) => {
    const f = path.join(dir, name);
    writeFileSync(f, [HEADER, ...rows].join('\n'));
    return f;
  };
  const first = file('first.csv', exportRows(40));
  // The same sellers again: names changed, versions moved (to v3 and back), mailboxes moved to other servers, passwords changed, new sellers.
  const second = file(
    'second.csv',
    exportRows(48, (s, a) => ({
      ...(s % 5 === 0 ? { name: `Nowa Nazwa Ąę ${s}` } : {}),
      ...(s % 7 === 1 && a === 0 ? { version: '3' } : {}),
      ...(s % 6 === 2 && a === 2 ? { version: '2' } : {}),
      ...(s % 8 === 3 ? { imap: 'imap.nowy-serwer.pl' } : {}),
      ...(s % 4 === 0 ? { password: `Nowe-${s}` } : {}),
    })),
  );

  const batched = services();
  const perRow = services(perRowDb());
  for (const s of [batched, perRow]) {
    await importFile(first, s, { actor, batchRows: 7 });
    // Staff and sellers act between the imports: these go through the triggers in both databases.
    const migration = (ext: string) => s.repos.migrations.findByAutoresponder(s.repos.autoresponders.findByExternalId(ext)!.id)!;
    s.migrationService.transition(migration('AR0-0').id, 'needs_attention', 'needs_attention', { actor, reason: 'app_password_rejected', errorCode: 'MAIL_AUTH_FAILED' });
    s.migrationService.transition(migration('AR4-0').id, 'reviewed', 'reviewed', { actor });
    s.migrationService.transition(migration('AR8-1').id, 'start_v3', 'in_progress_v3', { actor });
    s.migrationService.recordCheck(migration('AR12-0').id, 'MAIL_TIMEOUT');
    const seller = (ext: string) => s.repos.sellers.findByExternalId(ext)!.id;
    s.db.prepare(`INSERT INTO reminders (seller_id, status, created_at) VALUES (?, 'sent', '2026-12-01T09:00:00.000Z')`).run(seller('S8'));
    s.db.prepare(`INSERT INTO reminders (seller_id, status, created_at) VALUES (?, 'sent', '2026-11-20T09:00:00.000Z')`).run(seller('S16'));
    s.db.prepare(`UPDATE sellers SET last_seen_at = '2026-12-02T09:00:00.000Z' WHERE id = ?`).run(seller('S8'));
    await importFile(second, s, { actor, batchRows: 5 });
    await importFile(second, s, { actor, batchRows: 11 });
  }
  assertDerivedMatchSources(batched.db, 'the batched imports');
  assertDerivedMatchSources(perRow.db, 'the row-by-row imports');
  const a = derived(batched.db);
  const b = derived(perRow.db);
  assert.ok(a.accountIndex.length > 90 && a.search.length > 1000, `a real amount of data compared (${a.accountIndex.length} accounts, ${a.search.length} trigrams)`);
  assert.ok(new Set(a.accountFunnel.map((r) => (r as { step: string }).step)).size >= 4, 'several funnel steps compared');
  assert.deepEqual(a, b);
});

test('an import while the server writes the same accounts leaves every derived table equal to its sources; the server never sees the flag', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-derived-concurrent-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dbFile = path.join(dir, 'app.db');
  const importerDb = openDatabase(dbFile);
  migrate(importerDb);
  const importer = services(importerDb);
  const csv = path.join(dir, 'eksport.csv');
  writeFileSync(csv, [HEADER, ...exportRows(300)].join('\n'));
  await importFile(csv, importer, { actor, batchRows: 50 });
  writeFileSync(csv, [HEADER, ...exportRows(600, (s) => (s % 3 === 0 ? { name: `Zmieniony ${s}` } : {}))].join('\n'));

  // The server: its own connection, writing through the triggers between (never inside) the import's batches.
  const server = openDatabase(dbFile);
  t.after(() => server.close());
  const ids = server.prepare(`SELECT id FROM migrations ORDER BY id`).pluck().all() as number[];
  const flagSeen = server.prepare(`SELECT count(*) FROM derived_deferred`).pluck();
  const writes = [
    server.prepare(`UPDATE migrations SET state = 'needs_attention', reason_code = 'app_password_rejected', last_error_code = 'MAIL_AUTH_FAILED', state_changed_at = '2026-12-07T11:00:00.000Z' WHERE id = ?`),
    server.prepare(`UPDATE migrations SET last_error_code = 'MAIL_TIMEOUT', last_checked_at = '2026-12-07T11:00:00.000Z' WHERE id = ?`),
    server.prepare(`UPDATE sellers SET last_seen_at = '2026-12-07T11:00:00.000Z' WHERE id = (SELECT seller_id FROM autoresponders WHERE id = (SELECT autoresponder_id FROM migrations WHERE id = ?))`),
  ];
  const accounts = server.prepare(`SELECT count(*) FROM autoresponders`).pluck();
  const before = accounts.get() as number;
  const seen = new Set<number>();
  let done = false;
  let serverWrites = 0;
  const running = importFile(csv, importer, { actor, batchRows: 40 }).finally(() => (done = true));
  while (!done) {
    server.transaction(() => {
      assert.equal(flagSeen.get(), 0, 'the import’s flag is never visible to another writer');
      for (let i = 0; i < 5; i++, serverWrites++) writes[serverWrites % writes.length]!.run(ids[(serverWrites * 37) % ids.length]!);
      seen.add(accounts.get() as number);
    }).immediate();
    await new Promise((r) => setImmediate(r));
  }
  const r = await running;
  assert.equal(r.rejected, 0);
  const after = accounts.get() as number;
  assert.ok([...seen].some((n) => n > before && n < after), `the server wrote between the import's batches (it saw ${[...seen].join(', ')} accounts; ${before} before, ${after} after)`);
  assertDerivedMatchSources(server, 'an import with the server writing');
});
