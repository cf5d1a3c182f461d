/**
 * HTTP load from a second process: autocannon (from npm) runs as its own Node process, so the load
 * generator does not share the server's event loop. Its JSON result is read from stdout.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const AUTOCANNON_BIN = path.join(path.dirname(require.resolve('autocannon/package.json')), 'autocannon.js');

export interface LoadResult {
  connections: number;
  seconds: number;
  /** Requests per second: mean over the run. */
  rps: number;
  requests: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

/** Runs autocannon against one URL and returns its figures; throws when it could not run. */
export function load(url: string, opts: { connections: number; seconds: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const args = [AUTOCANNON_BIN, '--json', '--connections', String(opts.connections), '--duration', String(opts.seconds), '--timeout', '10'];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('--headers', `${k}=${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}: ${err.slice(-500)}`));
      try {
        const j = JSON.parse(out.trim().split('\n').pop()!) as AutocannonJson;
        resolve({
          connections: opts.connections,
          seconds: j.duration,
          rps: Math.round(j.requests.average),
          requests: j.requests.total,
          p50: j.latency.p50,
          p90: j.latency.p90,
          p99: j.latency.p99,
          max: j.latency.max,
          non2xx: j.non2xx,
          errors: j.errors,
          timeouts: j.timeouts,
        });
      } catch (e) {
        reject(new Error(`autocannon output unreadable: ${(e as Error).message}: ${out.slice(0, 300)}`));
      }
    });
  });
}
