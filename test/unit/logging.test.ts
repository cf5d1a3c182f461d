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
