import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { seedAccounts } from '../helpers/staff.js';

/**
 * Two autoresponders on one mailbox break together: the seller hears once (one e-mail for both). When
 * the one whose incident carries that e-mail stops being watched before it went (its seller switched it
 * to version 3, or support marked it reviewed), the e-mail moves to the other, so the seller still hears.
 */
test('one e-mail for a problem shared by two autoresponders, handed over when the one that carried it is no longer watched', async (t) => {
  const { app } = await build(t, { env: { WATCH_SEND_HOURS: '0-24' } });
  const s = app.services;
  const [a1] = seedAccounts(s, [{ name: 'Sklep Dwa', email: 'dwa@sklep.example', mailbox: 'dwa@gmail.com', secret: 'abcdefghijklmnop', secretKind: 'app_password', state: 'relinked_app_password', sellerExternalId: 'DWA' }]);
  seedAccounts(s, [{ name: 'Sklep Dwa', email: 'dwa@sklep.example', mailboxId: a1!.mailboxId!, state: 'relinked_app_password', sellerExternalId: 'DWA' }]);
  const ars = s.repos.autoresponders.listByMailbox(a1!.mailboxId!);
  assert.equal(ars.length, 2);
  const broken = { kind: 'seller' as const, reason: 'app_password_rejected' as const, code: 'MAIL_AUTH_FAILED' };
  const by = { actor: { type: 'system' as const, id: 'watch' }, trigger: 'watch', full: true };
  s.db.transaction(() => {
    for (const a of ars) app.outcomes.apply(a, broken, by);
  })();
  const incidents = ars.map((a) => s.repos.watch.openIncident(a.id)!);
  const notices = () => incidents.map((i) => s.repos.watch.noticeOf(i.id)?.status ?? null);
  assert.deepEqual(notices(), ['pending', null], 'one e-mail for the two');

  // The first stops being watched before its e-mail went: the second takes the e-mail over.
  s.db.transaction(() => app.outcomes.closeIncident(incidents[0]!, 'not_watched', new Date().toISOString(), by.actor))();
  assert.deepEqual(notices(), ['cancelled', 'pending'], 'the e-mail moved to the autoresponder still broken');

  // Checked again, the same problem: still one e-mail, none added.
  s.db.transaction(() => app.outcomes.apply(ars[1]!, broken, by))();
  assert.equal(s.db.prepare(`SELECT count(*) FROM watch_notices WHERE status = 'pending'`).pluck().get(), 1);
});
