import { createReadStream, readSync, openSync, closeSync } from 'node:fs';
import { Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { ImportFileError } from '../errors.js';
import { createI18n } from '../i18n/index.js';
import { bilingual } from '../i18n/bilingual.js';
import type { MailServerPolicy } from '../mail/servers.js';
import { createConsistency, delimiterFor, readHeader, validateRecord, type ParsedRow, type RowProblem } from './import.js';

const i18n = await createI18n();
const msg = (key: string, vars?: Record<string, unknown>): string => bilingual(i18n, `import.${key}`, vars);

/** What the reader hands on, in order: the file's shape once, then batches, then the end. */
export type ReadMessage =
  /** The first pass is done: the file as a whole is accepted (nothing was written before this). */
  | { type: 'start'; totalRows: number; ignoredColumns: string[] }
  /**
   * Up to `batchRows` rows that passed validation and the same-file check, and the problems of the
   * rows refused since the previous batch; `rows`: the rows read so far (empty lines not counted).
   */
  | { type: 'batch'; valid: ParsedRow[]; problems: RowProblem[]; rows: number }
  | { type: 'end'; rows: number };

/** What the importing thread gives its reader thread (read-worker.ts). */
export interface ReaderData {
  file: string;
  /** The policy without its resolver (a function does not cross threads; validation does not resolve). */
  policy: Pick<MailServerPolicy, 'ports' | 'allowedAddresses'>;
  batchRows: number;
  /** Batches posted and not yet applied, at most. */
  ahead: number;
  /** One Int32: the rows read so far, for the progress and the tests. */
  position: SharedArrayBuffer;
}
/** From the importing thread: a batch was applied. */
export type ReaderRequest = { type: 'applied' };
/** From the reader thread. */
export type ReaderReply = { type: 'read'; message: ReadMessage } | { type: 'failed'; importFile: boolean; message: string; stack?: string };

/** The file's delimiter, from its first line (the one-piece import's rule, delimiterFor). */
function delimiterOf(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const first = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
    if (!first.trim()) throw new ImportFileError(msg('file.empty'));
    return delimiterFor(first);
  } finally {
    closeSync(fd);
  }
}

/** UTF-8 text from the file's bytes, refused at the first NUL byte or invalid sequence (a chunk at a time). */
function utf8(): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (chunk.includes(0)) return done(new ImportFileError(msg('file.binary')));
      try {
        done(null, decoder.decode(chunk, { stream: true }));
      } catch {
        done(new ImportFileError(msg('file.notUtf8')));
      }
    },
    flush(done) {
      try {
        done(null, decoder.decode());
      } catch {
        done(new ImportFileError(msg('file.notUtf8')));
      }
    },
  });
}

/** The file's records, streamed: never the whole file in memory. */
async function* records(file: string, delimiter: string): AsyncGenerator<{ record: string[]; endLine: number }> {
  const parser = createReadStream(file, { highWaterMark: 256 * 1024 })
    .on('error', (err) => parser.destroy(err))
    .pipe(utf8())
    .on('error', (err) => parser.destroy(err))
    .pipe(parse({ delimiter, relax_column_count: true, skip_empty_lines: true, info: true, bom: true }));
  try {
    for await (const r of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) yield { record: r.record, endLine: r.info.lines };
  } catch (err) {
    if (err instanceof ImportFileError) throw err;
    const line = (err as { lines?: number }).lines;
    throw new ImportFileError(`${line ? msg('file.notCsvAt', { line }) : msg('file.notCsv')} ${(err as Error).message}`);
  }
}

/**
 * The first pass's answers (the header, the number of rows) for a file without a double quote, without
 * the CSV parser: there a record is a line and a field what lies between delimiters, so a line's split
 * is the parser's record, and the parser has nothing to refuse. Read in the same chunks through the
 * same decoder, so a file that is not UTF-8 is refused at the same place with the same message. Null
 * as soon as a chunk holds a quote or a lone carriage return (a line break the parser would see where
 * this does not): the parser's pass then decides, from the start. Half the reader's work, and the writes
 * wait for the first pass.
 * @throws {ImportFileError} as the parser's pass would
 */
async function shapeWithoutQuotes(file: string, delimiter: string): Promise<{ header: ReturnType<typeof readHeader>; totalRows: number } | null> {
  const input = createReadStream(file, { highWaterMark: 256 * 1024 });
  const text = input.pipe(utf8());
  input.on('error', (err) => text.destroy(err));
  const blank = delimiter === ';' ? /^[\s;]*$/ : /^[\s,]*$/;
  let header: ReturnType<typeof readHeader> | null = null;
  let totalRows = 0;
  let rest = '';
  const line = (l: string): void => {
    if (!header) {
      l = l.replace(/^\uFEFF/, '');
      if (l === '') return;
      header = readHeader(l.split(delimiter));
      return;
    }
    if (!blank.test(l)) totalRows++;
  };
  try {
    for await (const chunk of text as AsyncIterable<string>) {
      if (chunk.includes('"')) return null;
      let from = 0;
      for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', from)) {
        const l = rest + chunk.slice(from, at);
        rest = '';
        const cr = l.indexOf('\r');
        if (cr !== -1 && cr !== l.length - 1) return null;
        line(l);
        from = at + 1;
      }
      rest += chunk.slice(from);
    }
    if (rest) {
      const cr = rest.indexOf('\r');
      if (cr !== -1 && cr !== rest.length - 1) return null;
      line(rest);
    }
  } catch (err) {
    if (err instanceof ImportFileError) throw err;
    return null; // a read error: the parser's pass meets it too, and words it as it always did
  } finally {
    text.destroy();
  }
  return header ? { header, totalRows } : null;
}

/**
 * Reads, decodes, parses and validates a file, writing nothing (it runs in the import's reader thread):
 * 1. a first pass reads the whole file: a file refused as a whole (not UTF-8, not CSV, a missing column)
 *    throws before anything is handed on, and the number of rows is known for the progress;
 * 2. the second pass validates each row and checks it against the earlier rows of the file, and hands
 *    on a batch each time `batchRows` rows passed (the caller's `send` may wait: that is the backpressure).
 * Memory stays flat in the file's size: a batch of rows, and for the same-file check a number per
 * distinct seller, mailbox and autoresponder. `onRow` is told the number of rows read so far.
 * @throws {ImportFileError} for a file that is refused as a whole
 */
export async function readImportFile(
  file: string,
  policy: MailServerPolicy,
  batchRows: number,
  send: (m: ReadMessage) => void | Promise<void>,
  onRow: (rows: number) => void = () => {},
): Promise<void> {
  const delimiter = delimiterOf(file);
  let totalRows = 0;
  let header: { names: string[]; ignoredColumns: string[] } | null = null;
  const shape = await shapeWithoutQuotes(file, delimiter);
  if (shape) ({ header, totalRows } = shape);
  else {
    for await (const { record } of records(file, delimiter)) {
      if (!header) header = readHeader(record);
      else if (!record.every((f) => f.trim() === '')) totalRows++;
    }
  }
  if (!header) throw new ImportFileError(msg('file.empty'));
  await send({ type: 'start', totalRows, ignoredColumns: header.ignoredColumns });

  const consistent = createConsistency();
  let rows = 0;
  let valid: ParsedRow[] = [];
  let problems: RowProblem[] = [];
  let first = true;
  for await (const { record, endLine } of records(file, delimiter)) {
    if (first) {
      first = false;
      continue;
    }
    const v = validateRecord(record, endLine, header.names, policy);
    if (v === null) continue;
    onRow(++rows);
    if ('problems' in v) problems.push(...v.problems);
    else if (consistent(v, problems)) valid.push(v);
    if (valid.length >= batchRows) {
      await send({ type: 'batch', valid, problems, rows });
      valid = [];
      problems = [];
    }
  }
  if (valid.length || problems.length) await send({ type: 'batch', valid, problems, rows });
  await send({ type: 'end', rows });
}
