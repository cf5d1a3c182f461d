import { createReadStream, readSync, openSync, closeSync } from 'node:fs';
import { Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { ImportFileError } from '../errors.js';
import type { Actor } from '../domain/model.js';
import { createI18n } from '../i18n/index.js';
import { bilingual } from '../i18n/bilingual.js';
import { applyImport, createConsistency, readHeader, validateRecord, verdictsFor, type ImportDeps, type ImportResult, type ParsedRow, type RowProblem } from './import.js';

const i18n = await createI18n();
const msg = (key: string, vars?: Record<string, unknown>): string => bilingual(i18n, `import.${key}`, vars);

/** Rows applied per transaction: a crash (even SIGKILL) loses at most this many, a second run finishes. */
export const IMPORT_BATCH_ROWS = 5_000;

export interface ImportProgress {
  /** Rows read so far, and in the whole file (known from the first pass). */
  rows: number;
  totalRows: number;
}

/** The file's delimiter, from its first line: ';' (Polish Excel) when it has more of them than ','. */
function delimiterOf(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const first = buf.subarray(0, n).toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
    if (!first.trim()) throw new ImportFileError(msg('file.empty'));
    return first.split(';').length > first.split(',').length ? ';' : ',';
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
 * Imports the main system's export from a file of any size, streamed:
 * 1. a first pass reads the whole file without writing: a file refused as a whole (not UTF-8, not
 *    CSV, a missing column) writes nothing, and the number of rows is known for the progress;
 * 2. the second pass validates each row, checks it against the earlier rows of the file, looks up
 *    detection for a batch at a time, and applies each batch of IMPORT_BATCH_ROWS rows in its own
 *    transaction, as `importCsv` does: the staff list's derived tables are written once at its end (db/derived.ts).
 * Memory stays flat in the file's size: a batch of rows, and for the same-file check a number per
 * distinct seller, mailbox and autoresponder. A crash loses at most the batch in flight; running the
 * same file again applies the rest (the rows already applied are unchanged), so it always finishes.
 * The summary and the `import.completed` audit entry are those of `importCsv`.
 * @throws {ImportFileError} for a file that is refused as a whole; nothing is written then
 */
export async function importFile(
  file: string,
  deps: ImportDeps,
  opts: { actor: Actor; fileName?: string; batchRows?: number; onProgress?: (p: ImportProgress) => void },
): Promise<ImportResult> {
  const delimiter = delimiterOf(file);
  let totalRows = 0;
  let header: { names: string[]; ignoredColumns: string[] } | null = null;
  for await (const { record } of records(file, delimiter)) {
    if (!header) header = readHeader(record);
    else if (!record.every((f) => f.trim() === '')) totalRows++;
  }
  if (!header) throw new ImportFileError(msg('file.empty'));

  const batchRows = opts.batchRows ?? IMPORT_BATCH_ROWS;
  const result: ImportResult = { rows: 0, imported: 0, updated: 0, unchanged: 0, rejected: 0, problems: [], notes: [], ignoredColumns: header.ignoredColumns };
  const consistent = createConsistency();
  let batch: ParsedRow[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const rows = batch;
    batch = [];
    const verdicts = await verdictsFor(rows, deps.detection);
    const r = applyImport({ rows: 0, valid: rows, problems: [], ignoredColumns: [], verdicts }, deps, { actor: opts.actor, fileName: opts.fileName, completedAudit: false });
    result.imported += r.imported;
    result.updated += r.updated;
    result.unchanged += r.unchanged;
    result.problems.push(...r.problems);
    result.notes.push(...r.notes);
  };
  let first = true;
  for await (const { record, endLine } of records(file, delimiter)) {
    if (first) {
      first = false;
      continue;
    }
    const v = validateRecord(record, endLine, header.names, deps.mailServers);
    if (v === null) continue;
    result.rows++;
    if ('problems' in v) result.problems.push(...v.problems);
    else if (consistent(v, result.problems)) batch.push(v);
    if (batch.length >= batchRows) await flush();
    if (result.rows % 1000 === 0) opts.onProgress?.({ rows: result.rows, totalRows });
  }
  await flush();
  opts.onProgress?.({ rows: result.rows, totalRows });

  const rejectedLines = new Set(result.problems.map((x: RowProblem) => x.line)).size;
  result.rejected = rejectedLines;
  if (result.imported + result.updated > 0) {
    deps.repos.audit.record(opts.actor, opts.fileName ?? null, {
      action: 'import.completed',
      details: { rows: result.rows, imported: result.imported, updated: result.updated, unchanged: result.unchanged, rejected: rejectedLines },
    });
  }
  result.problems.sort((a, b) => a.line - b.line);
  result.notes.sort((a, b) => a.line - b.line);
  return result;
}
