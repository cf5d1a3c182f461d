import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decryptSecret, encryptSecret, makeKeyring, parseKey, storedKeyId } from '../../src/crypto/secret-box.js';
import { loadKeys } from '../../src/crypto/key-store.js';
import { migErrorCode } from '../../src/errors.js';
import { freshKeyText, testKeyring, TEST_KEY_TEXT } from '../helpers/core.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return migErrorCode(err);
  }
  return 'no error';
};

test('round trip, with a fresh IV each time and no plaintext in the stored value', () => {
  const kr = testKeyring();
  const secret = 'abcd efgh ijkl mnop — zażółć';
  const a = encryptSecret(kr, secret, 'mailbox-secret');
  const b = encryptSecret(kr, secret, 'mailbox-secret');
  assert.notEqual(a, b);
  assert.ok(!a.includes('abcd'));
  assert.equal(storedKeyId(a), kr.primary.id);
  assert.equal(decryptSecret(kr, a, 'mailbox-secret'), secret);
});

test('tampering with any part is detected', () => {
  const kr = testKeyring();
  const stored = encryptSecret(kr, 'haslo123', 'mailbox-secret');
  const parts = stored.split('.');
  for (const i of [2, 3, 4]) {
    const p = [...parts];
    const buf = Buffer.from(p[i]!, 'base64url');
    buf[0] = buf[0]! ^ 1;
    p[i] = buf.toString('base64url');
    assert.equal(code(() => decryptSecret(kr, p.join('.'), 'mailbox-secret')), 'MIG_ERR_SECRET_DECRYPT', `part ${i}`);
  }
  assert.equal(code(() => decryptSecret(kr, 'not-a-secret', 'mailbox-secret')), 'MIG_ERR_SECRET_FORMAT');
});

test('a value of one purpose does not decrypt as another', () => {
  const kr = testKeyring();
  const token = encryptSecret(kr, 'refresh-token', 'oauth-refresh-token');
  assert.equal(code(() => decryptSecret(kr, token, 'mailbox-secret')), 'MIG_ERR_SECRET_DECRYPT');
});

test('a wrong key is refused: unknown key id, or a forged id with another key', () => {
  const kr = testKeyring();
  const other = makeKeyring([parseKey(freshKeyText())]);
  const stored = encryptSecret(kr, 'x', 'mailbox-secret');
  assert.equal(code(() => decryptSecret(other, stored, 'mailbox-secret')), 'MIG_ERR_SECRET_UNKNOWN_KEY');
  // Same id claimed, different key material: authentication fails.
  const forged = { primary: { id: kr.primary.id, bytes: other.primary.bytes }, byId: new Map([[kr.primary.id, { id: kr.primary.id, bytes: other.primary.bytes }]]) };
  assert.equal(code(() => decryptSecret(forged, stored, 'mailbox-secret')), 'MIG_ERR_SECRET_DECRYPT');
});

test('old keys in the keyring still decrypt; new values use the primary', () => {
  const oldRing = testKeyring();
  const stored = encryptSecret(oldRing, 'stare', 'mailbox-secret');
  const newText = freshKeyText();
  const rotated = makeKeyring([parseKey(newText), parseKey(TEST_KEY_TEXT)]);
  assert.equal(decryptSecret(rotated, stored, 'mailbox-secret'), 'stare');
  assert.equal(storedKeyId(encryptSecret(rotated, 'nowe', 'mailbox-secret')), parseKey(newText).id);
});

test('keys: hex and base64 accepted, anything else refused', () => {
  assert.equal(parseKey('00'.repeat(32)).bytes.length, 32);
  assert.equal(parseKey(TEST_KEY_TEXT).bytes.length, 32);
  for (const bad of ['', 'short', '00'.repeat(31), Buffer.alloc(16).toString('base64')]) {
    assert.equal(code(() => parseKey(bad)), 'MIG_ERR_SECRET_KEY', bad);
  }
});

test('key file: created on first run with mode 0600, reused after, tightened if loose', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keys-'));
  const file = path.join(dir, 'sub', 'secret.key');
  const first = loadKeys({ kind: 'file', file });
  assert.equal(first.created, true);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const second = loadKeys({ kind: 'file', file });
  assert.equal(second.created, false);
  assert.equal(second.keyring.primary.id, first.keyring.primary.id);
  const loose = path.join(dir, 'loose.key');
  writeFileSync(loose, TEST_KEY_TEXT + '\n', { mode: 0o644 });
  assert.equal(loadKeys({ kind: 'file', file: loose }).tightened, true);
  assert.equal(statSync(loose).mode & 0o777, 0o600);
  assert.ok(readFileSync(file, 'utf8').trim().length >= 43);
});
