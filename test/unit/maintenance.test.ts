import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testServices } from '../helpers/core.js';
import { purgeExpired, purgeOldChecks } from '../../src/ops/maintenance.js';

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

test('connection checks: the watch\'s passing ones go after 14 days, every other after 180; the newest of a mailbox and of a v3 autoresponder always stays', async () => {
  const DAY = 86_400_000;
  let clock = Date.parse('2026-01-01T10:00:00Z');
  const s = testServices({ now: () => new Date(clock) });
  const sellerId = s.repos.sellers.insert({ externalId: 'S1', email: 'a@gmail.com', name: 'A', allegroLogin: 'a' });
  const box = (email: string) => s.repos.mailboxes.insert({ sellerId, email, imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: email });
  const busy = box('busy@gmail.com');
  const quiet = box('quiet@gmail.com');
  const arBusy = s.repos.autoresponders.insert({ sellerId, externalId: 'A1', version: 2, mailboxId: busy });
  const arQuiet = s.repos.autoresponders.insert({ sellerId, externalId: 'A2', version: 2, mailboxId: quiet });
  const v3 = s.repos.autoresponders.insert({ sellerId, externalId: 'A3', version: 2, mailboxId: quiet });
  const mail = (mailboxId: number, autoresponderId: number, trigger: 'seller' | 'watch', ok: boolean) =>
    s.repos.connectionChecks.record({ mailboxId, autoresponderId, kind: 'mail', trigger, ok, code: ok ? null : 'MAIL_AUTH_FAILED', protocol: 'imap', detail: null });
  const allegro = (ok: boolean) => s.repos.connectionChecks.record({ mailboxId: null, autoresponderId: v3, kind: 'allegro', trigger: 'watch', ok, code: ok ? null : 'MIG_ERR_ALLEGRO_UNAVAILABLE', protocol: 'allegro', detail: null });

  const sellerFailure = mail(busy, arBusy, 'seller', false); // day 0: kept 180 days
  const quietOnly = mail(quiet, arQuiet, 'seller', false); // the only check of its mailbox: kept for ever
  const oldAllegro = allegro(false);
  const watchDaily: number[] = [];
  for (let d = 1; d <= 30; d++) {
    clock += DAY;
    watchDaily.push(mail(busy, arBusy, 'watch', true));
  }
  const watchFailure = mail(busy, arBusy, 'watch', false); // day 30: a failure is kept 180 days
  const lastAllegro = allegro(true); // a passing one, but the newest of its autoresponder

  clock += 200 * DAY;
  const ids = () => (s.db.prepare('SELECT id FROM connection_checks ORDER BY id').pluck().all() as number[]);
  // Day 230: everything before day 50 is past 180 days; passing watch checks before day 216 too.
  assert.equal(await purgeOldChecks(s), 30 + 2, "the daily passing ones, the seller's old failure and the old Allegro one");
  assert.deepEqual(ids(), [quietOnly, watchFailure, lastAllegro].sort((a, b) => a - b), 'kept: the newest of each mailbox and of the v3 autoresponder');
  assert.ok(!ids().includes(sellerFailure) && !ids().includes(oldAllegro) && !watchDaily.some((id) => ids().includes(id)));
  assert.equal(await purgeOldChecks(s), 0, 'nothing left to delete');

  // Fourteen days of passing watch checks stay; the fifteenth day back goes.
  const recent: number[] = [];
  for (let d = 1; d <= 20; d++) {
    clock += DAY;
    recent.push(mail(busy, arBusy, 'watch', true));
  }
  clock += 1;
  assert.equal(await purgeOldChecks(s), 6 + 1, 'six passing checks older than 14 days, and the failure (no longer the newest, 200 days old)');
  assert.deepEqual(ids().filter((id) => recent.includes(id)), recent.slice(6));
});

test('a backlog of old checks goes in batches, each its own transaction, up to a bound per run', async () => {
  const DAY = 86_400_000;
  let clock = Date.parse('2026-01-01T10:00:00Z');
  const s = testServices({ now: () => new Date(clock) });
  const sellerId = s.repos.sellers.insert({ externalId: 'S1', email: 'a@gmail.com', name: 'A', allegroLogin: 'a' });
  const mailboxId = s.repos.mailboxes.insert({ sellerId, email: 'a@gmail.com', imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: 'a@gmail.com' });
  const autoresponderId = s.repos.autoresponders.insert({ sellerId, externalId: 'A1', version: 2, mailboxId });
  const insert = s.db.prepare(`INSERT INTO connection_checks (mailbox_id, autoresponder_id, kind, trigger, ok, at) VALUES (?, ?, 'mail', 'watch', 1, ?)`);
  s.db.transaction(() => {
    for (let i = 0; i < 60_000; i++) insert.run(mailboxId, autoresponderId, new Date(clock + i).toISOString());
  })();
  clock += 30 * DAY;
  assert.equal(await purgeOldChecks(s), 50_000, 'one tidy-up: 25 batches of 2,000');
  assert.equal(await purgeOldChecks(s), 9_999, 'the next: the rest but the newest');
  assert.equal(s.db.prepare('SELECT count(*) FROM connection_checks').pluck().get(), 1);
});
