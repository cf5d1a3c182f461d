import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../../src/db/database.js';
import { MIGRATIONS } from '../../src/db/migrations.js';
import { createAuditRepository } from '../../src/repositories/audit.js';
import { createJobsRepository } from '../../src/repositories/jobs.js';
import { createMailboxesRepository } from '../../src/repositories/mailboxes.js';

test('migrations: applied once, in order, WAL and foreign keys on; a second run changes nothing', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'db-')), 'app.db');
  const db = openDatabase(file);
  assert.deepEqual(migrate(db), { from: 0, to: MIGRATIONS.length });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  const schema = db.prepare(`SELECT sql FROM sqlite_master ORDER BY name`).all();
  db.close();
  const again = openDatabase(file);
  assert.deepEqual(migrate(again), { from: MIGRATIONS.length, to: MIGRATIONS.length });
  assert.deepEqual(again.prepare(`SELECT sql FROM sqlite_master ORDER BY name`).all(), schema);
  again.close();
});

test('a failing migration rolls back whole and leaves the version where it was', () => {
  const db = openDatabase(':memory:');
  const broken = [...MIGRATIONS, `CREATE TABLE half (id INTEGER); THIS IS NOT SQL;`];
  assert.throws(() => migrate(db, broken));
  assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  assert.equal(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'half'`).pluck().get(), 0);
});

test('a database from a newer app is refused', () => {
  const db = openDatabase(':memory:');
  db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  assert.throws(() => migrate(db), /newer than this app knows/);
});

test('the audit log is append-only and never stores secret-looking keys', () => {
  const db = openDatabase(':memory:');
  migrate(db);
  const audit = createAuditRepository(db);
  // The types refuse such keys; the repository drops them anyway (a spread of an untyped object).
  const details = { password: 'tajne', appPassword: 'abcd', accessToken: 't', note: 'ok' };
  const id = audit.record({ type: 'staff', id: 7 }, 1, { action: 'staff.note', details });
  assert.deepEqual(audit.listForTarget('autoresponder', 1)[0]?.details, { note: 'ok' });
  assert.throws(() => db.prepare(`UPDATE audit_log SET action = 'z' WHERE id = ?`).run(id), /append-only/);
  assert.throws(() => db.prepare(`DELETE FROM audit_log WHERE id = ?`).run(id), /append-only/);
  assert.equal(audit.count(), 1);
});

test('schema constraints: a secret always has its kind; a v1/v2 autoresponder needs a mailbox', () => {
  const db = openDatabase(':memory:');
  migrate(db);
  const at = '2026-11-21T00:00:00Z';
  db.prepare(`INSERT INTO sellers (external_id, email, name, created_at, updated_at) VALUES ('S1', 'a@b.pl', 'A', ?, ?)`).run(at, at);
  assert.throws(() =>
    db.prepare(`INSERT INTO mailboxes (seller_id, email, imap_host, imap_port, imap_security, smtp_host, smtp_port, smtp_security, username, secret, created_at, updated_at)
                VALUES (1, 'a@b.pl', 'h', 993, 'tls', 'h', 465, 'tls', 'a', 'v1.x', ?, ?)`).run(at, at),
  );
  assert.throws(() =>
    db.prepare(`INSERT INTO autoresponders (seller_id, external_id, version, created_at, updated_at) VALUES (1, 'A1', 2, ?, ?)`).run(at, at),
  );
});

test('schema 11: a confirmation key makes one job, also from two connections to one database (two servers at once)', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'db-')), 'app.db');
  const one = openDatabase(file);
  migrate(one);
  const two = openDatabase(file);
  const at = '2026-11-20T10:00:00.000Z';
  const staff = Number(one.prepare(`INSERT INTO staff_users (email, password_hash, role, created_at, updated_at) VALUES ('a@wsparcie.example', 'x', 'agent', ?, ?)`).run(at, at).lastInsertRowid);
  const row = { kind: 'recheck' as const, selection: 'filter' as const, filter: '{}', ids: null, note: null, confirmedCount: 3, createdBy: staff };
  const job = { ...row, confirmationKey: '7f1c2a9e-1111-4c2b-9d3e-0123456789ab' };
  // Each connection prepared its statements before either inserted: nothing but the unique index can tell them apart.
  const jobsOne = createJobsRepository(one);
  const jobsTwo = createJobsRepository(two);
  const first = one.transaction(() => jobsOne.createOnce(job))();
  const second = two.transaction(() => jobsTwo.createOnce(job))();
  assert.deepEqual(first, { id: first.id, created: true });
  assert.deepEqual(second, { id: first.id, created: false });
  assert.equal(jobsOne.createOnce({ ...job, confirmationKey: '7f1c2a9e-2222-4c2b-9d3e-0123456789ab' }).created, true, 'another page, another job');
  // Jobs without a key (made before schema 11, or by tools) never collide.
  jobsTwo.create(row);
  jobsTwo.create(row);
  assert.equal(one.prepare(`SELECT count(*) FROM jobs`).pluck().get(), 4);
  one.close();
  two.close();
});

test('a mailbox made with mailboxes.create is returned as the database holds it, and setDetection returns what it stored', () => {
  const db = openDatabase(':memory:');
  migrate(db);
  const mailboxes = createMailboxesRepository(db);
  const sellerId = Number(db.prepare(`INSERT INTO sellers (external_id, email, name, language, created_at, updated_at) VALUES ('S1', 's@example.pl', 'S', 'pl', 'x', 'x')`).run().lastInsertRowid);
  const servers = { imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls' } as const;
  // create() writes the row in one statement and builds what it returns itself (the schema's defaults included).
  for (const secret of [null, { ciphertext: 'v1:abc', kind: 'account_password' as const }]) {
    const email = secret ? 'a@gmail.com' : 'b@gmail.com';
    const made = mailboxes.create({ sellerId, email, username: email, ...servers, secret });
    assert.deepEqual(made, mailboxes.getById(made.id));
    const detection = mailboxes.setDetection(made.id, { google: true, provider: 'gmail', rule: 'gmail_address', detail: 'gmail.com' });
    assert.deepEqual({ ...made, ...detection }, mailboxes.getById(made.id));
  }
});
