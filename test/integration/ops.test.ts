import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from '../helpers/build.js';
import { startDovecot, type Dovecot } from '../helpers/dovecot.js';
import { startSmtp, type TestSmtp } from '../helpers/smtp.js';
import { testCert } from '../helpers/tls.js';
import { seedAccounts, staffAgent } from '../helpers/staff.js';
import { memoryDb } from '../helpers/core.js';

const GOOD = 'abcdefghijklmnop';
const USER = 'ewa.sklep@gmail.com';
let dovecot: Dovecot;
let mailSmtp: TestSmtp;
let relay: TestSmtp;

before(async () => {
  dovecot = await startDovecot([{ user: USER, password: GOOD }]);
  mailSmtp = await startSmtp({ security: 'tls', users: { [USER]: GOOD } });
  relay = await startSmtp({ security: 'plain' });
});
after(async () => {
  await dovecot?.stop();
  await mailSmtp?.stop();
  await relay?.stop();
});

/** The samples of one metric: labels and value, from Prometheus' text format. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}
const valueOf = (text: string, name: string, want: Record<string, string>) =>
  samples(text, name)
    .filter((s) => Object.entries(want).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);

test('/metrics after a check, a reminder and a watch incident: each counted, and no address, id or host in any label', async (t) => {
  const { app } = await build(t, {
    env: {
      WATCH_ENABLED: '1',
      MAIL_TLS_CA_FILE: testCert().certFile,
      MAIL_ADDRESS_ALLOWLIST: '127.0.0.1',
      MAIL_PORT_ALLOWLIST: `${dovecot.port},${mailSmtp.port}`,
      MAIL_CHECK_TIMEOUT_MS: '3000',
      SMTP_URL: `smtp://127.0.0.1:${relay.port}`,
      WATCH_SEND_HOURS: '0-24',
    },
  });
  const { repos, secrets, migrationService } = app.services;
  // A relinked mailbox whose stored app password the server no longer takes: the watch's check fails,
  // an incident opens and the seller gets one e-mail.
  const sellerId = repos.sellers.insert({ externalId: 'S-ewa', email: 'ewa@example.pl', name: 'Sklep Ewy', allegroLogin: null });
  const mailboxId = repos.mailboxes.insert({ sellerId, email: USER, imapHost: '127.0.0.1', imapPort: dovecot.port, imapSecurity: 'tls', smtpHost: '127.0.0.1', smtpPort: mailSmtp.port, smtpSecurity: 'tls', username: USER });
  repos.mailboxes.setEncryptedSecret(mailboxId, { ciphertext: secrets.encrypt('stare-haslo-aplikacji', 'mailbox-secret'), kind: 'app_password', verifiedAt: new Date().toISOString() });
  const autoresponderId = repos.autoresponders.insert({ sellerId, externalId: 'AR-ewa', version: 2, mailboxId });
  const m = migrationService.create(autoresponderId, { state: 'affected', rule: 'gmail_address', detail: null } as never, { type: 'system', id: 'test' });
  migrationService.transition(m.id, 'relinked', 'relinked_app_password', { actor: { type: 'seller', id: sellerId } });
  await app.watch.firstChecksNow();
  await app.watch.runDue();
  assert.equal(repos.migrations.findByAutoresponder(autoresponderId)!.state, 'needs_attention');
  assert.equal(relay.received.filter((r) => r.to.includes('ewa@example.pl')).length, 1, 'the watch e-mail went out');

  // A reminder to another seller, sent by an agent from the account page.
  const [other] = seedAccounts(app.services, [{ name: 'Jan', email: 'jan.kowalski@example.pl', mailbox: 'jan.kowalski@gmail.com' }]);
  const agent = await staffAgent(app, 'agent');
  await agent.get(`/staff/accounts/${other!.autoresponderId}`);
  const remind = await agent.post(`/staff/accounts/${other!.autoresponderId}/remind`);
  assert.equal(remind.statusCode, 303, remind.body.slice(0, 300));
  assert.equal(relay.received.filter((r) => r.to.includes('jan.kowalski@example.pl')).length, 1, 'the reminder went out');

  const res = await app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  assert.equal(valueOf(text, 'migration_checks_total', { kind: 'mail', trigger: 'watch', outcome: 'failed', code: 'MAIL_AUTH_FAILED' }), 1, 'the watch check, by its code');
  assert.equal(valueOf(text, 'migration_emails_total', { kind: 'watch', outcome: 'sent' }), 1);
  assert.equal(valueOf(text, 'migration_emails_total', { kind: 'reminder', outcome: 'sent' }), 1);
  assert.equal(valueOf(text, 'migration_watch_incidents', { state: 'open', reason: 'app_password_rejected' }), 1);
  assert.ok(valueOf(text, 'migration_http_request_duration_seconds_count', { method: 'POST', route: '/staff/accounts/:id/remind', status: '3xx' }) >= 1, 'the request, by its route pattern');
  assert.ok(valueOf(text, 'migration_job_runner_passes_total', { outcome: 'ok' }) >= 1);

  // No label value names a seller: no address, no number, no host, no path with an id.
  // (The app's own metrics; a histogram's bucket bound `le` is a number of seconds.)
  const ours = text.split('\n').filter((l) => l.startsWith('migration_'));
  assert.ok(ours.length > 20);
  const values = ours.flatMap((l) => [...l.matchAll(/([a-z_]+)="([^"]*)"/g)].filter((v) => v[1] !== 'le').map((v) => v[2]!));
  const leaks = values.filter((v) => v.includes('@') || /^\d+$/.test(v) || v.includes('127.0.0.1') || /\/\d/.test(v) || v.includes('gmail') || v.includes('example'));
  assert.deepEqual(leaks, []);
});

test('/metrics is not public: a bearer token when METRICS_TOKEN is set, otherwise this machine only and never through a proxy', async (t) => {
  const { app } = await build(t);
  assert.equal((await app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 200);
  assert.equal((await app.inject({ url: '/metrics', remoteAddress: '203.0.113.7' })).statusCode, 403);
  assert.equal((await app.inject({ url: '/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.7' } })).statusCode, 403, 'a local reverse proxy does not open it');

  const { app: withToken } = await build(t);
  withToken.ops.settings.metricsToken = 'a-long-enough-metrics-token';
  assert.equal((await withToken.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 401, 'with a token set, loopback is not enough');
  assert.equal((await withToken.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong-token-of-some-length' } })).statusCode, 401);
  const ok = await withToken.inject({ url: '/metrics', remoteAddress: '203.0.113.7', headers: { authorization: 'Bearer a-long-enough-metrics-token' } });
  assert.equal(ok.statusCode, 200);
  assert.match(ok.body, /# TYPE migration_checks_total counter/);
});

test('/readyz: ready with a writable database, the current schema, the key and a runner that passes; 503 with the reason on a read-only database, while /healthz stays ok', async (t) => {
  const db = memoryDb();
  const { app } = await build(t, { db });
  const ready = await app.inject('/readyz');
  assert.equal(ready.statusCode, 200, ready.body);
  assert.deepEqual(ready.json(), { status: 'ready', database: 'ok', schema: 'ok', key: 'ok', runner: 'ok' });

  // The database stops taking writes (a full or read-only disk, a file made read-only).
  db.pragma('query_only = ON');
  const readOnly = await app.inject('/readyz');
  assert.equal(readOnly.statusCode, 503);
  assert.equal(readOnly.json().status, 'not ready');
  assert.match(readOnly.json().reason, /^database: attempt to write a readonly database$/);
  assert.equal((await app.inject('/healthz')).statusCode, 200, 'liveness stays a cheap read');
  db.pragma('query_only = OFF');
  assert.equal((await app.inject('/readyz')).statusCode, 200, 'and nothing was left behind by the probe');
  assert.equal(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'readyz_probe'`).pluck().get(), 0);

  // A schema older than the code (a migration not applied) is not ready either.
  const version = db.pragma('user_version', { simple: true }) as number;
  db.pragma(`user_version = ${version - 1}`);
  const old = await app.inject('/readyz');
  assert.equal(old.statusCode, 503);
  assert.match(old.json().reason, new RegExp(`^schema: version ${version - 1}, this code needs ${version}$`));
  db.pragma(`user_version = ${version}`);
});
