import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dbFingerprint, routeKeys, securityFixture, type Principal } from '../helpers/security.js';
import { normalizeAppPassword } from '../../src/routes/seller.js';
import { allegroEnv, startSimulator } from '../helpers/allegro.js';

/**
 * The fields of every form, by route. A POST route missing here fails the test, so a new form is
 * fuzzed as soon as it exists. Routes without fields still get hostile bodies and stray fields.
 */
const FORMS: Record<string, { as: Principal; fields: string[] }> = {
  'POST /login': { as: 'anonymous', fields: ['email', 'next'] },
  'POST /login/verify': { as: 'anonymous', fields: ['token'] },
  'POST /logout': { as: 'seller', fields: [] },
  'POST /mailboxes/:id/app-password/start': { as: 'seller', fields: [] },
  'POST /mailboxes/:id/app-password': { as: 'seller', fields: ['app_password', 'imap_host', 'imap_port', 'smtp_host', 'smtp_port'] },
  'POST /mailboxes/:id/app-password/fetch': { as: 'seller', fields: [] },
  'POST /autoresponders/:id/v3/start': { as: 'seller', fields: [] },
  'POST /autoresponders/:id/v3/templates': { as: 'seller', fields: ['text_1', 'text_2', 'text_999999'] },
  'POST /autoresponders/:id/v3/authorize': { as: 'seller', fields: ['discard'] },
  'POST /autoresponders/:id/v3/account': { as: 'seller', fields: ['authorization'] },
  'POST /autoresponders/:id/v3/switch': { as: 'seller', fields: ['delete_secret'] },
  'POST /autoresponders/:id/v3/switch-back': { as: 'seller', fields: ['confirm'] },
  'POST /autoresponders/:id/v3/forget-password': { as: 'seller', fields: ['confirm'] },
  'POST /staff/login': { as: 'anonymous', fields: ['email', 'password', 'next'] },
  'POST /staff/logout': { as: 'admin', fields: [] },
  'POST /staff/accounts/:id/recheck': { as: 'admin', fields: [] },
  'POST /staff/accounts/:id/remind': { as: 'admin', fields: [] },
  'POST /staff/accounts/:id/note': { as: 'admin', fields: ['note'] },
  'POST /staff/accounts/:id/review': { as: 'admin', fields: ['note'] },
  'POST /staff/accounts/:id/reopen': { as: 'admin', fields: [] },
  'POST /staff/jobs/confirm': { as: 'admin', fields: ['action', 'scope', 'ids', 'note', 'confirmedCount', 'state', 'version', 'provider', 'code', 'q', 'inactive', 'sort', 'dir', 'size'] },
  'POST /staff/jobs': { as: 'admin', fields: ['action', 'scope', 'ids', 'note', 'confirmedCount', 'state', 'q', 'inactive', 'size'] },
  'POST /staff/jobs/:id/cancel': { as: 'admin', fields: [] },
  'POST /staff/users': { as: 'admin', fields: ['email', 'role', 'password'] },
  'POST /staff/users/:id': { as: 'admin', fields: ['role', 'disabled'] },
};

/** Deterministic pseudo-random numbers: a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const HOSTILE = [
  '', ' ', '\t', 'a'.repeat(5000), 'ł'.repeat(3000), 'x'.repeat(70_000),
  '\u0000', 'abc\u0000def', '\r\n', 'x\r\nSet-Cookie: sid=evil', '\u202e\u200b\ufeff', '😀'.repeat(50), '\ud800', '\udfff\ud800',
  '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>", '{{constructor.constructor("alert(1)")()}}', '${7*7}', '<!--',
  "'; DROP TABLE sellers; --", "' OR '1'='1", '1; SELECT * FROM staff_users', '" OR ""="', '%', '_', '\\', "'", '"', 'MATCH', 'NEAR(a b)', '"a" OR "b"',
  '../../../../etc/passwd', '..\\..\\windows', '%2e%2e%2f', '%00', '%ff%fe',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty',
  'NaN', 'Infinity', '-1', '0', '-0', '1e309', '99999999999999999999', '0x10', '1.5', '2147483648', '007', 'true', 'null', 'undefined', '[]', '{}',
  'javascript:alert(1)', '//evil.example', 'https://evil.example/', '/\\evil.example', '/%2F%2Fevil.example', '\t//evil.example',
  'admin', 'viewer', 'agent', 'owner', 'remind', 'review', 'recheck', 'all', 'selected', 'affected', 'gmail',
  'jan@gmail.com', 'a@b', '@', 'a@b.c'.padStart(300, 'a'), 'imap.gmail.com', 'IMAP.GMAIL.COM.', '993', '65536', '25',
  'abcd efgh ijkl mnop', 'ABCD-EFGH-IJKL-MNOP', 'ąćęł ńóśź żąćę łńóś',
];
const ALPHABET = ['a', 'Z', '0', ' ', '<', '>', '"', "'", '&', ';', '%', '\\', '/', '\u0000', '\u0007', '\r', '\n', '\u2028', 'ł', 'Ż', '😀', '\ufffd', '=', '?', '#', '*', '-', '+', '@'];

function generated(count: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const len = Math.floor(r() ** 3 * 400);
    let s = '';
    for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
    return s;
  });
}

/** Raw bodies that are not well-formed forms: invalid UTF-8, arrays, odd keys, other content types. */
function rawBodies(fields: string[], csrf: string): { payload: string | Buffer; type: string }[] {
  const f = fields[0] ?? 'x';
  const t = `_csrf=${encodeURIComponent(csrf)}`;
  const form = 'application/x-www-form-urlencoded';
  return [
    { payload: `${t}&${f}=%C3%28%FF%FE%80`, type: form },
    { payload: `${t}&${f}=%`, type: form },
    { payload: `${t}&${f}=a&${f}=b&${f}=c`, type: form },
    { payload: `${t}&${f}[]=a&${f}[x]=b`, type: form },
    { payload: `${t}&__proto__[admin]=1&constructor[prototype][x]=1`, type: form },
    { payload: `${t}&${'k'.repeat(10_000)}=v`, type: form },
    { payload: `${t}&` + Array.from({ length: 2000 }, (_, i) => `f${i}=${i}`).join('&'), type: form },
    { payload: Buffer.concat([Buffer.from(`${t}&${f}=`), Buffer.from([0xc3, 0x28, 0xff, 0x00, 0xe2, 0x82])]), type: form },
    { payload: `${t}&${f}=` + 'A'.repeat(200_000), type: form },
    { payload: JSON.stringify({ _csrf: csrf, [f]: { $gt: '' } }), type: 'application/json' },
    { payload: `--b\r\nContent-Disposition: form-data; name="${f}"\r\n\r\nx\r\n--b--`, type: 'multipart/form-data; boundary=b' },
    { payload: `<x>${f}</x>`, type: 'text/xml' },
    { payload: `${t}&${f}=x`, type: 'application/x-www-form-urlencoded; charset=iso-8859-2' },
    { payload: '', type: form },
  ];
}

// Tables that record refused attempts by design; everything else must be untouched by a refused request.
const ATTEMPT_TABLES = ['audit_log', 'staff_sign_in_failures'];

test('every form, fed thousands of hostile values: never a 500; a refusal says why and changes nothing; accepted text is shown escaped', async (t) => {
  const sim = await startSimulator(t);
  const { app, routes, url, client } = await securityFixture(t, allegroEnv(sim.url));
  await app.jobs.stop(); // queued bulk jobs stay queued: the database changes only by the requests themselves
  const posts = routeKeys(routes).filter((r) => r.startsWith('POST '));
  assert.deepEqual(posts.sort(), Object.keys(FORMS).sort(), 'a POST route is missing from (or extra in) FORMS');
  const values = [...HOSTILE, ...generated(100, 7)];
  let requests = 0;
  let refused = 0;
  const statuses = new Map<number, number>();
  for (const [route, form] of Object.entries(FORMS)) {
    const agent = await client(form.as);
    const path = url(route.slice(5));
    let n = 0;
    const send = async (payload: string | Buffer, type: string, what: string, verifies = false) => {
      // Each request from its own address, so per-IP limits do not hide what comes after them.
      const before = dbFingerprint(app.services.db, ATTEMPT_TABLES);
      const res = await app.inject({ method: 'POST', url: path, payload, headers: { 'content-type': type }, cookies: Object.fromEntries(agent.cookies), remoteAddress: `10.9.${(n >> 8) & 255}.${n++ & 255}` });
      requests++;
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const cell = `${route} ${what}: ${res.statusCode}`;
      assert.ok(res.statusCode < 500, `${cell}\n${res.body.slice(0, 300)}`);
      if (res.statusCode >= 400) {
        refused++;
        // A well-formed app password is tried on the real server; that attempt is recorded as a check.
        if (!verifies) assert.deepEqual(dbFingerprint(app.services.db, ATTEMPT_TABLES), before, `${cell}: refused, yet the database changed`);
        // A person gets a page in their language that says what happened (an error page or the form with its errors).
        assert.match(String(res.headers['content-type']), /text\/html/, cell);
        assert.match(res.body, /<html lang="(pl|en)"/, cell);
        assert.match(res.body, /class="error|role="alert"|aria-invalid="true"|Kod błędu|<h1/, `${cell}: says why`);
      }
      for (const v of ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', '<svg onload=alert(1)>']) assert.ok(!res.body.includes(v), `${cell}: markup rendered unescaped`);
      return res;
    };
    const fields = form.fields.length ? form.fields : ['stray'];
    for (const field of fields) {
      for (const v of values) {
        const body = new URLSearchParams({ _csrf: agent.lastCsrf, [field]: v }).toString();
        await send(body, 'application/x-www-form-urlencoded', `${field}=${JSON.stringify(v.slice(0, 40))}`, field === 'app_password' && normalizeAppPassword(v) !== null);
      }
    }
    // Whole forms of random hostile values.
    const r = rng(route.length);
    for (let i = 0; i < 30; i++) {
      const body = new URLSearchParams({ _csrf: agent.lastCsrf, ...Object.fromEntries(fields.map((f) => [f, values[Math.floor(r() * values.length)]!])) }).toString();
      await send(body, 'application/x-www-form-urlencoded', `random form #${i}`, route.endsWith('/app-password'));
    }
    for (const [i, raw] of rawBodies(fields, agent.lastCsrf).entries()) await send(raw.payload, raw.type, `raw body #${i} (${raw.type})`);
  }
  // Whatever was accepted (notes, templates, names) is shown escaped on the pages that show it.
  const admin = await client('admin');
  const seller = await client('seller');
  for (const page of [await admin.get(url('/staff/accounts/:id')), await admin.get('/staff/users'), await admin.get('/staff/jobs'), await seller.get(url('/autoresponders/:id/v3')), await seller.get('/migration')]) {
    assert.ok(page.statusCode < 500);
    assert.ok(!/<script>alert|<img src=x onerror|<svg onload/.test(page.body), 'stored markup rendered unescaped');
  }
  t.diagnostic(`${requests} hostile requests, ${refused} refused; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  assert.ok(requests > 3000, `sent ${requests}`);
});
