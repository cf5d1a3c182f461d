import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../../src/db/database.js';
import { testServices } from '../helpers/core.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { startSmtp } from '../helpers/smtp.js';
import { startDovecot } from '../helpers/dovecot.js';
import { testCert } from '../helpers/tls.js';
import { record } from '../helpers/transcript.js';
import { exited, serverEnv, startServer, until } from '../helpers/child-server.js';

const SELLERS = 60;
const STORED = 'abcdefghijklmnop';

test('a watch killed (SIGKILL) while it e-mails sellers: after the restart every seller is told once, none twice, and later checks send nothing', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-watch-restart-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const users = Array.from({ length: SELLERS }, (_, i) => `w${i}@gmail.com`);
  // Every account's Google password was changed: the stored app passwords are refused, by IMAP and SMTP.
  const dovecot = await startDovecot(users.map((user) => ({ user, password: 'zmienione-haslo-google' })));
  t.after(() => dovecot.stop());
  const mailSmtp = await startSmtp({ security: 'tls', users: Object.fromEntries(users.map((u) => [u, 'zmienione-haslo-google'])) });
  t.after(() => mailSmtp.stop());
  // A slow relay (30 ms before it answers 250), so the kill can land inside a send.
  const relay = await startSmtp({ security: 'plain', acceptDelayMs: 30 });
  t.after(() => relay.stop());

  const dbFile = path.join(dir, 'app.db');
  const db = openDatabase(dbFile);
  migrate(db);
  const { repos, secrets, migrationService } = testServices({ db });
  db.transaction(() => {
    users.forEach((user, i) => {
      const sellerId = repos.sellers.insert({ externalId: `W${i}`, email: `sklep${i}@example.pl`, name: `Sklep ${i}`, allegroLogin: null });
      const mailboxId = repos.mailboxes.insert({ sellerId, email: user, imapHost: '127.0.0.1', imapPort: dovecot.port, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: mailSmtp.port, smtpSecurity: 'tls', username: user });
      repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt(STORED, 'mailbox-secret'), kind: 'app_password', verifiedAt: new Date().toISOString() });
      const id = repos.autoresponders.insert({ sellerId, externalId: `AR-W${i}`, version: i % 2 ? 1 : 2, mailboxId });
      const m = migrationService.create(id, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system', id: 'test' });
      migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor: { type: 'seller', id: sellerId } });
    });
  })();
  db.close();

  const port = await freePort();
  const env = serverEnv(dbFile, port, {
    LOG_LEVEL: 'warn',
    WATCH_ENABLED: '1',
    // Every autoresponder's slot within 36 seconds, and e-mails at any hour: the test does not wait for a day.
    WATCH_INTERVAL_HOURS: '0.01',
    WATCH_SEND_HOURS: '0-24',
    SMTP_URL: `smtp://127.0.0.1:${relay.port}`,
    MAIL_TLS_CA_FILE: testCert().certFile,
    MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
    MAIL_PORT_ALLOWLIST: `${dovecot.port},${mailSmtp.port}`,
    MAIL_CHECK_TIMEOUT_MS: '5000',
    BULK_CONCURRENCY: '4',
  });
  const first = startServer(dir, env);
  t.after(() => void first.kill('SIGKILL'));
  await until(() => relay.received.length >= 20, 90_000, '20 e-mails');
  first.kill('SIGKILL');
  await exited(first);
  const atKill = relay.received.length;
  assert.ok(atKill < SELLERS, `killed while sending (${atKill} sent)`);

  const restartedAt = new Date().toISOString();
  const second = startServer(dir, env);
  t.after(() => void second.kill('SIGKILL'));
  await waitForPort(port, 30_000);
  const reader = openDatabase(dbFile);
  t.after(() => reader.close());
  const settled = () => reader.prepare(`SELECT count(*) FROM watch_notices WHERE status IN ('sent', 'unknown')`).pluck().get() as number;
  await until(() => settled() === SELLERS, 90_000, 'every seller told');
  // Every autoresponder checked again after the restart (the same problem): no new e-mail may follow.
  await until(() => (reader.prepare(`SELECT count(*) FROM watches WHERE checked_at > ?`).pluck().get(restartedAt) as number) === SELLERS, 90_000, 'a second round of checks');
  await new Promise((r) => setTimeout(r, 500));
  second.kill('SIGTERM');
  await exited(second);

  const perRecipient = new Map<string, number>();
  for (const m of relay.received) for (const to of m.to) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
  assert.deepEqual([...perRecipient].filter(([, n]) => n > 1), [], 'no seller got two e-mails');
  const notices = reader.prepare(`SELECT s.email, n.status FROM watch_notices n JOIN sellers s ON s.id = n.seller_id`).all() as { email: string; status: string }[];
  assert.equal(notices.length, SELLERS, 'one notice per problem, also after the restart');
  for (const n of notices) {
    const got = perRecipient.get(n.email) ?? 0;
    if (n.status === 'sent') assert.equal(got, 1, `${n.email}: sent once`);
    else assert.ok(n.status === 'unknown' && got <= 1, `${n.email}: ${n.status}, received ${got}`);
  }
  const unknown = notices.filter((n) => n.status === 'unknown').length;
  assert.ok(unknown <= 2, 'at most the sends in flight at the kill (the watch\'s share of the cap) are uncertain');
  const states = reader.prepare(`SELECT state, reason_code AS reason, count(*) AS n FROM migrations GROUP BY 1, 2`).all();
  assert.deepEqual(states, [{ state: 'needs_attention', reason: 'app_password_rejected', n: SELLERS }]);
  assert.equal(reader.prepare(`SELECT count(*) FROM watch_incidents`).pluck().get(), SELLERS, 'the same problem stays one incident');
  t.diagnostic(`killed after ${atKill} e-mails; uncertain: ${unknown}; received in all: ${relay.received.length}`);
  record('server-log', 'watch-restart child server', readFileSync(path.join(dir, 'server.log'), 'utf8'));
});
