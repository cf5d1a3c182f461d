import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ImportFileError } from '../errors.js';
import type { Actor } from '../domain/model.js';
import type { MailServerPolicy } from '../mail/servers.js';
import { applyImport, verdictsFor, type ImportDeps, type ImportResult, type RowProblem } from './import.js';
import type { ReadMessage, ReaderData, ReaderReply, ReaderRequest } from './read.js';

/** Rows applied per transaction: a crash (even SIGKILL) loses at most this many, a second run finishes. */
export const IMPORT_BATCH_ROWS = 5_000;

/** Batches the reader thread may have handed on and not yet seen applied: memory stays flat. */
export const IMPORT_READ_AHEAD = 2;

export interface ImportProgress {
  /** Rows read and applied so far, and in the whole file (known from the first pass). */
  rows: number;
  totalRows: number;
  /** Rows the reader thread has read so far (it runs at most IMPORT_READ_AHEAD batches ahead). */
  read: number;
}

// The reader thread's module, beside this one: .ts when run from the sources (tsx), .js once compiled.
const SOURCES = path.extname(fileURLToPath(import.meta.url)) === '.ts';
const READER = new URL(`./read-worker.${SOURCES ? 'ts' : 'js'}`, import.meta.url);

/**
 * Starts the reader thread. From the sources, the thread registers tsx itself before it loads its
 * module: it inherits the process's `--import tsx`, but Node 20 does not apply those hooks to a worker's
 * own module (ERR_UNKNOWN_FILE_EXTENSION, tsx issue 354).
 */
function spawnReader(data: ReaderData): Worker {
  if (!SOURCES) return new Worker(READER, { workerData: data });
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(READER.href)}))`, { eval: true, workerData: data });
}

/**
 * The reader thread: its messages one at a time, and the end of it. Its errors come back as the
 * errors it threw (an ImportFileError stays one, with its message); a thread that dies otherwise is an
 * error too, never a silent end of the file.
 */
function startReader(file: string, policy: MailServerPolicy, batchRows: number) {
  const position = new SharedArrayBuffer(4);
  const data: ReaderData = { file, policy: { ports: [...policy.ports], allowedAddresses: [...policy.allowedAddresses] }, batchRows, ahead: IMPORT_READ_AHEAD, position };
  const worker = spawnReader(data);
  const queue: ReadMessage[] = [];
  let failure: Error | null = null;
  let ended = false;
  let waiting: ((m: ReadMessage | null) => void) | null = null;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const wakeUp = (m: ReadMessage | null) => {
    const w = waiting;
    waiting = null;
    w?.(m);
  };
  const fail = (err: Error) => {
    failure ??= err;
    wakeUp(null);
  };
  worker.on('message', (r: ReaderReply) => {
    if (r.type === 'failed') {
      const err = r.importFile ? new ImportFileError(r.message) : new Error(r.message);
      if (!r.importFile && r.stack) err.stack = r.stack;
      return fail(err);
    }
    if (r.message.type === 'end') ended = true;
    if (waiting) wakeUp(r.message);
    else queue.push(r.message);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (!ended) fail(new Error(`the import's reader thread stopped before the end of the file (exit code ${code})`));
  });
  return {
    /** The next message, in order. @throws the reader's error */
    async next(): Promise<ReadMessage> {
      const m = queue.shift() ?? (failure ? null : await new Promise<ReadMessage | null>((resolve) => (waiting = resolve)));
      if (!m) throw failure!;
      return m;
    },
    /** A batch was applied: the reader may read one more ahead. */
    applied: () => worker.postMessage({ type: 'applied' } satisfies ReaderRequest),
    /** Rows the reader has read so far. */
    read: () => Atomics.load(new Int32Array(position), 0),
    /** Ends the thread (at once when it is not done) and waits until it is gone. */
    async stop(): Promise<void> {
      await worker.terminate();
      await exited;
    },
  };
}

/**
 * Imports the main system's export from a file of any size, streamed, on two threads:
 * - a reader thread (read.ts) reads the file, decodes, parses and validates it, and checks each row
 *   against the earlier rows of the file. Its first pass reads the whole file without handing anything
 *   on: a file refused as a whole (not UTF-8, not CSV, a missing column) writes nothing, and the number of
 *   rows is known for the progress. It then hands on batches of IMPORT_BATCH_ROWS valid rows, at most
 *   IMPORT_READ_AHEAD batches ahead of this thread;
 * - this thread looks up detection for a batch at a time and applies each batch in its own transaction,
 *   as `importCsv` does: the staff list's derived tables are written once at its end (db/derived.ts).
 * Memory stays flat in the file's size: a few batches of rows, and for the same-file check a number per
 * distinct seller, mailbox and autoresponder. A crash loses at most the batch in flight; running the
 * same file again applies the rest (the rows already applied are unchanged), so it always finishes.
 * The summary and the `import.completed` audit entry are those of `importCsv`. The reader thread is
 * gone when this returns or throws.
 * @throws {ImportFileError} for a file that is refused as a whole; nothing is written then
 */
export async function importFile(
  file: string,
  deps: ImportDeps,
  opts: { actor: Actor; fileName?: string; batchRows?: number; onProgress?: (p: ImportProgress) => void },
): Promise<ImportResult> {
  const reader = startReader(file, deps.mailServers, opts.batchRows ?? IMPORT_BATCH_ROWS);
  try {
    const start = await reader.next();
    if (start.type !== 'start') throw new Error(`the import's reader thread began with ${start.type}`);
    const { totalRows } = start;
    const result: ImportResult = { rows: 0, imported: 0, updated: 0, unchanged: 0, rejected: 0, problems: [], notes: [], ignoredColumns: start.ignoredColumns };
    let m = await reader.next();
    for (; m.type !== 'end'; m = await reader.next()) {
      if (m.type !== 'batch') throw new Error(`the import's reader thread sent ${m.type} in the middle of the file`);
      result.rows = m.rows;
      result.problems.push(...m.problems);
      if (m.valid.length) {
        const verdicts = await verdictsFor(m.valid, deps.detection);
        const r = applyImport({ rows: 0, valid: m.valid, problems: [], ignoredColumns: [], verdicts }, deps, { actor: opts.actor, fileName: opts.fileName, completedAudit: false });
        result.imported += r.imported;
        result.updated += r.updated;
        result.unchanged += r.unchanged;
        result.problems.push(...r.problems);
        result.notes.push(...r.notes);
      }
      reader.applied();
      opts.onProgress?.({ rows: result.rows, totalRows, read: reader.read() });
      // The next batch is often already here: without a turn of the event loop between batches, timers,
      // signals and I/O (another writer on this thread, the progress) would wait until the whole file is in.
      await new Promise((resolve) => setImmediate(resolve));
    }
    result.rows = m.rows;
    opts.onProgress?.({ rows: result.rows, totalRows, read: reader.read() });

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
  } finally {
    await reader.stop();
  }
}
