import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { memoryDb } from '../helpers/core.js';
import { createAuditRepository } from '../../src/repositories/audit.js';
import { AUDIT_ACTIONS, AUDIT_TARGETS, isAudit, type AuditAction, type AuditEventOf } from '../../src/domain/audit.js';
import { HISTORY_ACTIONS, historyLine } from '../../src/staff/history.js';
import { createI18n } from '../../src/i18n/index.js';
import type { MigrationService } from '../../src/migration/service.js';

// The audit log is one union of typed events (domain/audit.ts): written through repos.audit.record,
// read back as the same union; the staff history has a sentence for each.

/**
 * One event of every action, as a writer would record it. The mapped type makes a new action
 * without a sample here a compile error, so everything below covers every action.
 */
const SAMPLES: { [A in AuditAction]: AuditEventOf<A>['details'] } = {
  'migration.created': { state: 'affected', rule: 'gmail_address' },
  'migration.detected': { from: 'unknown', to: 'affected', rule: 'workspace_mx' },
  'migration.start_v3': { from: 'affected', to: 'in_progress_v3' },
  'migration.start_app_password': { from: 'affected', to: 'in_progress_app_password' },
  'migration.switched_v3': { from: 'in_progress_v3', to: 'switched_v3', authorizationId: 4, allegroLogin: 'ogrod_marzen', previousVersion: 2, templates: 3 },
  'migration.relinked': { from: 'needs_attention', to: 'relinked_app_password', recovered: true, trigger: 'watch', incidentId: 9 },
  'migration.needs_attention': { from: 'switched_v3', to: 'needs_attention', reason: 'allegro_account_mismatch', allegroLogin: 'inny', expectedLogin: 'ogrod_marzen' },
  'migration.reauthorized': { from: 'needs_attention', to: 'switched_v3', authorizationId: 4, allegroLogin: 'ogrod_marzen' },
  'migration.switched_back': { from: 'switched_v3', to: 'affected', toVersion: 2, templatesRestored: 3 },
  'migration.abandoned': { from: 'in_progress_v3', to: 'affected' },
  'migration.reviewed': { from: 'affected', to: 'reviewed', note: 'Zamyka sklep', jobId: 12 },
  'migration.reopened': { from: 'reviewed', to: 'needs_attention', reason: 'imap_disabled' },
  'seller.created': { externalId: 'S-1' },
  'seller.updated': { externalId: 'S-1' },
  'seller.signed_in': {},
  'mailbox.created': { email: 'ogrod@gmail.com' },
  'mailbox.servers_updated': { imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: 'ogrod@gmail.com' },
  'mailbox.secret_imported': { kind: 'account_password' },
  'mailbox.detected': { provider: 'workspace', rule: 'workspace_mx', detail: 'aspmx.l.google.com' },
  'mailbox.relinked': { imapHost: 'imap.gmail.com', smtpHost: 'smtp.gmail.com', smtpPort: 465, replaced: 'account_password' },
  'mailbox.secret_deleted': { reason: 'switched_v3', autoresponderId: 1 },
  'autoresponder.created': { externalId: 'A-1', version: 2 },
  'autoresponder.updated': { version: 3, previous: 2 },
  'autoresponder.switched_back': { toVersion: 2, migrationState: 'affected' },
  'import.completed': { rows: 10, imported: 7, updated: 2, unchanged: 1, rejected: 0 },
  'allegro.authorized': { authorizationId: 4, allegroLogin: 'ogrod_marzen', expectedLogin: 'ogrod_marzen', mismatch: false, scopes: 'allegro:api:messaging' },
  'allegro.account_confirmed': { authorizationId: 4, allegroLogin: 'inny' },
  'allegro.authorization_discarded': { authorizationId: 4, allegroLogin: 'inny' },
  'allegro.authorization_invalid': { reason: 'invalid_grant' },
  'secrets.rotated': { total: 5, reencrypted: 3, rotatedFrom: ['k1', 'k2'] },
  'staff.signed_in': {},
  'staff.signed_out': {},
  'staff.created': { email: 'ewa@wsparcie.example', role: 'agent' },
  'staff.updated': { email: 'ewa@wsparcie.example', role: 'admin' },
  'staff.password_reset': { email: 'admin@demo.example', role: 'admin' },
  'staff.role_changed': { from: 'agent', to: 'viewer' },
  'staff.disabled': { sessionsEnded: 2 },
  'staff.enabled': {},
  'staff.unlocked': { failuresCleared: 5 },
  'staff.password_set': { sessionsEnded: 1 },
  'staff.note': { note: 'Dzwoniła, zrobi to jutro' },
  'staff.recheck': { outcome: 'MAIL_AUTH_FAILED' },
  'staff.remind_not_sent': { outcome: 'recently_reminded', resendOf: 3 },
  'staff.export': { filter: { provider: 'gmail' }, total: 5, format: 'keys' },
  'reminder.sent': { autoresponderId: 1, jobId: null, language: 'pl', autoresponders: 2 },
  'reminder.resent': { autoresponderId: 1, jobId: null, language: 'en', autoresponders: 1, previousReminderId: 3 },
  'reminder.uncertain': { autoresponderId: 1, jobId: 12, error: 'connection closed after DATA' },
  'job.created': { kind: 'remind', scope: 'failed', confirmed: 3, retryOf: 11 },
  'job.cancel_requested': {},
  'job.started': { kind: 'recheck', confirmed: 3, total: 3 },
  'job.finished': { kind: 'recheck', counts: { pending: 0, running: 0, done: 2, failed: 1, skipped: 0, cancelled: 0, unknown: 0 } },
  'job.cancelled': { kind: 'review', counts: { pending: 0, running: 0, done: 1, failed: 0, skipped: 0, cancelled: 2, unknown: 0 } },
  'job.item.done': { jobId: 12, kind: 'remind', outcome: 'sent', attempt: 1 },
  'job.item.failed': { jobId: 12, kind: 'recheck', outcome: 'MAIL_AUTH_FAILED', attempt: 2 },
  'job.item.skipped': { jobId: 12, kind: 'review', outcome: 'already_reviewed', attempt: 1 },
  'job.item.unknown': { jobId: 12, kind: 'remind', outcome: 'MIG_ERR_SEND_UNCERTAIN', attempt: 1 },
  'job.item.retry': { jobId: 12, kind: 'remind', outcome: 'MIG_ERR_SEND_FAILED', attempt: 1 },
  'watch.broke': { incidentId: 9, reason: 'app_password_rejected', code: 'MAIL_AUTH_FAILED', workedUntil: '2026-12-11T10:00:00.000Z', trigger: 'watch', noticeNotBefore: '2026-12-12T08:00:00.000Z' },
  'watch.recovered': { incidentId: 9, reason: 'app_password_rejected', resolution: 'migrated_again', brokenSince: '2026-12-11T11:00:00.000Z', noticeCancelled: true },
  'watch.problem_changed': { incidentId: 9, reason: 'app_password_rejected', resolution: 'changed', brokenSince: '2026-12-11T11:00:00.000Z' },
  'watch.notice_sent': { incidentId: 9, reason: 'imap_disabled', sellerId: 2, language: 'pl', code: 'MAIL_IMAP_DISABLED' },
  'watch.notice_uncertain': { incidentId: 9, reason: 'imap_disabled', error: 'the process stopped while the mail server was accepting the message' },
  'watch.notice_failed': { incidentId: 9, reason: 'imap_disabled', error: '550 mailbox unavailable', code: 'MIG_ERR_SEND_REFUSED', attempts: 1 },
  'watch.notice_cancelled': { incidentId: 9, reason: 'imap_disabled', why: 'check_passed' },
};

/** Actions deliberately left out of the staff history (none today: every event has a sentence). */
const NOT_IN_HISTORY: readonly AuditAction[] = [];

const ROOT = path.resolve(import.meta.dirname, '../..');
const catalog = (lang: string) => JSON.parse(readFileSync(path.join(ROOT, 'src/i18n', `${lang}.json`), 'utf8')) as { staff: { history: { events: Record<string, string> } } };
const lookup = { staffEmail: (id: number) => (id === 7 ? 'ewa@wsparcie.example' : undefined), mailboxEmail: (id: number) => (id === 1 ? 'ogrod@gmail.com' : undefined) };

test('every action is named once, in the table the reader checks, and has a history sentence in both catalogs', () => {
  assert.equal(new Set(AUDIT_ACTIONS).size, AUDIT_ACTIONS.length);
  assert.deepEqual([...AUDIT_ACTIONS].sort(), Object.keys(SAMPLES).sort(), 'the table and the samples name the same actions');
  for (const a of AUDIT_ACTIONS) assert.match(a, /^[a-z]+(\.[a-z0-9_]+)+$/, a);
  for (const a of AUDIT_ACTIONS) {
    const shown = HISTORY_ACTIONS.includes(a);
    assert.ok(shown !== NOT_IN_HISTORY.includes(a), `${a}: either in the history or listed as not shown`);
    if (!shown) continue;
    for (const lang of ['pl', 'en']) assert.ok(catalog(lang).staff.history.events[a.replace(/\./g, '_')], `${lang}: staff.history.events.${a.replace(/\./g, '_')}`);
  }
});

test('record → read gives the typed event back, and the history tells it as a sentence', async () => {
  const db = memoryDb();
  const audit = createAuditRepository(db, () => new Date('2026-12-12T10:00:00Z'));
  const i18n = await createI18n();
  const actor = { type: 'staff' as const, id: 7 };
  for (const action of AUDIT_ACTIONS) {
    const details = SAMPLES[action];
    const id = audit.record(actor, 1, { action, details } as never);
    const [entry] = audit.listForTarget(AUDIT_TARGETS[action], 1).filter((e) => e.id === id);
    assert.ok(entry && isAudit(entry, action), `${action} reads back as its event`);
    assert.deepEqual({ action: entry.action, targetType: entry.targetType, details: entry.details }, { action, targetType: AUDIT_TARGETS[action], details });
    assert.deepEqual([entry.actorType, entry.actorId, entry.targetId], ['staff', '7', '1']);
    if (!HISTORY_ACTIONS.includes(action)) continue;
    for (const lang of ['pl', 'en'] as const) {
      const line = historyLine(entry, i18n.t(lang), lookup);
      assert.doesNotMatch(line.sentence, /\{\{|staff\.history|undefined|\[object/, `${lang} ${action}: ${line.sentence}`);
      assert.ok(!line.sentence.includes(action), `${lang} ${action} has its own sentence, not the unknown one: ${line.sentence}`);
    }
  }
  // A few sentences in full: the typed details fill them.
  const pl = i18n.t('pl');
  const said = (action: AuditAction) => historyLine(audit.listForTarget(AUDIT_TARGETS[action], 1).find((e) => e.action === action)!, pl, lookup).sentence;
  assert.equal(said('migration.switched_v3'), 'Pracownik wsparcia ewa@wsparcie.example przełączył autoresponder na wersję 3 (konto Allegro ogrod_marzen, 3 szablony)');
  assert.equal(said('migration.relinked'), 'Pracownik wsparcia ewa@wsparcie.example sprawdził skrzynkę: znów działa, stan wrócił do „Połączono hasłem do aplikacji”');
  assert.equal(said('job.item.failed').startsWith('Zadanie zbiorcze #12 (sprawdzenie połączeń) nie powiodło się: '), true);
  assert.equal(historyLine(audit.listForTarget('autoresponder', 1).find((e) => e.action === 'job.item.done')!, pl, lookup).jobHref, '/staff/jobs/12');
});

test('an old row with an action this version does not know still reads, and shows by its name', async () => {
  const db = memoryDb();
  const audit = createAuditRepository(db);
  db.prepare(`INSERT INTO audit_log (at, actor_type, actor_id, action, target_type, target_id, details) VALUES (?, 'system', NULL, ?, ?, '1', ?)`)
    .run('2025-01-01T00:00:00.000Z', 'job.item.cancelled', 'autoresponder', JSON.stringify({ jobId: 3, kind: 'remind' }));
  // A known name on the wrong kind of target is not taken for that event either.
  db.prepare(`INSERT INTO audit_log (at, actor_type, actor_id, action, target_type, target_id, details) VALUES (?, 'system', NULL, 'staff.note', 'mailbox', '1', '{}')`).run('2025-01-01T00:00:00.000Z');
  const [old] = audit.listForTarget('autoresponder', 1);
  assert.ok(old && !old.known);
  assert.deepEqual([old.action, old.details], ['job.item.cancelled', { jobId: 3, kind: 'remind' }]);
  assert.equal(audit.listForTarget('mailbox', 1)[0]?.known, false);
  const line = historyLine(old, (await createI18n()).t('pl'), lookup);
  assert.equal(line.sentence, 'System: zdarzenie job.item.cancelled');
  assert.equal(line.jobHref, '/staff/jobs/3');
  // "szczegóły" in labelled lines, no JSON: the job's number and its kind in words, the time in Warsaw.
  assert.deepEqual(line.details.map((d) => `${d.label}: ${d.value}`), ['Kto: System', 'Czego dotyczy: autoresponder #1', 'Kiedy: 1 sty 2025, 01:00', 'Zadanie zbiorcze nr: 3', `Rodzaj: ${(await createI18n()).t('pl')('staff.history.jobKinds.remind')}`]);
});

test('the scrub of secret-looking keys stays, and no typed key would be scrubbed', () => {
  const db = memoryDb();
  const audit = createAuditRepository(db);
  const leaky = { note: 'ok', appPassword: 'abcd', refreshToken: 'r' };
  audit.record({ type: 'seller', id: 1 }, 1, { action: 'staff.note', details: leaky });
  assert.deepEqual(audit.listForTarget('autoresponder', 1)[0]?.details, { note: 'ok' });
  // The compile-time half is in domain/audit.ts (nothingScrubbed); `secrets.rotated` once named a
  // key `fromKeys`, which was always dropped: it is `rotatedFrom` now.
  audit.record({ type: 'cli' }, 'k2', { action: 'secrets.rotated', details: { total: 1, reencrypted: 1, rotatedFrom: ['k1'] } });
  assert.deepEqual(audit.listForTarget('keyring', 'k2')[0]?.details, { total: 1, reencrypted: 1, rotatedFrom: ['k1'] });
});

/** Never called: what tsc refuses (each line must be an error, or @ts-expect-error fails the build). */
export function writersThatDoNotCompile(audit: ReturnType<typeof createAuditRepository>, migrations: MigrationService, status: 'done' | 'failed' | 'cancelled') {
  const actor = { type: 'system' as const };
  // @ts-expect-error an action nobody writes
  audit.record(actor, 1, { action: 'migration.exploded', details: {} });
  // @ts-expect-error a detail the event does not have
  audit.record(actor, 1, { action: 'staff.note', details: { note: 'x', colour: 'red' } });
  // @ts-expect-error a detail of the wrong type
  audit.record(actor, 1, { action: 'staff.export', details: { filter: {}, total: '5' } });
  // @ts-expect-error a required detail left out
  audit.record(actor, 1, { action: 'mailbox.created' });
  // @ts-expect-error a job item's name built from a status that has no event (job.item.cancelled)
  audit.record(actor, 1, { action: `job.item.${status}`, details: { jobId: 1, kind: 'remind', outcome: 'x', attempt: 1 } });
  // @ts-expect-error a transition's details belong to its event (switched_v3 has no note)
  migrations.transition(1, 'switched_v3', 'switched_v3', { actor, details: { note: 'x' } });
  // @ts-expect-error an event without details of its own takes none
  migrations.transition(1, 'start_v3', 'in_progress_v3', { actor, details: { note: 'x' } });
  // @ts-expect-error `detected` always records its rule
  migrations.transition(1, 'detected', 'affected', { actor });
}
