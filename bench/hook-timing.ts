/**
 * Where a request's time goes, hook by hook: every hook the app adds is wrapped so its time is
 * recorded, and requests go one at a time through inject, beside a bare route for the floor.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import app from '../src/app.js';
import { loadConfig } from '../src/config.js';

const KEY = 'GzLCjLOMBUgOzMG9YP+XAptXoFyWcYuW2tfp2EiU9Uk=';
const HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse'];

export interface HookTiming {
  url: string;
  /** Median µs of the whole request through inject, and of a bare route the same way. */
  wholeUs: number;
  bareUs: number;
  /** Median µs per request of each hook, labelled by hook, its order and where it was added. */
  hooks: { name: string; us: number }[];
}

/** Where addHook was called from: the first frame outside fastify, its plugin loader and this file. */
function callSite(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  const frame = frames.find((f) => !/node_modules\/(fastify|avvio|fastify-plugin)\/|bench\/hook-timing|node:internal/.test(f)) ?? '';
  const m = /(node_modules\/((@[^/]+\/)?[^/]+)|(src\/[^:)]+))(\S*?):(\d+)/.exec(frame);
  return m ? (m[2] ?? `${m[4]}:${m[6]}`) : 'unknown';
}

/**
 * Wraps every hook added from here on (plugins add theirs on child instances, which inherit addHook).
 * A hook's time runs from its call to its done callback, or for an async hook to its return.
 */
function timeHooks(fastify: FastifyInstance): Map<string, number[]> {
  const times = new Map<string, number[]>();
  const record = (name: string, t0: bigint) => {
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    (times.get(name) ?? times.set(name, []).get(name)!).push(us);
  };
  const addHook = fastify.addHook;
  let n = 0;
  (fastify as unknown as { addHook: unknown }).addHook = function (this: FastifyInstance, name: string, fn: (...a: unknown[]) => unknown) {
    if (typeof fn !== 'function' || !HOOKS.includes(name)) return addHook.call(this, name as never, fn as never);
    const label = `${name} #${++n}, ${callSite()}${process.env.HOOK_SRC ? ` ${fn.toString().slice(0, 120).replace(/\s+/g, ' ')}` : ''}`;
    const wrapped =
      fn.constructor.name === 'AsyncFunction'
        ? function (this: unknown, ...args: unknown[]) {
            // Until it hands back its promise: the app's async hooks await nothing, so this is all
            // their work (waiting for the promise would add whatever else the event loop had queued).
            const t0 = process.hrtime.bigint();
            const p = fn.apply(this, args);
            record(label, t0);
            return p;
          }
        : function (this: unknown, ...args: unknown[]) {
            const t0 = process.hrtime.bigint();
            const done = args[args.length - 1] as (...d: unknown[]) => void;
            return fn.apply(this, [...args.slice(0, -1), (...d: unknown[]) => (record(label, t0), done(...d))]);
          };
    return addHook.call(this, name as never, wrapped as never);
  };
  return times;
}

/** Times /healthz and /migration (with the given cookies) `requests` times each, after 200 warm-up requests. */
export async function hookTiming(dbFile: string, cookie: string, requests: number): Promise<HookTiming[]> {
  const fastify = Fastify({ logger: false });
  const times = timeHooks(fastify);
  await fastify.register(app, { config: loadConfig({ DATABASE_PATH: dbFile, APP_SECRET_KEY: KEY, DEMO: '0', OPERATOR_NAME: 'Bench Operator', SUPPORT_EMAIL: 'pomoc@example.pl', LOG_LEVEL: 'warn', ALLEGRO_ENV: 'sandbox' }) });
  await fastify.ready();
  const bare = Fastify({ logger: false });
  bare.get('/', async () => 'ok');
  await bare.ready();
  const cookies = Object.fromEntries(cookie.split('; ').map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)]));
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;
  const round = (n: number) => Number(n.toFixed(1));
  const out: HookTiming[] = [];
  try {
    for (const url of ['/healthz', '/migration']) {
      const whole: number[] = [];
      const floor: number[] = [];
      for (let i = 0; i < requests + 200; i++) {
        if (i === 200) times.clear();
        let t0 = process.hrtime.bigint();
        await fastify.inject({ url, cookies });
        if (i >= 200) whole.push(Number(process.hrtime.bigint() - t0) / 1000);
        t0 = process.hrtime.bigint();
        await bare.inject({ url: '/' });
        if (i >= 200) floor.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      // Medians: on a shared machine a request now and then waits for a core, which a mean would spread over every hook.
      const hooks = [...times].map(([name, t]) => ({ name, us: round(median(t)) })).sort((a, b) => b.us - a.us);
      out.push({ url, wholeUs: round(median(whole)), bareUs: round(median(floor)), hooks });
      times.clear();
    }
  } finally {
    await fastify.close();
    await bare.close();
  }
  return out;
}

export function formatHookTiming(timings: HookTiming[]): string {
  return timings
    .map((t) => [`${t.url}: whole request ${t.wholeUs} µs (median), a bare route ${t.bareUs} µs; hooks, median µs a request:`, ...t.hooks.map((h) => `  ${String(h.us).padStart(7)}  ${h.name}`)].join('\n'))
    .join('\n');
}
