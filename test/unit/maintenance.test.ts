import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testServices } from '../helpers/core.js';
import { purgeExpired } from '../../src/ops/maintenance.js';

test('maintenance deletes expired sessions, week-old sign-in links and stale authorization requests, nothing live', () => {
  let clock = Date.parse('2026-11-21T10:00:00Z');
  const s = testServices({ now: () => new Date(clock) });
  const seller = s.repos.sellers.insert({ externalId: 'S1', email: 'a@gmail.com', name: 'A', allegroLogin: 'a' });
  const oldSession = s.repos.sessions.create('seller', seller, 60_000);
  const oldLink = s.repos.loginTokens.issue(seller, 30 * 60_000);
  s.repos.oauthStates.create({ state: 'old', sessionValue: oldSession, sellerId: seller, autoresponderId: null, codeVerifier: 'x', ttlMs: 600_000 });
  s.repos.staff.recordFailure('stara@wsparcie.example'); // a day old by the purge: deleted
  clock += 25 * 3_600_000;
  s.repos.staff.recordFailure('nowa@wsparcie.example'); // recent: kept (it still counts for the limit)
  const liveSession = s.repos.sessions.create('seller', seller, 3_600_000);
  const recentLink = s.repos.loginTokens.issue(seller, 60_000);
  s.repos.oauthStates.create({ state: 'new', sessionValue: liveSession, sellerId: seller, autoresponderId: null, codeVerifier: 'x', ttlMs: 600_000 });
  clock += 2 * 60_000; // the recent link has just expired: it is kept, so it still says "expired"

  assert.deepEqual(purgeExpired(s), { sessions: 1, loginTokens: 1, oauthStates: 1, staffSignInFailures: 1 });
  assert.ok(s.repos.sessions.resume(liveSession, 3_600_000));
  assert.equal(s.repos.loginTokens.peek(oldLink), undefined);
  assert.ok(s.repos.loginTokens.peek(recentLink));
  assert.equal(s.repos.oauthStates.consume('old', oldSession).ok, false);
  assert.equal(s.repos.oauthStates.consume('new', liveSession).ok, true);
  assert.deepEqual(purgeExpired(s), { sessions: 0, loginTokens: 0, oauthStates: 0, staffSignInFailures: 0 });
});
