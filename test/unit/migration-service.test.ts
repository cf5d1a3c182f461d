import { test } from 'node:test';
import assert from 'node:assert/strict';
import { migErrorCode } from '../../src/errors.js';
import { testServices } from '../helpers/core.js';

function setup() {
  const s = testServices();
  const sellerId = s.repos.sellers.insert({ externalId: 'S1', email: 'jan@gmail.com', name: 'Jan', allegroLogin: 'jan_sklep' });
  const mailboxId = s.repos.mailboxes.insert({ sellerId, email: 'jan@gmail.com', imapHost: 'imap.gmail.com', imapPort: 993, imapSecurity: 'tls', smtpHost: 'smtp.gmail.com', smtpPort: 465, smtpSecurity: 'tls', username: 'jan@gmail.com' });
  const autoresponderId = s.repos.autoresponders.insert({ sellerId, externalId: 'A1', version: 2, mailboxId });
  const m = s.migrationService.create(autoresponderId, { state: 'affected', rule: 'gmail_address', detail: 'gmail.com' }, { type: 'system' });
  return { s, m, autoresponderId };
}

test('a transition updates the record and writes its audit entry', () => {
  const { s, m, autoresponderId } = setup();
  const started = s.migrationService.transition(m.id, 'start_app_password', 'in_progress_app_password', { actor: { type: 'seller', id: 1 } });
  assert.equal(started.path, 'app_password');
  assert.ok(started.startedAt);
  const done = s.migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor: { type: 'seller', id: 1 } });
  assert.equal(done.state, 'relinked_app_password');
  assert.equal(done.previousState, 'in_progress_app_password');
  assert.ok(done.completedAt);
  const actions = s.repos.audit.listForTarget('autoresponder', autoresponderId).map((e) => e.action);
  assert.deepEqual(actions, ['migration.created', 'migration.start_app_password', 'migration.relinked']);
});

test('an illegal transition changes nothing, not even the audit log', () => {
  const { s, m } = setup();
  const before = s.repos.audit.count();
  assert.throws(
    () => s.migrationService.transition(m.id, 'switched_v3', 'switched_v3', { actor: { type: 'system' } }),
    (e: unknown) => migErrorCode(e) === 'MIG_ERR_ILLEGAL_TRANSITION',
  );
  assert.equal(s.repos.migrations.getById(m.id)?.state, 'affected');
  assert.equal(s.repos.audit.count(), before);
});

test('needs attention keeps its reason; review and reopen restore the state before review', () => {
  const { s, m } = setup();
  s.migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor: { type: 'seller', id: 1 } });
  s.migrationService.transition(m.id, 'switched_v3', 'switched_v3', { actor: { type: 'seller', id: 1 } });
  const att = s.migrationService.transition(m.id, 'needs_attention', 'needs_attention', { actor: { type: 'system' }, reason: 'authorize_again', errorCode: 'invalid_grant' });
  assert.equal(att.reasonCode, 'authorize_again');
  assert.equal(att.lastErrorCode, 'invalid_grant');
  s.migrationService.transition(m.id, 'reviewed', 'reviewed', { actor: { type: 'staff', id: 3 } });
  const reopened = s.migrationService.reopen(m.id, { type: 'staff', id: 3 });
  assert.equal(reopened.state, 'needs_attention');
  assert.equal(reopened.reasonCode, 'authorize_again');
});

test('detection does not touch a migration the seller acted on', () => {
  const { s, m } = setup();
  s.migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor: { type: 'seller', id: 1 } });
  const changed = s.migrationService.applyVerdict(s.repos.migrations.getById(m.id)!, { state: 'not_affected', rule: 'not_google', detail: null }, { type: 'system' });
  assert.equal(changed, false);
  assert.equal(s.repos.migrations.getById(m.id)?.state, 'in_progress_v3');
});
