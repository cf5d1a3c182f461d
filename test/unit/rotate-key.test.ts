import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readKeyFileTexts, loadKeys } from '../../src/crypto/key-store.js';
import { encryptSecret, makeKeyring, parseKey, storedKeyId } from '../../src/crypto/secret-box.js';
import { rotateKey } from '../../src/ops/rotate-key.js';
import { ENCRYPTED_COLUMNS } from '../../src/crypto/secrets.js';
import { freshKeyText, TEST_KEY_TEXT, testServices } from '../helpers/core.js';

function seed(keyText: string) {
  const keyring = makeKeyring([parseKey(keyText)]);
  const s = testServices({ keyring });
  const at = '2026-11-21T00:00:00Z';
  const sellerId = s.repos.sellers.insert({ externalId: 'S1', email: 'a@gmail.com', name: 'A', allegroLogin: 'a' });
  for (let i = 0; i < 3; i++) {
    const id = s.repos.mailboxes.insert({ sellerId, email: `m${i}@gmail.com`, imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: `m${i}@gmail.com` });
    s.repos.mailboxes.setEncryptedSecret(id, { ciphertext: encryptSecret(keyring, `haslo-${i}`, 'mailbox-secret'), kind: 'account_password', verifiedAt: null });
  }
  s.db.prepare(`INSERT INTO allegro_authorizations (seller_id, allegro_user_id, allegro_login, access_token, refresh_token, access_expires_at, scopes, created_at, updated_at)
                VALUES (?, '1', 'a', ?, ?, ?, 'allegro:api:messaging', ?, ?)`)
    .run(sellerId, encryptSecret(keyring, 'access-1', 'oauth-access-token'), encryptSecret(keyring, 'refresh-1', 'oauth-refresh-token'), at, at, at);
  // An authorization in flight: its PKCE verifier is a secret too.
  s.repos.oauthStates.create({ state: 'st', sessionValue: 'sess', sellerId, autoresponderId: null, codeVerifier: encryptSecret(keyring, 'verifier-1', 'oauth-pkce-verifier'), ttlMs: 600_000 });
  return s;
}

function allValues(s: ReturnType<typeof testServices>) {
  return ENCRYPTED_COLUMNS.flatMap(({ table, column, purpose }) =>
    (s.db.prepare(`SELECT ${column} FROM ${table} WHERE ${column} IS NOT NULL ORDER BY rowid`).pluck().all() as string[]).map((v) => ({ v, purpose })),
  );
}

test('rotate-key with a key file: new key, every secret re-encrypted in one go, old key retired', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rot-'));
  const file = path.join(dir, 'secret.key');
  const oldText = freshKeyText();
  writeFileSync(file, oldText + '\n', { mode: 0o600 });
  const s = seed(oldText);
  const r = rotateKey(s.db, { kind: 'file', file }, s.repos.audit, { type: 'cli', id: 'rotate-key' });
  assert.equal(r.total, 6);
  assert.equal(r.reencrypted, 6);
  assert.equal(r.generated, true);
  assert.deepEqual(r.retiredKeyIds, [parseKey(oldText).id]);
  const texts = readKeyFileTexts(file);
  assert.equal(texts.length, 1, 'only the new key is left in the file');
  const newRing = loadKeys({ kind: 'file', file }).keyring;
  assert.notEqual(newRing.primary.id, parseKey(oldText).id);
  for (const { v } of allValues(s)) assert.equal(storedKeyId(v), newRing.primary.id);
  const newServices = testServices({ db: s.db, keyring: newRing });
  assert.deepEqual(allValues(s).map(({ v, purpose }) => newServices.secrets.decrypt(v, purpose)), ['haslo-0', 'haslo-1', 'haslo-2', 'access-1', 'refresh-1', 'verifier-1']);
  assert.equal(s.db.prepare(`SELECT count(*) FROM audit_log WHERE action = 'secrets.rotated'`).pluck().get(), 1);
});

test('rotate-key: one undecryptable value aborts the whole rotation and restores the key file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rot-'));
  const file = path.join(dir, 'secret.key');
  const oldText = freshKeyText();
  writeFileSync(file, oldText + '\n', { mode: 0o600 });
  const s = seed(oldText);
  // A value encrypted with a key nobody has any more.
  const stray = encryptSecret(makeKeyring([parseKey(freshKeyText())]), 'x', 'mailbox-secret');
  s.db.prepare(`UPDATE mailboxes SET secret = ? WHERE id = 3`).run(stray);
  const before = allValues(s).map((x) => x.v);
  assert.throws(() => rotateKey(s.db, { kind: 'file', file }, s.repos.audit, { type: 'cli' }), /MIG_ERR_SECRET_UNKNOWN_KEY|not configured/);
  assert.deepEqual(allValues(s).map((x) => x.v), before, 'nothing was re-encrypted');
  assert.deepEqual(readKeyFileTexts(file), [oldText], 'the key file is as it was');
});

test('rotate-key with APP_SECRET_KEY="new,old": everything moves to the first key', () => {
  const s = seed(TEST_KEY_TEXT);
  const newText = freshKeyText();
  const r = rotateKey(s.db, { kind: 'env', keys: [newText, TEST_KEY_TEXT] }, s.repos.audit, { type: 'cli' });
  assert.equal(r.reencrypted, 6);
  assert.equal(r.generated, false);
  for (const { v } of allValues(s)) assert.equal(storedKeyId(v), parseKey(newText).id);
  const again = rotateKey(s.db, { kind: 'env', keys: [newText, TEST_KEY_TEXT] }, s.repos.audit, { type: 'cli' });
  assert.equal(again.reencrypted, 0, 'values already under the primary key are left alone');
});
