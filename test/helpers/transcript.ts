import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { PROJECT_ROOT } from '../../src/config.js';

/**
 * Everything the app shows or writes during the whole test suite (every log line, every page and
 * export), and every secret the tests hand it, is spooled under test-output/transcripts. After the
 * last test, test/secret-scan.ts searches the first for the second: a secret may be stored
 * encrypted, never logged, rendered or exported.
 */
export const TRANSCRIPT_DIR = path.join(PROJECT_ROOT, 'test-output', 'transcripts');
const MAX_RECORD = 512 * 1024;
let ready = false;
const registered = new Set<string>();

function file(kind: 'out' | 'secrets'): string {
  if (!ready) {
    mkdirSync(TRANSCRIPT_DIR, { recursive: true });
    ready = true;
  }
  return path.join(TRANSCRIPT_DIR, `${process.pid}.${kind}`);
}

/** One record of what the app produced: a header line saying what it was, then the text. */
export function record(kind: 'log' | 'page' | 'export' | 'server-log', label: string, text: string): void {
  appendFileSync(file('out'), `\n=== ${kind} ${label}\n${text.length > MAX_RECORD ? text.slice(0, MAX_RECORD) : text}\n`);
}

/** A value that must never appear in the app's output. Short values would match by chance and are left out. */
export function registerSecret(value: string | null | undefined): void {
  if (!value || value.length < 8 || registered.has(value)) return;
  registered.add(value);
  appendFileSync(file('secrets'), JSON.stringify(value) + '\n');
}

/** Records every response body the app sends (streams are teed as they go out). */
export function recordResponses(fastify: FastifyInstance): void {
  fastify.addHook('onSend', async (request, reply, payload) => {
    const label = `${request.method} ${request.url.split('?')[0]} ${reply.statusCode} ${String(reply.getHeader('content-type') ?? '')}`;
    const headers = JSON.stringify(reply.getHeaders());
    if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
      record('page', label, `${headers}\n${payload.toString()}`);
      return payload;
    }
    if (payload && typeof (payload as NodeJS.ReadableStream).pipe === 'function') {
      const chunks: Buffer[] = [];
      let size = 0;
      const tee = new PassThrough();
      tee.on('data', (c: Buffer) => {
        if (size < MAX_RECORD * 8) chunks.push(Buffer.from(c));
        size += c.length;
      });
      tee.on('end', () => record('export', label, `${headers}\n${Buffer.concat(chunks).toString('utf8')}`));
      (payload as NodeJS.ReadableStream).pipe(tee);
      return tee;
    }
    record('page', label, headers);
    return payload;
  });
}
