import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextSlot, paceLimit, retryDelayMs, slotOffset } from '../../src/watch/schedule.js';
import { inSendHours, nextSendTime } from '../../src/outbox/hours.js';
import { allegroVerdict, mailVerdict } from '../../src/checks/verdict.js';
import { loadConfig, parseSendHours } from '../../src/config.js';
import { MAIL_CHECK_CODES } from '../../src/mail/classify.js';
import { testServices } from '../helpers/core.js';
import { openProblem } from '../../src/watch/pages.js';

const DAY = 86_400_000;

test('slots: stable per autoresponder, spread evenly over the interval (100,000 over 24 h, hour by hour)', () => {
  assert.equal(slotOffset(42, DAY), slotOffset(42, DAY), 'the same slot every time');
  const perHour = new Array(24).fill(0) as number[];
  for (let id = 1; id <= 100_000; id++) {
    const off = slotOffset(id, DAY);
    assert.ok(off >= 0 && off < DAY);
    perHour[Math.floor(off / 3_600_000)]!++;
  }
  const even = 100_000 / 24;
  for (const n of perHour) assert.ok(Math.abs(n - even) < even * 0.06, `${n} checks in one hour (even: ${Math.round(even)})`);
});

test('the next slot: after the given time, in the autoresponder\'s place of the interval, one interval later after a check at the slot', () => {
  const after = new Date('2026-12-12T10:00:00Z');
  const s = nextSlot(7, DAY, after);
  assert.ok(s.getTime() > after.getTime() && s.getTime() <= after.getTime() + DAY);
  assert.equal(s.getTime() % DAY, slotOffset(7, DAY));
  assert.equal(nextSlot(7, DAY, s).getTime(), s.getTime() + DAY, 'checked at its slot: the next is a day later');
  assert.equal(nextSlot(7, DAY, new Date(s.getTime() + 30 * 60_000)).getTime(), s.getTime() + DAY, 'checked late (a retry): still the same place');
});

test('sending hours in Poland: daytime is now, the evening and the night wait for 08:00, across the change of clocks', () => {
  const hours = { from: 8, to: 20 };
  const noon = new Date('2026-12-12T11:00:00Z'); // 12:00 in Warsaw (winter, UTC+1)
  assert.equal(nextSendTime(noon, hours), noon);
  assert.ok(inSendHours(noon, hours));
  assert.equal(nextSendTime(new Date('2026-12-12T20:30:00Z'), hours).toISOString(), '2026-12-13T07:00:00.000Z', '21:30 → 08:00 the next day');
  assert.equal(nextSendTime(new Date('2026-12-12T05:00:00Z'), hours).toISOString(), '2026-12-12T07:00:00.000Z', '06:00 → 08:00 the same day');
  assert.equal(nextSendTime(new Date('2026-12-12T19:00:00Z'), hours).toISOString(), '2026-12-13T07:00:00.000Z', '20:00 is already evening');
  assert.equal(nextSendTime(new Date('2026-07-01T05:00:00Z'), hours).toISOString(), '2026-07-01T06:00:00.000Z', 'summer: 07:00 → 08:00 (UTC+2)');
  // The night of 28/29 March 2026 the clocks go from 02:00 to 03:00: 08:00 that morning is 06:00 UTC.
  assert.equal(nextSendTime(new Date('2026-03-28T21:30:00Z'), hours).toISOString(), '2026-03-29T06:00:00.000Z');
  assert.equal(nextSendTime(new Date('2026-10-24T20:00:00Z'), hours).toISOString(), '2026-10-25T07:00:00.000Z', 'and back in October');
  const always = { from: 0, to: 24 };
  const night = new Date('2026-12-12T02:00:00Z');
  assert.equal(nextSendTime(night, always), night);
});

test('WATCH_* configuration: defaults, in the demo only against both simulators, bad values named', () => {
  const c = loadConfig({ DEMO: '0', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl' });
  assert.deepEqual([c.watchEnabled, c.watchIntervalMs, c.watchSendHours], [true, DAY, { from: 8, to: 20 }]);
  assert.equal(loadConfig({ DEMO: '1' }).watchEnabled, true, 'the demo watches its mailboxes and authorizations in the simulators');
  assert.equal(loadConfig({ DEMO: '1', WATCH_ENABLED: '0' }).watchEnabled, false);
  assert.equal(loadConfig({ DEMO: '1', GOOGLE_SIMULATOR: '0' }).watchEnabled, false, 'the demo\'s mailboxes would be checked at the real Google');
  assert.equal(loadConfig({ DEMO: '1', ALLEGRO_ENV: 'sandbox' }).watchEnabled, false, 'the demo\'s v3 ones would be checked at a real Allegro');
  assert.equal(loadConfig({ DEMO: '1', ALLEGRO_AUTH_URL: 'http://127.0.0.1:9', ALLEGRO_API_URL: 'http://127.0.0.1:9' }).watchEnabled, false, 'an Allegro not started beside the app');
  assert.equal(loadConfig({ DEMO: '1', SMTP_URL: 'smtp://relay.example.pl:587' }).watchEnabled, false, 'its e-mails would reach the demo\'s made-up sellers');
  assert.equal(loadConfig({ DEMO: '1', GOOGLE_SIMULATOR: '0', WATCH_ENABLED: '1' }).watchEnabled, true, 'WATCH_ENABLED wins');
  // The simulator's tokens are kept beside a database file, in the demo only.
  assert.equal(loadConfig({ DEMO: '1', DATABASE_PATH: '/tmp/x/app.db' }).allegro.simulatorTokenFile, '/tmp/x/allegro-simulator/tokens.json');
  assert.equal(loadConfig({ DEMO: '1', DATABASE_PATH: ':memory:' }).allegro.simulatorTokenFile, null);
  assert.equal(loadConfig({ DEMO: '0', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl', ALLEGRO_ENV: 'simulator', DATABASE_PATH: '/tmp/x/app.db' }).allegro.simulatorTokenFile, null);
  assert.equal(loadConfig({ DEMO: '0', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl', WATCH_INTERVAL_HOURS: '0.5' }).watchIntervalMs, 1_800_000);
  assert.throws(() => loadConfig({ WATCH_INTERVAL_HOURS: '0' }), /WATCH_INTERVAL_HOURS/);
  assert.throws(() => loadConfig({ WATCH_SEND_HOURS: '20-8' }), /WATCH_SEND_HOURS must be two hours/);
  assert.throws(() => loadConfig({ WATCH_ENABLED: 'maybe' }), /WATCH_ENABLED/);
  assert.deepEqual(parseSendHours('0-24'), { from: 0, to: 24 });
  assert.equal(parseSendHours('8-25'), null);
});

test('retries of what is not the seller\'s fault: doubling, jittered, at most 4 hours at 24 h; pacing twice the even rate', () => {
  const lo = () => 0;
  const hi = () => 0.999999;
  assert.equal(retryDelayMs(1, DAY, lo), 7.5 * 60_000);
  assert.ok(retryDelayMs(1, DAY, hi) <= 15 * 60_000);
  assert.equal(retryDelayMs(2, DAY, lo), 15 * 60_000);
  assert.ok(retryDelayMs(30, DAY, hi) <= 4 * 3_600_000);
  assert.ok(retryDelayMs(3, 36_000, hi) <= 18_000, 'a short interval keeps retries within it');
  assert.equal(paceLimit(100_000, DAY), 139, '100,000 a day: about 69 a minute, at most 139');
  assert.equal(paceLimit(5, DAY), 10, 'a handful is no burst');
});

test('verdicts: only a refused app password, a sign-in in the browser, IMAP off or invalid_grant need the seller', () => {
  const seller = MAIL_CHECK_CODES.filter((c) => mailVerdict(c).kind === 'seller');
  assert.deepEqual(seller.sort(), ['MAIL_APP_PASSWORD_REQUIRED', 'MAIL_AUTH_FAILED', 'MAIL_IMAP_DISABLED', 'MAIL_WEB_LOGIN_REQUIRED']);
  assert.deepEqual(mailVerdict('MAIL_AUTH_FAILED'), { kind: 'seller', reason: 'app_password_rejected', code: 'MAIL_AUTH_FAILED' });
  assert.deepEqual(mailVerdict('MAIL_WEB_LOGIN_REQUIRED'), { kind: 'seller', reason: 'web_login_required', code: 'MAIL_WEB_LOGIN_REQUIRED' });
  assert.deepEqual(mailVerdict('MAIL_IMAP_DISABLED'), { kind: 'seller', reason: 'imap_disabled', code: 'MAIL_IMAP_DISABLED' });
  for (const code of ['MAIL_TIMEOUT', 'MAIL_CONNECTION_REFUSED', 'MAIL_SERVER_ERROR', 'MAIL_TLS_FAILED', 'MAIL_DNS_FAILED', 'MAIL_TOO_MANY_CONNECTIONS']) {
    assert.deepEqual(mailVerdict(code), { kind: 'outage', code });
  }
  assert.deepEqual(mailVerdict(null), { kind: 'ok' });
  assert.deepEqual(allegroVerdict({ ok: false, code: 'MIG_ERR_AUTHORIZE_AGAIN', authorizeAgain: true }), { kind: 'seller', reason: 'authorize_again', code: 'MIG_ERR_AUTHORIZE_AGAIN' });
  assert.deepEqual(allegroVerdict({ ok: false, code: 'MIG_ERR_ALLEGRO_UNAVAILABLE', authorizeAgain: false }), { kind: 'outage', code: 'MIG_ERR_ALLEGRO_UNAVAILABLE' });
  assert.deepEqual(allegroVerdict({ ok: false, code: 'MIG_ERR_ALLEGRO_API', authorizeAgain: false }), { kind: 'outage', code: 'MIG_ERR_ALLEGRO_API' });
  assert.deepEqual(allegroVerdict({ ok: true }), { kind: 'ok' });
});

test('the problem a fix page tells: only its own (the wizard a mailbox\'s, the Allegro consent an authorization\'s), and only while the autoresponder still needs attention', () => {
  const s = testServices();
  const sellerId = s.repos.sellers.insert({ externalId: 'S1', email: 'a@gmail.com', name: 'A', allegroLogin: 'a' });
  const mailboxId = s.repos.mailboxes.insert({ sellerId, email: 'a@gmail.com', imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: 'a@gmail.com' });
  const id = s.repos.autoresponders.insert({ sellerId, externalId: 'A1', version: 2, mailboxId });
  const m = s.migrationService.create(id, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system' });
  const actor = { type: 'system' as const, id: 'test' };
  s.migrationService.transition(m.id, 'start_app_password', 'in_progress_app_password', { actor });
  s.migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor });
  s.migrationService.transition(m.id, 'needs_attention', 'needs_attention', { actor, reason: 'app_password_rejected' });
  s.repos.watch.openIncidentFor({ autoresponderId: id, subject: `mailbox:${mailboxId}`, reason: 'app_password_rejected', code: 'MAIL_AUTH_FAILED', workedUntil: '2026-12-12T10:00:00Z', foundAt: '2026-12-13T10:00:00Z' });
  assert.deepEqual(openProblem(s.repos, [id], 'mailbox'), { workedUntil: '2026-12-12T10:00:00Z', reason: 'app_password_rejected' });
  assert.equal(openProblem(s.repos, [id], 'allegro'), null, 'the Allegro consent page says nothing of app passwords');
  // The seller chose to switch to version 3 instead: the incident is closed only by the next sync, but
  // the page no longer tells a problem the seller is already fixing another way.
  s.migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor });
  assert.equal(openProblem(s.repos, [id], 'mailbox'), null);
});
