import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importCsv, IMPORT_COLUMNS } from '../../src/import/import.js';
import { migErrorCode } from '../../src/errors.js';
import { tableResolver, testServices } from '../helpers/core.js';
import type { Db } from '../../src/db/database.js';

const HEADER = IMPORT_COLUMNS.join(',');
const MX = { 'firma-workspace.pl': ['aspmx.l.google.com', 'alt1.aspmx.l.google.com'], 'onet.pl': ['mx.poczta.onet.pl'], 'zepsuty-dns.pl': 'ESERVFAIL' };
const actor = { type: 'cli' as const, id: 'import' };

const GOOD = [
  'S1,jan@gmail.com,Jan Kowalski,jan_sklep,AR1,2,jan@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,StareHaslo1',
  'S2,biuro@firma-workspace.pl,Firma Sp. z o.o.,firma,AR2,1,biuro@firma-workspace.pl,mail.firma-workspace.pl,993,mail.firma-workspace.pl,587,',
  'S3,sklep@onet.pl,Sklep Onet,onet_sklep,AR3,2,sklep@onet.pl,imap.poczta.onet.pl,993,smtp.poczta.onet.pl,465,x',
  'S4,adam@zepsuty-dns.pl,Adam,adam,AR4,2,adam@zepsuty-dns.pl,mail.zepsuty-dns.pl,143,mail.zepsuty-dns.pl,587,',
  'S5,ewa@gmail.com,Ewa,ewa_v3,AR5,3,ewa@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,',
  'S1,jan@gmail.com,Jan Kowalski,jan_sklep,,,jan.sklep@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,',
];

function setup() {
  return testServices({ resolver: tableResolver(MX) });
}

function snapshot(db: Db) {
  const out: Record<string, unknown[]> = {};
  for (const t of ['sellers', 'mailboxes', 'autoresponders', 'migrations', 'audit_log']) out[t] = db.prepare(`SELECT * FROM ${t} ORDER BY id`).all();
  return out;
}

test('a good file: every row imported, detection run, secrets encrypted, summary printed', async () => {
  const s = setup();
  const r = await importCsv([HEADER, ...GOOD].join('\n'), s, { actor, fileName: 'a.csv' });
  assert.deepEqual([r.rows, r.imported, r.updated, r.unchanged, r.rejected], [6, 6, 0, 0, 0]);
  const state = (ext: string) => s.repos.migrations.findByAutoresponder(s.repos.autoresponders.findByExternalId(ext)!.id)!;
  assert.deepEqual([state('AR1').state, state('AR1').verdictRule], ['affected', 'gmail_address']);
  assert.deepEqual([state('AR2').state, state('AR2').verdictRule, state('AR2').verdictDetail], ['affected', 'workspace_mx', 'aspmx.l.google.com']);
  assert.deepEqual([state('AR3').state, state('AR3').verdictRule], ['not_affected', 'not_google']);
  assert.deepEqual([state('AR4').state, state('AR4').verdictRule], ['unknown', 'mx_lookup_failed']);
  assert.deepEqual([state('AR5').state, state('AR5').verdictRule], ['not_affected', 'version_3']);
  // A mailbox no autoresponder uses is kept, with its own verdict.
  const seller = s.repos.sellers.findByExternalId('S1')!;
  const boxes = s.repos.mailboxes.listBySeller(seller.id);
  assert.deepEqual(boxes.map((b) => [b.email, b.provider]), [['jan@gmail.com', 'gmail'], ['jan.sklep@gmail.com', 'gmail']]);
  // Ports imply security; the secret is stored encrypted.
  const jan = boxes[0]!;
  assert.deepEqual([jan.imapSecurity, jan.smtpSecurity, jan.secretKind], ['tls', 'tls', 'account_password']);
  const stored = s.repos.mailboxes.getEncryptedSecret(jan.id)!;
  assert.ok(!stored.includes('StareHaslo1'));
  assert.equal(s.secrets.decrypt(stored, 'mailbox-secret'), 'StareHaslo1');
  const adam = s.repos.mailboxes.findBySellerAndEmail(s.repos.sellers.findByExternalId('S4')!.id, 'adam@zepsuty-dns.pl')!;
  assert.deepEqual([adam.imapSecurity, adam.smtpSecurity, adam.hasSecret], ['starttls', 'starttls', false]);
  assert.ok(!JSON.stringify(snapshot(s.db)).includes('StareHaslo1'), 'no plaintext anywhere, audit log included');
});

test('re-importing the same file changes nothing', async () => {
  const s = setup();
  const file = [HEADER, ...GOOD].join('\n');
  await importCsv(file, s, { actor });
  const before = snapshot(s.db);
  const r = await importCsv(file, s, { actor });
  assert.deepEqual([r.imported, r.updated, r.unchanged, r.rejected], [0, 0, 6, 0]);
  assert.deepEqual(snapshot(s.db), before);
});

test('bad rows are rejected with line, column and a Polish-first reason; good rows still apply', async () => {
  const s = setup();
  const lines = [
    HEADER,
    GOOD[0]!, // line 2
    'S6,not-an-email,Ola,ola,AR6,2,ola@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,', // 3: seller_email
    'S7,ola@gmail.com,Ola,ola,AR7,4,ola@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,', // 4: version
    'S8,ola@gmail.com,Ola,ola,AR8,2,ola@gmail.com,imap.gmail.com,99999,smtp.gmail.com,465,', // 5: imap_port
    'S9,ola@gmail.com,Ola,ola,AR9,2,ola@gmail.com,not a host!,993,smtp.gmail.com,465,', // 6: imap_host
    'S10,ola@gmail.com,Ola,ola,AR10,,ola@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,', // 7: id without version
    'S11,ola@gmail.com,Ola,ola,AR11,2,ola@gmail.com', // 8: column count
    'S1,inny@gmail.com,Jan Kowalski,jan_sklep,AR12,2,jan@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,StareHaslo1', // 9: seller differs from line 2
    'S12,x@gmail.com,X,x,AR1,2,x@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,', // 10: AR1 twice
    '', // empty lines are skipped
    GOOD[1]!, // 12
  ];
  const r = await importCsv(lines.join('\n'), s, { actor });
  assert.deepEqual([r.rows, r.imported, r.rejected], [10, 2, 8]);
  const at = (line: number) => r.problems.filter((p) => p.line === line);
  assert.equal(at(3)[0]?.column, 'seller_email');
  assert.match(at(3)[0]!.reason, /^to nie jest poprawny adres e-mail \/ not a valid e-mail address$/);
  assert.equal(at(4)[0]?.column, 'autoresponder_version');
  assert.match(at(4)[0]!.reason, /^wersja musi być 1, 2 albo 3 \/ version must be 1, 2 or 3$/);
  assert.equal(at(5)[0]?.column, 'imap_port');
  assert.equal(at(6)[0]?.column, 'imap_host');
  assert.equal(at(7)[0]?.column, 'autoresponder_version');
  assert.match(at(8)[0]!.reason, /oczekiwano 12 kolumn, jest 7/);
  assert.match(at(9)[0]!.reason, /wiersza 2/);
  assert.match(at(10)[0]!.reason, /wierszu 2/);
  assert.equal(s.repos.sellers.findByExternalId('S6'), undefined);
  assert.ok(s.repos.autoresponders.findByExternalId('AR2'));
});

test('BOM, semicolons, CRLF and a quoted field spanning lines are read; line numbers stay true', async () => {
  const s = setup();
  const rows = [
    HEADER.replaceAll(',', ';'),
    // line 2-3: a name spanning two lines is refused (control characters), reported at its first line
    'S1;jan@gmail.com;"Jan\nKowalski";jan_sklep;AR1;2;jan@gmail.com;imap.gmail.com;993;smtp.gmail.com;465;',
    // line 4: quotes inside a quoted field, and a password containing the separator
    'S2;ola@gmail.com;"Sklep ""Ola""";ola;AR2;2;ola@gmail.com;imap.gmail.com;993;smtp.gmail.com;465;"a;b"',
    // line 5: the same password unquoted gives 13 fields
    'S3;ela@gmail.com;Ela;ela;AR3;2;ela@gmail.com;imap.gmail.com;993;smtp.gmail.com;465;a;b',
  ];
  const buf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rows.join('\r\n'), 'utf8')]);
  const r = await importCsv(buf, s, { actor });
  assert.deepEqual(r.problems.map((p) => [p.line, p.column]), [[2, 'seller_name'], [5, null]]);
  assert.equal(r.imported, 1);
  const ola = s.repos.sellers.findByExternalId('S2')!;
  assert.equal(ola.name, 'Sklep "Ola"');
  const box = s.repos.mailboxes.listBySeller(ola.id)[0]!;
  assert.equal(s.secrets.decrypt(s.repos.mailboxes.getEncryptedSecret(box.id)!, 'mailbox-secret'), 'a;b');
});

test('whole-file refusals: binary, not UTF-8, empty, missing columns; nothing is written', async () => {
  const s = setup();
  const cases: [Buffer | string, RegExp][] = [
    [Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]), /nie jest plikiem CSV/],
    [Buffer.from(HEADER + '\nS1,jan@gmail.com,Pawe\xb3,x,AR1,2,jan@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,', 'latin1'), /UTF-8/],
    ['', /pusty/],
    ['seller_id,seller_email\nS1,a@b.pl', /Brakuje wymaganych kolumn: seller_name, allegro_login/],
    [HEADER + ',seller_id\n', /dwa razy/],
    [HEADER + '\n"S1,unclosed', /nie jest poprawnym plikiem CSV/],
  ];
  for (const [input, re] of cases) {
    await assert.rejects(importCsv(input, s, { actor }), (e: Error) => migErrorCode(e) === 'MIG_ERR_IMPORT_FILE' && re.test(e.message), String(re));
  }
  assert.equal(s.repos.sellers.count(), 0);
  assert.equal(s.repos.audit.count(), 0);
});

test('an update: changed password and hosts are applied and audited; an app password is never overwritten', async () => {
  const s = setup();
  await importCsv([HEADER, GOOD[0]].join('\n'), s, { actor });
  const changed = GOOD[0]!.replace('StareHaslo1', 'NoweHaslo2');
  const r = await importCsv([HEADER, changed].join('\n'), s, { actor });
  assert.equal(r.updated, 1);
  const box = s.repos.mailboxes.findBySellerAndEmail(s.repos.sellers.findByExternalId('S1')!.id, 'jan@gmail.com')!;
  assert.equal(s.secrets.decrypt(s.repos.mailboxes.getEncryptedSecret(box.id)!, 'mailbox-secret'), 'NoweHaslo2');
  // The seller relinks with an app password here; a later export with the old password must not undo it.
  s.repos.mailboxes.setEncryptedSecret(box.id, { ciphertext: s.secrets.encrypt('abcdefghijklmnop', 'mailbox-secret'), kind: 'app_password', verifiedAt: '2026-11-21T10:00:00Z' });
  const again = await importCsv([HEADER, changed].join('\n'), s, { actor });
  assert.equal(again.notes[0]?.column, 'mailbox_password');
  assert.equal(s.secrets.decrypt(s.repos.mailboxes.getEncryptedSecret(box.id)!, 'mailbox-secret'), 'abcdefghijklmnop');
});

test('an autoresponder id that belongs to another seller is rejected without touching either', async () => {
  const s = setup();
  await importCsv([HEADER, GOOD[0]].join('\n'), s, { actor });
  const r = await importCsv([HEADER, 'S9,z@gmail.com,Z,z,AR1,2,z@gmail.com,imap.gmail.com,993,smtp.gmail.com,465,'].join('\n'), s, { actor });
  assert.equal(r.rejected, 1);
  assert.match(r.problems[0]!.reason, /należy do innego sprzedawcy/);
  assert.equal(s.repos.sellers.findByExternalId('S9'), undefined, 'the rejected row left no seller behind');
});

test('mail servers outside the policy are rejected: loopback, private, link-local and metadata addresses, and other ports', async () => {
  const row = (n: number, imap: string, imapPort: number, smtp = 'smtp.gmail.com', smtpPort = 465) =>
    `S${n},s${n}@gmail.com,S${n},s${n},AR${n},2,s${n}@gmail.com,${imap},${imapPort},${smtp},${smtpPort},`;
  const lines = [
    row(1, '127.0.0.1', 993), // 2
    row(2, '10.1.2.3', 993), // 3
    row(3, '169.254.169.254', 993), // 4: the cloud metadata service
    row(4, '100.100.100.200', 993), // 5: shared address space (a metadata service too)
    row(5, 'imap.gmail.com', 993, '192.168.1.10', 587), // 6
    row(6, '0.0.0.0', 993), // 7
    row(7, 'poczta.localhost', 993), // 8
    row(8, 'imap.gmail.com', 22), // 9: a port that is no mail port
    row(9, 'imap.gmail.com', 993, 'smtp.gmail.com', 25), // 10: not in MAIL_PORT_ALLOWLIST
    row(10, '8.8.8.8', 993), // 11: a public address is a server like any other
    row(11, 'imap.gmail.com', 993), // 12
  ];
  const s = setup();
  const r = await importCsv([HEADER, ...lines].join('\n'), s, { actor });
  const byLine = (line: number) => r.problems.filter((p) => p.line === line).map((p) => p.column);
  assert.deepEqual([2, 3, 4, 5, 6, 7, 8, 9, 10].map(byLine), [['imap_host'], ['imap_host'], ['imap_host'], ['imap_host'], ['smtp_host'], ['imap_host'], ['imap_host'], ['imap_port'], ['smtp_port']]);
  assert.deepEqual([r.imported, r.rejected], [2, 9]);
  assert.match(r.problems.find((p) => p.line === 2)!.reason, /niedozwolony .* \/ this mail server is not allowed/);
  assert.match(r.problems.find((p) => p.line === 9)!.reason, /port 22 jest niedozwolony; dozwolone: 993, 143, 465, 587/);
  assert.equal(s.repos.mailboxes.findBySellerAndEmail(s.repos.sellers.findByExternalId('S1')?.id ?? -1, 's1@gmail.com'), undefined, 'nothing of a rejected row is stored');

  // Allowed explicitly by configuration (MAIL_ADDRESS_ALLOWLIST, MAIL_PORT_ALLOWLIST), as the tests' own servers are.
  const local = testServices({ resolver: tableResolver(MX), mailServers: { ports: [993, 465, 2525], allowedAddresses: ['127.0.0.0/8'] } });
  const ok = await importCsv([HEADER, row(1, '127.0.0.1', 993, '127.0.0.2', 2525), row(2, '10.1.2.3', 993)].join('\n'), local, { actor });
  assert.deepEqual([ok.imported, ok.rejected, ok.problems.map((p) => `${p.line} ${p.column}`)], [1, 1, ['3 imap_host']]);
});
