import { parentPort, workerData } from 'node:worker_threads';
import { ImportFileError } from '../errors.js';
import { readImportFile, type ReaderData, type ReaderReply, type ReaderRequest } from './read.js';

// The import's reader thread (started by stream.ts): reads, decodes, parses and validates the file, and
// posts batches to the importing thread, which looks up verdicts and writes. It keeps at most `ahead`
// batches posted and not yet applied (the importing thread answers 'applied' after each one), so a fast
// reader never fills memory with a file the database has not caught up with.
const data = workerData as ReaderData;
const port = parentPort!;
const position = new Int32Array(data.position);
let unapplied = 0;
let wake: (() => void) | null = null;
port.on('message', (m: ReaderRequest) => {
  if (m.type !== 'applied') return;
  unapplied--;
  wake?.();
});

try {
  await readImportFile(
    data.file,
    data.policy,
    data.batchRows,
    async (m) => {
      port.postMessage({ type: 'read', message: m } satisfies ReaderReply);
      if (m.type !== 'batch') return;
      unapplied++;
      while (unapplied >= data.ahead) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    },
    (rows) => Atomics.store(position, 0, rows),
  );
} catch (err) {
  port.postMessage({ type: 'failed', importFile: err instanceof ImportFileError, message: (err as Error).message, stack: (err as Error).stack } satisfies ReaderReply);
}
// Nothing is left to wait for: the thread ends (the importing thread may also terminate it).
port.close();
