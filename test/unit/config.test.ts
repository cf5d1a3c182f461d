import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, readEnvironment } from '../../src/config.js';

const root = '/srv/app';

test('defaults: loopback, port 3000, demo on, embedded database under data/', () => {
  const c = loadConfig({}, root);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 3000);
  assert.equal(c.publicUrl, 'http://127.0.0.1:3000');
  assert.equal(c.databasePath, '/srv/app/data/app.db');
  assert.equal(c.demo, true);
  assert.equal(c.mxResolver, 'demo');
  assert.equal(c.secretKeyFile, '/srv/app/data/secret.key');
});

test('values are parsed and derived: PUBLIC_URL trailing slash, :memory:, DEMO=0 picks real DNS', () => {
  const c = loadConfig({ PORT: '8080', HOST: '0.0.0.0', PUBLIC_URL: 'https://migracja.example.pl/', DATABASE_PATH: ':memory:', DEMO: 'no', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl', APP_SECRET_KEY: 'a, b' }, root);
  assert.equal(c.port, 8080);
  assert.equal(c.publicUrl, 'https://migracja.example.pl');
  assert.equal(c.databasePath, ':memory:');
  assert.equal(c.demo, false);
  assert.equal(c.mxResolver, 'dns');
  assert.deepEqual(c.secretKeys, ['a', 'b']);
});

test('empty values mean "not set"', () => {
  assert.equal(loadConfig({ PORT: '', DEMO: '  ' }, root).port, 3000);
});

test('a bad value stops with one line naming the variable', () => {
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ PORT: 'abc' }, 'PORT', /PORT must be a whole number \(got "abc"\)/],
    [{ PORT: '70000' }, 'PORT', /between 1 and 65535/],
    [{ DEMO: 'maybe' }, 'DEMO', /DEMO must be one of/],
    [{ PUBLIC_URL: 'ftp://x' }, 'PUBLIC_URL', /PUBLIC_URL must be an http\(s\) URL/],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /LOG_LEVEL must be one of/],
    [{ MX_RESOLVER: 'magic' }, 'MX_RESOLVER', /MX_RESOLVER/],
    [{ MX_CACHE_TTL_HOURS: '-1' }, 'MX_CACHE_TTL_HOURS', /positive number/],
  ];
  for (const [env, variable, re] of cases) {
    assert.throws(
      () => loadConfig(env, root),
      (err: unknown) => err instanceof ConfigError && err.variable === variable && re.test(err.message) && !err.message.includes('\n'),
      variable,
    );
  }
});

test('a bad APP_SECRET_KEY is named but its value is never echoed', () => {
  // Key validation happens when keys are loaded; config only refuses an empty one. Either way no echo.
  assert.throws(
    () => loadConfig({ APP_SECRET_KEY: ' ', PORT: 'x' }, root),
    (err: unknown) => err instanceof ConfigError && !/APP_SECRET_KEY.*got/.test(err.message),
  );
});

test('.env is read, the environment wins', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'env-'));
  writeFileSync(path.join(dir, '.env'), 'PORT=4000\nHOST=0.0.0.0\n# comment\n');
  const env = readEnvironment(dir, { PORT: '5000' });
  assert.equal(env.PORT, '5000');
  assert.equal(env.HOST, '0.0.0.0');
});

test('Polish plurals have three forms in the catalog (1 wiadomość, 2 wiadomości, 5 wiadomości)', async () => {
  const { createI18n } = await import('../../src/i18n/index.js');
  const t = (await createI18n()).t('pl');
  assert.equal(t('wizard.s4.count', { count: 1 }), 'W skrzynce odbiorczej jest 1 wiadomość.');
  assert.equal(t('wizard.s4.count', { count: 3 }), 'W skrzynce odbiorczej są 3 wiadomości.');
  assert.equal(t('wizard.s4.count', { count: 25 }), 'W skrzynce odbiorczej jest 25 wiadomości.');
  assert.equal(t('count.accounts', { count: 22 }), '22 konta');
  assert.equal(t('count.accounts', { count: 12 }), '12 kont');
});

test('Allegro: the demo runs the simulator next to the app; explicit URLs win over ALLEGRO_ENV', () => {
  const demo = loadConfig({ PORT: '4000' }, root).allegro;
  assert.equal(demo.env, 'simulator');
  assert.equal(demo.simulatorPort, 4001);
  assert.equal(demo.authUrl, 'http://127.0.0.1:4001');
  assert.equal(demo.clientId, 'demo-client');
  assert.equal(demo.redirectUri, 'http://127.0.0.1:4000/allegro/callback');
  assert.match(demo.userAgent, /^MigracjaAutorespondera\/\d+\.\d+\.\d+ \(\+http:\/\/127\.0\.0\.1:4000\)$/);

  const prod = loadConfig({ DEMO: '0', OPERATOR_NAME: 'Sklep Testowy', SUPPORT_EMAIL: 'pomoc@example.pl', PUBLIC_URL: 'https://migracja.example.pl' }, root).allegro;
  assert.deepEqual([prod.env, prod.authUrl, prod.apiUrl, prod.clientId, prod.simulatorPort], ['production', 'https://allegro.pl', 'https://api.allegro.pl', undefined, null]);
  assert.equal(prod.redirectUri, 'https://migracja.example.pl/allegro/callback');

  const sandbox = loadConfig({ ALLEGRO_ENV: 'sandbox', ALLEGRO_CLIENT_ID: 'id', ALLEGRO_CLIENT_SECRET: 's' }, root).allegro;
  assert.equal(sandbox.apiUrl, 'https://api.allegro.pl.allegrosandbox.pl');
  assert.equal(sandbox.simulatorPort, null);

  const explicit = loadConfig({ ALLEGRO_ENV: 'production', ALLEGRO_AUTH_URL: 'http://127.0.0.1:9/', ALLEGRO_API_URL: 'http://127.0.0.1:9' }, root).allegro;
  assert.deepEqual([explicit.authUrl, explicit.apiUrl], ['http://127.0.0.1:9', 'http://127.0.0.1:9']);

  assert.throws(() => loadConfig({ ALLEGRO_AUTH_URL: 'http://127.0.0.1:9' }, root), /ALLEGRO_API_URL: set both ALLEGRO_AUTH_URL and ALLEGRO_API_URL/);
  assert.throws(() => loadConfig({ ALLEGRO_ENV: 'staging' }, root), /ALLEGRO_ENV must be production, sandbox or simulator/);
  assert.throws(() => loadConfig({ ALLEGRO_CLIENT_SECRET: 'bad secret with spaces' }, root), (e: Error) => /ALLEGRO_CLIENT_SECRET/.test(e.message) && !e.message.includes('bad secret'));
});

test('ALLEGRO_AUTH_URL with a path is refused at boot: the authorize and token addresses must come from one base', () => {
  for (const authUrl of ['http://127.0.0.1:9/auth/oauth', 'https://allegro.pl/oauth/']) {
    assert.throws(
      () => loadConfig({ ALLEGRO_AUTH_URL: authUrl, ALLEGRO_API_URL: 'http://127.0.0.1:9' }, root),
      (err: unknown) => err instanceof ConfigError && err.variable === 'ALLEGRO_AUTH_URL' && /without a path/.test(err.message) && !err.message.includes('\n'),
      authUrl,
    );
  }
  // A bare host (with or without the trailing slash) is what Allegro's documentation gives.
  assert.equal(loadConfig({ ALLEGRO_AUTH_URL: 'https://allegro.pl/', ALLEGRO_API_URL: 'https://api.allegro.pl' }, root).allegro.authUrl, 'https://allegro.pl');
});

test('MAIL_ADDRESS_ALLOWLIST: addresses and CIDR ranges, none by default', () => {
  assert.deepEqual(loadConfig({}, root).mailAddressAllowlist, []);
  assert.deepEqual(loadConfig({ MAIL_ADDRESS_ALLOWLIST: '127.0.0.1, 10.20.0.0/16,::1,fd00::/8' }, root).mailAddressAllowlist, ['127.0.0.1', '10.20.0.0/16', '::1', 'fd00::/8']);
  for (const bad of ['localhost', '10.0.0.0/33', '10.0.0/8', '127.0.0.1/8/2', '::1/129']) {
    assert.throws(
      () => loadConfig({ MAIL_ADDRESS_ALLOWLIST: bad }, root),
      (err: unknown) => err instanceof ConfigError && err.variable === 'MAIL_ADDRESS_ALLOWLIST' && !err.message.includes('\n'),
      bad,
    );
  }
});
