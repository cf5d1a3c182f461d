import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../../src/config.js';
import { mailEndpoint } from '../../src/mail/mail-route.js';
import { googleSimulatorRoutes } from '../../src/simulator/google/routes.js';

const root = '/srv/app';

test('demo mode: the Google simulator is on by default, on loopback next to the Allegro simulator, certificates beside the database', () => {
  const c = loadConfig({ PORT: '4000', DATABASE_PATH: '/var/lib/migracja/app.db' }, root);
  assert.deepEqual(c.googleSimulator, { host: '127.0.0.1', imapPort: 4002, smtpPort: 4003, submissionPort: 4004, dir: '/var/lib/migracja/google-simulator' });
  assert.equal(loadConfig({ DATABASE_PATH: ':memory:' }, root).googleSimulator?.dir, '/srv/app/data/google-simulator');
  const set = loadConfig({ GOOGLE_SIMULATOR_IMAP_PORT: '5993', GOOGLE_SIMULATOR_SMTP_PORT: '5465', GOOGLE_SIMULATOR_SUBMISSION_PORT: '5587', GOOGLE_SIMULATOR_DIR: 'tmp/g' }, root).googleSimulator;
  assert.deepEqual([set?.imapPort, set?.smtpPort, set?.submissionPort, set?.dir], [5993, 5465, 5587, '/srv/app/tmp/g']);
  assert.equal(loadConfig({ GOOGLE_SIMULATOR: '0' }, root).googleSimulator, null, 'the demo can reach the real Google instead');
});

test('outside demo mode the mapping cannot be switched on: the config refuses it in one line', () => {
  assert.equal(loadConfig({ DEMO: '0', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl' }, root).googleSimulator, null);
  assert.equal(loadConfig({ DEMO: '0', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl', GOOGLE_SIMULATOR: '0' }, root).googleSimulator, null);
  for (const [name, value] of [['GOOGLE_SIMULATOR', '1'], ['GOOGLE_SIMULATOR_IMAP_PORT', '5993'], ['GOOGLE_SIMULATOR_SMTP_PORT', '5465'], ['GOOGLE_SIMULATOR_SUBMISSION_PORT', '5587'], ['GOOGLE_SIMULATOR_DIR', 'x']] as const) {
    assert.throws(
      () => loadConfig({ DEMO: '0', [name]: value }, root),
      (err: unknown) => err instanceof ConfigError && err.variable === name && !err.message.includes('\n') && /works only in demo mode \(DEMO=1\)/.test(err.message),
      name,
    );
  }
  // The real server stops with that one line.
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, DEMO: '0', GOOGLE_SIMULATOR: '1', DATABASE_PATH: ':memory:' }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 1);
  assert.equal(run.stderr.trim(), 'Invalid configuration: GOOGLE_SIMULATOR: the Google simulator works only in demo mode (DEMO=1); Google\'s mail servers cannot be redirected otherwise');
});

test('mailEndpoint: only the routed Google hosts and ports go to the simulator, checked under their own name with its CA alone', () => {
  const routes = googleSimulatorRoutes({ host: '127.0.0.1', imapPort: 4002, smtpPort: 4003, submissionPort: 4004 }, 'CA-PEM');
  assert.deepEqual(mailEndpoint('imap.gmail.com', 993, routes), { host: '127.0.0.1', port: 4002, servername: 'imap.gmail.com', ca: 'CA-PEM' });
  assert.deepEqual(mailEndpoint('IMAP.GMAIL.COM.', 993, routes), { host: '127.0.0.1', port: 4002, servername: 'imap.gmail.com', ca: 'CA-PEM' });
  assert.deepEqual(mailEndpoint('smtp.gmail.com', 465, routes), { host: '127.0.0.1', port: 4003, servername: 'smtp.gmail.com', ca: 'CA-PEM' });
  assert.deepEqual(mailEndpoint('smtp.googlemail.com', 587, routes), { host: '127.0.0.1', port: 4004, servername: 'smtp.googlemail.com', ca: 'CA-PEM' });
  // Anything else is reached as configured.
  assert.deepEqual(mailEndpoint('imap.gmail.com', 143, routes), { host: 'imap.gmail.com', port: 143, servername: 'imap.gmail.com' });
  assert.deepEqual(mailEndpoint('mail.sportowy-swiat.pl', 993, routes), { host: 'mail.sportowy-swiat.pl', port: 993, servername: 'mail.sportowy-swiat.pl' });
  // Production has no routes at all.
  assert.deepEqual(mailEndpoint('imap.gmail.com', 993, undefined), { host: 'imap.gmail.com', port: 993, servername: 'imap.gmail.com' });
  assert.deepEqual(mailEndpoint('127.0.0.1', 993, undefined), { host: '127.0.0.1', port: 993, servername: undefined });
});
