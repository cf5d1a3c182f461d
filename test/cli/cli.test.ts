import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.js';
import { IMPORT_COLUMNS } from '../../src/import/import.js';
import { freePort } from '../helpers/ports.js';

function tempEnv() {
  const dir = mkdtempSync(path.join(tmpdir(), 'cli-'));
  return {
    dir,
    env: { ...process.env, DATABASE_PATH: path.join(dir, 'app.db'), SECRET_KEY_FILE: path.join(dir, 'secret.key'), DEMO: '0', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl', MX_RESOLVER: 'demo', LOG_LEVEL: 'warn' },
  };
}

function cli(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const HEADER = IMPORT_COLUMNS.join(';');
const GOOD = 'S1;jan@gmail.com;Jan Kowalski;jan;AR1;2;jan@gmail.com;imap.gmail.com;993;smtp.gmail.com;465;Haslo-Do-Konta-1';
const GOOD2 = 'S2;biuro@sportowy-swiat.pl;Sportowy Świat;sport;AR2;1;biuro@sportowy-swiat.pl;mail.sportowy-swiat.pl;993;mail.sportowy-swiat.pl;587;';
const BAD = 'S3;ola@gmail.com;Ola;ola;AR3;7;ola@gmail.com;imap.gmail.com;993;smtp.gmail.com;465;';

test('cli import: summary, each rejected row with line and column, exit 2; re-import changes nothing', () => {
  const { dir, env } = tempEnv();
  const file = path.join(dir, 'eksport.csv');
  writeFileSync(file, '\uFEFF' + [HEADER, GOOD, BAD, GOOD2].join('\r\n'));
  const first = cli(env, 'import', file);
  assert.equal(first.code, 2, first.err);
  assert.match(first.out, /zaimportowane \/ imported:\s+2/);
  assert.match(first.out, /odrzucone \/ rejected:\s+1/);
  assert.match(first.out, /wiersz \/ line 3, kolumna \/ column autoresponder_version: wersja musi być 1, 2 albo 3/);
  assert.ok(!first.out.includes('Haslo-Do-Konta-1') && !first.err.includes('Haslo-Do-Konta-1'));
  const again = cli(env, 'import', file);
  assert.match(again.out, /bez zmian \/ unchanged:\s+2/);
  assert.match(again.out, /zaimportowane \/ imported:\s+0/);
  writeFileSync(file, [HEADER, GOOD].join('\n'));
  assert.equal(cli(env, 'import', file).code, 0);
});

test('cli import: a file that is not CSV or misses columns is refused whole with exit 1', () => {
  const { dir, env } = tempEnv();
  const file = path.join(dir, 'zly.csv');
  writeFileSync(file, 'seller_id;seller_email\nS1;a@b.pl\n');
  const r = cli(env, 'import', file);
  assert.equal(r.code, 1);
  assert.match(r.err, /MIG_ERR_IMPORT_FILE: Brakuje wymaganych kolumn/);
  const missing = cli(env, 'import', path.join(dir, 'nie-ma.csv'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /ENOENT/);
});

test('cli rotate-key re-encrypts and replaces the key file', () => {
  const { dir, env } = tempEnv();
  const file = path.join(dir, 'eksport.csv');
  writeFileSync(file, [HEADER, GOOD].join('\n'));
  cli(env, 'import', file);
  const before = readFileSync(env.SECRET_KEY_FILE!, 'utf8');
  const r = cli(env, 'rotate-key');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /zaszyfrowane ponownie \/ re-encrypted: 1/);
  assert.notEqual(readFileSync(env.SECRET_KEY_FILE!, 'utf8'), before);
  assert.ok(!r.out.includes(before.trim()), 'the old key is never printed');
});

test('a wrong configuration value stops the process with one line naming the variable', () => {
  const { env } = tempEnv();
  const r = cli({ ...env, PORT: 'abc' }, 'detect');
  assert.equal(r.code, 1);
  assert.equal(r.err.trim(), 'Invalid configuration: PORT: PORT must be a whole number (got "abc")');
  const server = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: PROJECT_ROOT, env: { ...env, DEMO: 'perhaps' }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(server.status, 1);
  assert.match(server.stderr.trim(), /^Invalid configuration: DEMO: DEMO must be one of/);
  const badKey = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: PROJECT_ROOT, env: { ...env, APP_SECRET_KEY: 'too-short' }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(badKey.status, 1);
  assert.match(badKey.stderr, /MIG_ERR_SECRET_KEY/);
  assert.ok(!badKey.stderr.includes('too-short'), 'the key itself is not echoed');
});

test('the server boots on demo data, answers, and shuts down cleanly on SIGTERM; a second boot changes nothing', async () => {
  const { dir, env } = tempEnv();
  const port = await freePort();
  const boot = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...env, DEMO: '1', PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!out.includes('Server listening') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(out.includes('Server listening'), out);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000))]);
    assert.equal(code, 0, out);
    return out;
  };
  const first = await boot();
  assert.match(first, /demo data loaded/);
  assert.match(first, /shutting down/);
  const second = await boot();
  assert.doesNotMatch(second, /demo data loaded|schema upgraded/);
  assert.ok(dir);
});

test('cli staff:create: a scrypt-hashed account from STAFF_PASSWORD or standard input; bad input is refused', async () => {
  const { env } = tempEnv();
  const password = 'bardzo-tajne-haslo-1';
  const created = cli({ ...env, STAFF_PASSWORD: password }, 'staff:create', '--email', 'Ewa@Example.pl', '--role', 'agent');
  assert.equal(created.code, 0, created.err);
  assert.match(created.out, /Utworzono \/ created: Ewa@Example\.pl \(agent\)/);
  assert.ok(!created.out.includes(password) && !created.err.includes(password));

  const piped = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'staff:create', '--email', 'ewa@example.pl', '--role', 'admin'], { cwd: PROJECT_ROOT, env, input: 'inne-tajne-haslo-2\n', encoding: 'utf8', timeout: 60_000 });
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, /Zaktualizowano \/ updated: ewa@example\.pl \(admin\)/, 'the address is matched without regard to case');

  assert.match(cli({ ...env, STAFF_PASSWORD: password }, 'staff:create', '--email', 'nie-adres', '--role', 'agent').err, /--email: podaj poprawny adres e-mail/);
  assert.match(cli({ ...env, STAFF_PASSWORD: password }, 'staff:create', '--email', 'a@b.pl', '--role', 'boss').err, /--role: jedna z \/ one of viewer, agent, admin/);
  const short = cli({ ...env, STAFF_PASSWORD: 'krotkie' }, 'staff:create', '--email', 'a@b.pl', '--role', 'viewer');
  assert.equal(short.code, 1);
  assert.match(short.err, /Hasło musi mieć od 12 do 200 znaków/);

  const { openDatabase } = await import('../../src/db/database.js');
  const { verifyPassword } = await import('../../src/crypto/password.js');
  const db = openDatabase(env.DATABASE_PATH!);
  try {
    const rows = db.prepare('SELECT email, role, password_hash AS hash FROM staff_users').all() as { email: string; role: string; hash: string }[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.role, 'admin');
    assert.match(rows[0]!.hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.equal(await verifyPassword('inne-tajne-haslo-2', rows[0]!.hash), true);
    assert.equal(await verifyPassword(password, rows[0]!.hash), false);
    assert.deepEqual(db.prepare(`SELECT action FROM audit_log WHERE target_type = 'staff' ORDER BY id`).pluck().all(), ['staff.created', 'staff.updated']);
  } finally {
    db.close();
  }
});
