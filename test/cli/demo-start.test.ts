import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { demoEnv, exited, firstAnswer, startServer, until } from '../helpers/child-server.js';

/** The IMAP greeting of the simulator, over TLS, trusting nothing (the greeting needs no trust). */
const greeting = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {});
    s.once('data', (d) => {
      s.destroy();
      resolve(String(d));
    });
    s.once('error', reject);
  });

test('npm start in demo mode (compiled, as npm start runs it): the Google simulator starts with the app, its certificates made once; it shuts down cleanly with it (its start time is in npm run bench:demo-start)', async (t) => {
  const { dir, port, imap, env } = await demoEnv('demo-start-', { LOG_LEVEL: 'warn' });
  const boot = async () => {
    const started = Date.now();
    const child = startServer(dir, env, { built: true });
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const ms = await firstAnswer(`http://127.0.0.1:${port}/login`, started);
    assert.match(await greeting(imap), /^\* OK Gimap ready for requests \(Symulator Google, demo\)/);
    child.kill('SIGTERM');
    await exited(child);
    assert.equal(child.exitCode, 0, 'shut down cleanly, the simulator with it');
    return ms;
  };
  const cold = await boot();
  const key = path.join(dir, 'google-simulator', 'server-key.pem');
  const made = statSync(key).mtimeMs;
  const warm = Math.min(await boot(), await boot());
  assert.equal(statSync(key).mtimeMs, made, 'a warm start does not make new certificates');
  // Timings are the benchmark's (a target in a test fails on a busy machine, not on slow code).
  t.diagnostic(`first start ${cold} ms, warm start ${warm} ms, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`);
});

test('npm start: the watch is on in the demo, against the simulators only; its first checks find AR-2042 broken (one incident, one logged e-mail); the Allegro simulator keeps its tokens across a restart', async (t) => {
  const { dir, port, allegro, env } = await demoEnv('demo-watch-', {
    WATCH_SEND_HOURS: '0-24', // the e-mail goes at once, whatever the hour of the test
    LOG_LEVEL: 'info',
  });
  const log = () => readFileSync(path.join(dir, 'server.log'), 'utf8');
  const boot = async () => {
    const child = startServer(dir, env);
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await firstAnswer(`http://127.0.0.1:${port}/login`, Date.now());
    return child;
  };
  const stop = async (child: ChildProcess) => {
    child.kill('SIGTERM');
    await exited(child);
    assert.equal(child.exitCode, 0);
  };
  const first = await boot();
  assert.match(log(), /The watch checks the demo's migrated autoresponders against the Google and Allegro simulators only \(WATCH_ENABLED=0 turns it off\); 5 get their first check now\./);
  const db = new Database(env.DATABASE_PATH, { readonly: true, fileMustExist: true });
  t.after(() => db.close());
  const q = (sql: string) => db.prepare(sql).all() as Record<string, unknown>[];
  // Bounded: the five first checks run within seconds against the loopback simulators.
  await until(() => q(`SELECT 1 FROM watches WHERE checked_at IS NULL`).length === 0 && q(`SELECT 1 FROM watch_notices WHERE status = 'sent'`).length >= 2, 30_000, 'the first checks and their e-mails');
  const byAr = (sql: string) => Object.fromEntries(q(sql).map((r) => [r.ar, r.v]));
  assert.deepEqual(
    byAr(`SELECT a.external_id AS ar, m.state || COALESCE('/' || m.reason_code, '') AS v FROM watches w JOIN autoresponders a ON a.id = w.autoresponder_id JOIN migrations m ON m.autoresponder_id = a.id`),
    {
      'AR-2039': 'switched_v3', // a real authorization at the Allegro simulator
      'AR-2040': 'relinked_app_password',
      'AR-2041': 'needs_attention/authorize_again', // revoked there, as the demo data says
      'AR-2042': 'needs_attention/app_password_rejected', // found by the watch
      'AR-2044': 'switched_v3',
    },
  );
  assert.deepEqual(q(`SELECT a.external_id AS ar, i.reason, i.code, n.status FROM watch_incidents i JOIN autoresponders a ON a.id = i.autoresponder_id JOIN watch_notices n ON n.incident_id = i.id WHERE a.external_id = 'AR-2042'`), [
    { ar: 'AR-2042', reason: 'app_password_rejected', code: 'MAIL_AUTH_FAILED', status: 'sent' },
  ]);
  assert.equal(log().split('\n').filter((l) => l.includes('demo mode: e-mail not sent') && l.includes('amber.gifts.gdansk@gmail.com')).length, 1, 'one e-mail, logged');
  await stop(first);

  // After a restart the simulator still knows the tokens it issued (the app holds them, encrypted).
  const tokens = JSON.parse(readFileSync(path.join(dir, 'allegro-simulator', 'tokens.json'), 'utf8')) as { access: Record<string, unknown> };
  assert.ok(Object.keys(tokens.access).length >= 2, 'the v3 ones\' access tokens are kept');
  const second = await boot();
  assert.doesNotMatch(log().split('Server listening').slice(-1)[0]!, /get their first check now/, 'a restart keeps the slots');
  for (const token of Object.keys(tokens.access)) {
    const me = await fetch(`http://127.0.0.1:${allegro}/me`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.allegro.public.v1+json' } });
    assert.equal(me.status, 200, 'the restarted simulator accepts what it issued before');
  }
  await stop(second);
});
