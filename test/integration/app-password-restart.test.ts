import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate, openDatabase } from '../../src/db/database.js';
import { SESSION_COOKIE } from '../../src/plugins/auth.js';
import { testServices } from '../helpers/core.js';
import { startDovecot } from '../helpers/dovecot.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { startSmtp } from '../helpers/smtp.js';
import { testCert } from '../helpers/tls.js';
import { record } from '../helpers/transcript.js';
import { exited, serverEnv, startServer } from '../helpers/child-server.js';
import { seedAccounts } from '../helpers/staff.js';

const MAILBOX = 'biuro@firma-restart.pl';
const APP_PASSWORD = 'zxcvasdfqwerhjkl';
const OLD = 'Stare-Haslo-Konta-9';

/**
 * The server is SIGKILLed at different moments of an app-password save (before, during and after
 * the real IMAP/SMTP login, whose SMTP AUTH answer is slowed to 400 ms), then restarted. Each time the
 * mailbox and its migration are either untouched or completely saved, never in between.
 */
test('the server killed (SIGKILL) at any moment of an app-password save: nothing half-written; after a restart the seller finishes', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-relink-kill-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dovecot = await startDovecot([{ user: MAILBOX, password: APP_PASSWORD }]);
  t.after(() => dovecot.stop());
  const smtp = await startSmtp({ security: 'starttls', users: { [MAILBOX]: APP_PASSWORD }, authDelayMs: 400 });
  t.after(() => smtp.stop());

  const dbFile = path.join(dir, 'app.db');
  const db = openDatabase(dbFile);
  migrate(db);
  const s = testServices({ db });
  const [row] = seedAccounts(s, [{ name: 'Firma Restart', email: 'wlasciciel@firma-restart.pl', mailbox: MAILBOX, provider: 'workspace', imapHost: 'imap.firma-restart.pl', secret: OLD, secretKind: 'account_password' }]);
  const mailboxId = row!.mailboxId!;
  // Two autoresponders read this mailbox: both must move together or not at all.
  seedAccounts(s, [{ name: 'Firma Restart', email: 'wlasciciel@firma-restart.pl', mailboxId, version: 1, sellerExternalId: s.repos.sellers.getById(row!.sellerId)!.externalId }]);
  const cookie = `${SESSION_COOKIE}=${s.repos.sessions.create('seller', row!.sellerId, 24 * 3_600_000)}`;
  db.close();

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = serverEnv(dbFile, port, {
    LOG_LEVEL: 'info',
    MAIL_TLS_CA_FILE: testCert().certFile,
    MAIL_HOST_ALLOWLIST: '127.0.0.1',
    MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
    MAIL_PORT_ALLOWLIST: `${dovecot.port},${smtp.port}`,
    MAIL_CHECK_TIMEOUT_MS: '5000',
  });

  /** What is stored now, read from the file as a fresh process would. */
  const stored = () => {
    const reader = openDatabase(dbFile);
    try {
      const rs = testServices({ db: reader });
      const box = rs.repos.mailboxes.getById(mailboxId)!;
      const secret = rs.secrets.decrypt(rs.repos.mailboxes.getEncryptedSecret(mailboxId)!, 'mailbox-secret');
      const states = rs.repos.autoresponders.listByMailbox(mailboxId).map((a) => rs.repos.migrations.findByAutoresponder(a.id)!.state);
      const relinkedAudit = reader.prepare(`SELECT count(*) FROM audit_log WHERE action = 'mailbox.relinked'`).pluck().get() as number;
      const integrity = reader.pragma('integrity_check', { simple: true });
      return { kind: box.secretKind, secret, imapPort: box.imapPort, states, relinkedAudit, integrity };
    } finally {
      reader.close();
    }
  };

  /** The seller's form, posted the way the browser posts it (the page first, for the CSRF token). */
  async function post(): Promise<Response> {
    const page = await fetch(`${base}/mailboxes/${mailboxId}/app-password/3`, { headers: { cookie } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const jar = [cookie, ...page.headers.getSetCookie().map((c) => c.split(';')[0])].join('; ');
    const body = new URLSearchParams({ _csrf: csrf, app_password: APP_PASSWORD, imap_host: '127.0.0.1', imap_port: String(dovecot.port), smtp_host: '127.0.0.1', smtp_port: String(smtp.port) });
    return fetch(`${base}/mailboxes/${mailboxId}/app-password`, { method: 'POST', headers: { cookie: jar, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
  }

  // Kill at several moments: early in the login, while SMTP AUTH is pending, around the save. A login
  // cut off by a kill still counts against the mailbox's budget (checks/budget.ts: it may have reached
  // Google), so at most MAX_VERIFICATIONS - 1 kills leave the seller one more try after the restart.
  const outcomes: string[] = [];
  for (const killAfterMs of [30, 450, 900, 1500]) {
    const child = startServer(dir, env);
    t.after(() => void child.kill('SIGKILL'));
    await waitForPort(port, 30_000);
    const before = stored();
    const pending = post().catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, killAfterMs));
    child.kill('SIGKILL');
    await exited(child);
    const answer = await pending;
    const after = stored();
    assert.equal(after.integrity, 'ok');
    const saved = after.kind === 'app_password';
    if (saved) {
      // Completely saved: the new password, the entered servers, both autoresponders, the audit entry.
      assert.equal(after.secret, APP_PASSWORD);
      assert.equal(after.imapPort, dovecot.port);
      assert.deepEqual(after.states, ['relinked_app_password', 'relinked_app_password']);
      assert.equal(after.relinkedAudit, before.relinkedAudit + (before.kind === 'app_password' ? 0 : 1));
    } else {
      // Untouched: the old password and servers, no autoresponder relinked, nothing audited.
      assert.equal(after.secret, OLD);
      assert.notEqual(after.imapPort, dovecot.port);
      assert.ok(after.states.every((st) => st !== 'relinked_app_password'), JSON.stringify(after.states));
      assert.equal(after.relinkedAudit, 0);
    }
    outcomes.push(`${killAfterMs} ms: ${saved ? 'saved' : 'untouched'} (${answer instanceof Error ? 'no answer' : `HTTP ${answer.status}`})`);
    if (saved) break;
  }
  t.diagnostic(outcomes.join('; '));
  assert.ok(outcomes.some((o) => o.includes('untouched')), 'at least one kill landed before the save');

  // Restarted and left alone, the seller's save goes through (or is already there) and the page says so.
  const child = startServer(dir, env);
  t.after(() => void child.kill('SIGKILL'));
  await waitForPort(port, 30_000);
  if (stored().kind !== 'app_password') {
    const res = await post();
    assert.equal(res.status, 303, 'the seller saves after the restart');
  }
  const done = stored();
  assert.equal(done.secret, APP_PASSWORD);
  assert.deepEqual(done.states, ['relinked_app_password', 'relinked_app_password']);
  assert.equal(done.relinkedAudit, 1, 'saved once');
  child.kill('SIGKILL');
  await exited(child);
  record('server-log', 'app-password-restart child server', readFileSync(path.join(dir, 'server.log'), 'utf8'));
});
