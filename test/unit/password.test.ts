import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dummyHash, hashPassword, verifyPassword } from '../../src/crypto/password.js';

test('staff passwords: salted scrypt, verified in constant time; damaged hashes never match, never throw', async () => {
  const a = await hashPassword('Zażółć gęślą jaźń 2026');
  const b = await hashPassword('Zażółć gęślą jaźń 2026');
  assert.notEqual(a, b, 'a new salt every time');
  assert.equal(await verifyPassword('Zażółć gęślą jaźń 2026', a), true);
  // The same text typed with combining accents (NFD) is the same password.
  assert.equal(await verifyPassword('Zażółć gęślą jaźń 2026'.normalize('NFD'), a), true);
  assert.equal(await verifyPassword('zażółć gęślą jaźń 2026', a), false);
  for (const broken of ['', 'plain', a.replace(/^scrypt/, 'bcrypt'), a.slice(0, -4), a.replace('$32768$', '$0$'), a.replace('$32768$', `$${2 ** 24}$`)]) {
    assert.equal(await verifyPassword('Zażółć gęślą jaźń 2026', broken), false, broken);
  }
  assert.equal(await verifyPassword('x'.repeat(201), a), false);
  assert.equal(await verifyPassword('anything', await dummyHash()), false);
});

test("the demo's admin: a new password at every start, and the sessions signed in with the old one end", async () => {
  const { testServices } = await import('../helpers/core.js');
  const { ensureDemoAdmin } = await import('../../src/demo/demo.js');
  const s = testServices();
  const first = await ensureDemoAdmin(s);
  const id = s.repos.staff.findByEmail(first.email)!.id;
  const token = s.repos.sessions.create('staff', id, 3_600_000);
  assert.ok(s.repos.sessions.resume(token, 3_600_000, Number.POSITIVE_INFINITY), 'signed in');
  const second = await ensureDemoAdmin(s);
  assert.notEqual(second.password, first.password);
  assert.equal(s.repos.sessions.resume(token, 3_600_000, Number.POSITIVE_INFINITY), undefined, 'the old session ended with the old password');
});
