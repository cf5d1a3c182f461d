import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  autoresponderVerdict,
  detectMailbox,
  isGoogleMxHost,
  normalizeHost,
  verdictFromMx,
  type MxLookup,
} from '../../src/detection/rules.js';
import { createMxLookup } from '../../src/detection/mx-lookup.js';
import { memoryDb, tableResolver } from '../helpers/core.js';
import { createMxCacheRepository } from '../../src/repositories/mx-cache.js';

const noDns: MxLookup = async () => {
  throw new Error('DNS must not be consulted for this mailbox');
};
const mx = (hosts: string[]): MxLookup => async () => ({ status: 'ok', hosts });
const box = (email: string, imapHost = 'mail.example.pl', smtpHost = 'mail.example.pl') => ({ email, imapHost, smtpHost });

test('gmail.com and googlemail.com addresses are Google without DNS, in any case', async () => {
  for (const email of ['sklep@gmail.com', 'Sklep@GMAIL.COM', 'a.b@googlemail.com', 'x@Gmail.Com.']) {
    const v = await detectMailbox(box(email), noDns);
    assert.equal(v.google, true, email);
    assert.equal(v.rule, 'gmail_address');
    assert.equal(v.provider, 'gmail');
  }
});

test('a Google IMAP host on a company domain is Workspace (rule google_imap_host)', async () => {
  const v = await detectMailbox(box('biuro@sklep.pl', 'IMAP.Gmail.COM.', 'mail.sklep.pl'), noDns);
  assert.deepEqual(v, { google: true, provider: 'workspace', rule: 'google_imap_host', detail: 'imap.gmail.com' });
});

test('a Google SMTP host alone is enough (rule google_smtp_host)', async () => {
  const v = await detectMailbox(box('biuro@sklep.pl', 'poczta.sklep.pl', 'smtp.gmail.com'), noDns);
  assert.equal(v.rule, 'google_smtp_host');
  assert.equal(v.google, true);
});

test('MX at Google makes a Workspace mailbox: aspmx, alt hosts, smtp.google.com, googlemail.com', async () => {
  for (const host of ['aspmx.l.google.com', 'ALT3.ASPMX.L.GOOGLE.COM.', 'smtp.google.com', 'aspmx2.googlemail.com']) {
    const v = await detectMailbox(box('biuro@firma.pl'), mx(['mx.other.pl', host]));
    assert.equal(v.google, true, host);
    assert.equal(v.rule, 'workspace_mx');
    assert.equal(v.detail, normalizeHost(host));
  }
});

test('look-alike hosts are not Google', () => {
  for (const host of ['google.com.evil.pl', 'evilgoogle.com', 'googlemail.com.pl', 'notgoogle.com']) {
    assert.equal(isGoogleMxHost(host), false, host);
  }
  assert.equal(verdictFromMx({ status: 'ok', hosts: ['mx.evilgoogle.com'] }).google, false);
});

test('non-Google MX and a domain without MX are not affected, with the reason kept', async () => {
  const v = await detectMailbox(box('sklep@onet.pl', 'imap.poczta.onet.pl', 'smtp.poczta.onet.pl'), mx(['mx.poczta.onet.pl']));
  assert.deepEqual(v, { google: false, provider: 'other', rule: 'not_google', detail: 'mx.poczta.onet.pl' });
  const none = verdictFromMx({ status: 'no_mx' });
  assert.equal(none.google, false);
  assert.equal(none.rule, 'not_google');
});

test('a failed MX lookup is unknown, never not affected', async () => {
  const v = await detectMailbox(box('biuro@firma.pl'), async () => ({ status: 'failed', code: 'ETIMEOUT' }));
  assert.deepEqual(v, { google: null, provider: 'unknown', rule: 'mx_lookup_failed', detail: 'ETIMEOUT' });
  const a = autoresponderVerdict({ version: 2, mailbox: { verdict: v, secretKind: 'account_password', secretVerifiedAt: null } });
  assert.equal(a.state, 'unknown');
});

test('autoresponder verdicts: v3, verified app password, unverified app password, account password', () => {
  const google = { google: true, provider: 'gmail' as const, rule: 'gmail_address' as const, detail: 'gmail.com' };
  assert.equal(autoresponderVerdict({ version: 3 }).rule, 'version_3');
  assert.equal(autoresponderVerdict({ version: 3 }).state, 'not_affected');
  const verified = autoresponderVerdict({ version: 1, mailbox: { verdict: google, secretKind: 'app_password', secretVerifiedAt: '2026-11-01T10:00:00Z' } });
  assert.deepEqual([verified.state, verified.rule], ['not_affected', 'app_password_verified']);
  const unverified = autoresponderVerdict({ version: 1, mailbox: { verdict: google, secretKind: 'app_password', secretVerifiedAt: null } });
  assert.equal(unverified.state, 'affected');
  const account = autoresponderVerdict({ version: 2, mailbox: { verdict: google, secretKind: 'account_password', secretVerifiedAt: null } });
  assert.deepEqual([account.state, account.rule], ['affected', 'gmail_address']);
  const none = autoresponderVerdict({ version: 2, mailbox: { verdict: google, secretKind: null, secretVerifiedAt: null } });
  assert.equal(none.state, 'affected');
});

test('MX lookup: cached answers are reused until the TTL, failures are not cached, ENOTFOUND is a failure', async () => {
  const db = memoryDb();
  const cache = createMxCacheRepository(db);
  const resolver = tableResolver({ 'firma.pl': ['ASPMX.L.GOOGLE.COM.'], 'pusta.pl': 'ENODATA', 'zepsuta.pl': 'ETIMEOUT' });
  let clock = Date.parse('2026-11-21T10:00:00Z');
  const lookup = createMxLookup({ resolver, cache, ttlMs: 60_000, now: () => new Date(clock) });

  assert.deepEqual(await lookup('Firma.PL.'), { status: 'ok', hosts: ['aspmx.l.google.com'] });
  assert.deepEqual(await lookup('firma.pl'), { status: 'ok', hosts: ['aspmx.l.google.com'] });
  assert.equal(resolver.calls.filter((d) => d === 'firma.pl').length, 1, 'second lookup comes from the cache');
  clock += 61_000;
  await lookup('firma.pl');
  assert.equal(resolver.calls.filter((d) => d === 'firma.pl').length, 2, 'an expired entry is looked up again');

  assert.deepEqual(await lookup('pusta.pl'), { status: 'no_mx' });
  assert.equal(cache.get('pusta.pl')?.status, 'no_mx');

  assert.deepEqual(await lookup('zepsuta.pl'), { status: 'failed', code: 'ETIMEOUT' });
  await lookup('zepsuta.pl');
  assert.equal(resolver.calls.filter((d) => d === 'zepsuta.pl').length, 2, 'a failure is retried, not cached');
  assert.equal(cache.get('zepsuta.pl'), undefined);

  assert.deepEqual(await lookup('nieznana.pl'), { status: 'failed', code: 'ENOTFOUND' });
});

test('MX lookup: concurrent lookups of one domain share a single query', async () => {
  const db = memoryDb();
  const resolver = tableResolver({ 'firma.pl': ['mx.firma.pl'] });
  const lookup = createMxLookup({ resolver, cache: createMxCacheRepository(db), ttlMs: 60_000 });
  await Promise.all([lookup('firma.pl'), lookup('firma.pl'), lookup('FIRMA.pl')]);
  assert.equal(resolver.calls.length, 1);
});
