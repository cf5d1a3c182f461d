import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migErrorCode } from '../../src/errors.js';
import { importCsv, IMPORT_COLUMNS } from '../../src/import/import.js';
import { importFile, IMPORT_READ_AHEAD, type ImportProgress } from '../../src/import/stream.js';
import { tableResolver, testServices } from '../helpers/core.js';

/**
 * The streamed import reads, parses and validates the file on a reader thread and writes on the
 * calling thread. What that must not change: a file refused as a whole writes nothing and says why as
 * the one-piece import does; the thread is gone afterwards; it reads only a little ahead of the writes.
 */

const actor = { type: 'cli' as const, id: 'import' };
const HEADER = IMPORT_COLUMNS.join(';');
const row = (i: number) => `S${i >> 1};sklep${i >> 1}@example.pl;Sklep ${i >> 1};sklep_${i >> 1};AR${i};${(i % 2) + 1};sklep.${i >> 1}@gmail.com;imap.gmail.com;993;smtp.gmail.com;465;${i % 4 < 2 ? `Haslo-${i >> 1}` : ''}`;
const rows = (n: number) => Array.from({ length: n }, (_, i) => row(i));

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mig-import-stream-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const services = () => testServices({ resolver: tableResolver({}) });
const written = (s: ReturnType<typeof services>) => ({
  autoresponders: s.db.prepare(`SELECT count(*) FROM autoresponders`).pluck().get(),
  audit: s.db.prepare(`SELECT count(*) FROM audit_log`).pluck().get(),
});
// The threads of this process (the reader is one while it runs).
const threads = () => readdirSync('/proc/self/task').length;

test('a file refused in its middle (a bad byte, a broken quote) writes nothing, with the message the one-piece import gives', async (t) => {
  const dir = tempDir(t);
  const good = Buffer.from([HEADER, ...rows(300)].join('\n') + '\n');
  const at = good.indexOf('\nS120;') + 1;
  const cases: [string, Buffer, RegExp][] = [
    ['not UTF-8', Buffer.concat([good.subarray(0, at), Buffer.from([0xc3, 0x28]), good.subarray(at)]), /UTF-8/],
    ['a NUL byte', Buffer.concat([good.subarray(0, at), Buffer.from([0]), good.subarray(at)]), /./],
    ['an unclosed quote', Buffer.concat([good.subarray(0, at), Buffer.from('"S999;'), good.subarray(at)]), /./],
  ];
  for (const [what, bytes, re] of cases) {
    const file = path.join(dir, 'eksport.csv');
    writeFileSync(file, bytes);
    const s = services();
    const streamed = await importFile(file, s, { actor, batchRows: 50 }).then(
      () => assert.fail(`${what}: accepted`),
      (e: Error) => e,
    );
    assert.equal(migErrorCode(streamed), 'MIG_ERR_IMPORT_FILE', `${what}: ${streamed.message}`);
    assert.match(streamed.message, re, what);
    const whole = await importCsv(bytes, services(), { actor }).then(
      () => assert.fail(`${what}: accepted whole`),
      (e: Error) => e,
    );
    assert.equal(streamed.message, whole.message, `${what}: the same message as the one-piece import`);
    assert.deepEqual(written(s), { autoresponders: 0, audit: 0 }, `${what}: nothing written`);
  }
});

test('a missing file is an error of the import, not a stopped process', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(importFile(path.join(dir, 'nie-ma.csv'), services(), { actor }), /ENOENT/);
});

test('the reader thread runs while the file is imported and is gone afterwards, after a refused file too', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'eksport.csv');
  writeFileSync(file, [HEADER, ...rows(400)].join('\n'));
  const s = services();
  await importFile(file, s, { actor, batchRows: 100 }); // the process's own threads (I/O pool) are up now
  const before = threads();
  let during = 0;
  const r = await importFile(file, s, { actor, batchRows: 100, onProgress: () => (during = Math.max(during, threads())) });
  assert.equal(r.unchanged, 400);
  assert.ok(during > before, `a thread more while importing (${before} before, ${during} during)`);
  assert.equal(threads(), before, 'the reader thread is gone');

  writeFileSync(file, [HEADER.replace('seller_id', 'sprzedawca'), ...rows(10)].join('\n'));
  await assert.rejects(importFile(file, s, { actor }), (e: Error) => migErrorCode(e) === 'MIG_ERR_IMPORT_FILE' && /seller_id/.test(e.message));
  assert.equal(threads(), before, 'the reader thread is gone after a refused file');
});

test('the reader stays at most IMPORT_READ_AHEAD batches ahead of the writes, however slow they are', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'eksport.csv');
  const n = 1500;
  const batchRows = 10;
  writeFileSync(file, [HEADER, ...rows(n)].join('\n'));
  const seen: ImportProgress[] = [];
  const r = await importFile(file, services(), {
    actor,
    batchRows,
    onProgress: (p) => {
      seen.push(p);
      // A slow database: the reader, unchecked, would read the whole file meanwhile.
      const until = Date.now() + 3;
      while (Date.now() < until);
    },
  });
  assert.equal(r.imported, n);
  const ahead = Math.max(...seen.map((p) => p.read - p.rows));
  assert.ok(ahead > 0, 'the reader reads ahead of the writes');
  assert.ok(ahead <= IMPORT_READ_AHEAD * batchRows, `at most ${IMPORT_READ_AHEAD} batches ahead (it was ${ahead} rows)`);
  assert.deepEqual(seen.at(-1), { rows: n, totalRows: n, read: n });
});

test('the first pass counts the same rows and reads the same header, with or without quotes, whatever the line breaks', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'eksport.csv');
  // Blank lines and a line of delimiters are not rows; an extra column is ignored; the last line has no break.
  const lines = [`\uFEFF${HEADER};Uwagi `, row(0) + ';a', '', row(1) + ';', ' ;;; ', row(2) + ';b', row(3) + ';'];
  const quoted = (l: string) => l.split(';').map((f, i) => (i === 2 || i === 12 ? `"${f}"` : f)).join(';');
  const variants: [string, string][] = [
    ['LF', lines.join('\n')],
    ['CRLF', lines.join('\r\n') + '\r\n'],
    ['CR', lines.join('\r')],
    ['quoted, LF', lines.map((l, i) => (i === 1 || i === 5 ? quoted(l) : l)).join('\n') + '\n'],
    ['a quoted line break', lines.map((l, i) => (i === 1 ? l.replace(/;a$/, ';"a\nb ""c"""') : l)).join('\n')],
  ];
  for (const [what, text] of variants) {
    writeFileSync(file, text);
    const totals: number[] = [];
    const r = await importFile(file, services(), { actor, onProgress: (p) => totals.push(p.totalRows) });
    assert.deepEqual([r.rows, r.imported, r.rejected, r.ignoredColumns], [4, 4, 0, ['uwagi']], what);
    assert.deepEqual([...new Set(totals)], [4], `${what}: the rows the first pass counted`);
  }
  writeFileSync(file, `${HEADER.replace(';smtp_port', '')}\r\n${row(0)}\r\n`);
  await assert.rejects(importFile(file, services(), { actor }), (e: Error) => migErrorCode(e) === 'MIG_ERR_IMPORT_FILE' && /smtp_port/.test(e.message), 'a missing column, CRLF');
});
