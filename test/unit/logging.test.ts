import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Writable } from 'node:stream';
import { loggerOptions, redactUrl } from '../../src/logger.js';
import { build } from '../helpers/build.js';

const SECRETS = ['abcdefghijklmnop', 'Sekretne-Haslo-1', 'at-0123456789', 'rt-9876543210', 'cs-client-secret', 'sess-cookie-value', 'one-time-token-xyz'];

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _e, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const opts = loggerOptions('info') as pino.LoggerOptions;
  return { log: pino(opts, stream), lines };
}

test('pino redaction blanks secrets at the top level and one level down', () => {
  const { log, lines } = capture();
  log.info({ password: SECRETS[1], appPassword: SECRETS[0], token: SECRETS[6] }, 'top level');
  log.info({ mailbox: { password: SECRETS[1], appPassword: SECRETS[0] }, auth: { accessToken: SECRETS[2], refreshToken: SECRETS[3], client_secret: SECRETS[4] } }, 'nested');
  log.error({ err: { message: 'axios failed', config: { headers: { Authorization: `Bearer ${SECRETS[2]}` }, data: `refresh_token=${SECRETS[3]}` } } }, 'axios error');
  const out = lines.join('');
  for (const s of SECRETS) assert.ok(!out.includes(s), `${s} leaked: ${out}`);
  assert.ok(out.includes('[REDACTED]'));
  assert.equal(lines.length, 3);
});

test('one-time credentials in URLs are redacted, other parameters kept', () => {
  assert.equal(redactUrl('/login/verify?token=abc&lang=pl'), '/login/verify?token=%5BREDACTED%5D&lang=pl');
  assert.equal(redactUrl('/oauth/callback?code=xyz&state=s1'), '/oauth/callback?code=%5BREDACTED%5D&state=%5BREDACTED%5D');
  assert.equal(redactUrl('/accounts?q=jan'), '/accounts?q=jan');
});

test('request logs carry no cookie, no Authorization header and no token from the URL', async (t) => {
  const { app, logs } = await build(t);
  await app.inject({
    url: `/healthz?token=${SECRETS[6]}`,
    headers: { authorization: `Bearer ${SECRETS[2]}`, cookie: `session=${SECRETS[5]}` },
  });
  const out = logs.join('');
  assert.ok(out.includes('/healthz?token=%5BREDACTED%5D'), 'the request is logged, with the token redacted');
  for (const s of SECRETS) assert.ok(!out.includes(s), `${s} leaked`);
});

test('credentials nested in a return address are redacted too (a signed-out OAuth callback becomes /login?next=…)', async (t) => {
  const code = 'oauth-code-5f1d2c3b4a';
  const state = 'oauth-state-9e8d7c6b5a';
  const nested = `/login?next=${encodeURIComponent(`/allegro/callback?code=${code}&state=${state}`)}&lang=pl`;
  const twice = `/login?next=${encodeURIComponent(`/x?next=${encodeURIComponent(`/allegro/callback?code=${code}`)}`)}`;
  const full = `/login?next=${encodeURIComponent(`https://migracja.example.pl/allegro/callback?state=${state}#code=${code}`)}`;
  for (const url of [nested, twice, full]) {
    const out = redactUrl(url);
    assert.ok(!out.includes(code) && !out.includes(state), `${url} → ${out}`);
    assert.ok(out.startsWith('/login?next='), out);
  }
  assert.match(redactUrl(nested), /&lang=pl$/, 'other parameters are kept');
  assert.equal(redactUrl('/x?code=1#autoresponder-5'), '/x?code=%5BREDACTED%5D#autoresponder-5', 'an anchor is kept as it was');
  assert.equal(decodeURIComponent(new URLSearchParams(redactUrl(nested).split('?')[1]).get('next')!), '/allegro/callback?code=[REDACTED]&state=[REDACTED]');

  // Through the app: the callback opened without a session is sent to sign-in, and neither request's log line holds the code.
  const { app, logs } = await build(t);
  const res = await app.inject(`/allegro/callback?code=${code}&state=${state}`);
  assert.equal(res.statusCode, 303);
  await app.inject(String(res.headers.location));
  const out = logs.join('');
  assert.match(out, /"url":"\/login\?next=/, 'the sign-in request is logged');
  assert.ok(!out.includes(code) && !out.includes(state), 'no code or state in the logs');
});
