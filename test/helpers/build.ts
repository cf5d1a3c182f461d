import type { FormSpec } from '../../src/plugins/forms.js';
import Fastify, { type FastifyInstance } from 'fastify';
import type { TestContext } from 'node:test';
import { Writable } from 'node:stream';
import app from '../../src/app.js';
import { demoWiring } from '../../src/demo/wiring.js';
import { loadConfig, type AppConfig } from '../../src/config.js';
import { loggerOptions } from '../../src/logger.js';
import type { MxResolver } from '../../src/detection/mx-lookup.js';
import type { Db } from '../../src/db/database.js';
import { memoryDb, tableResolver, testKeyring, TEST_KEY_TEXT } from './core.js';
import { record, recordResponses, registerSecret } from './transcript.js';

/** The operator and support address every test app names (required outside the demo). */
export const TEST_OPERATOR = { OPERATOR_NAME: 'Sklep Testowy sp. z o.o.', SUPPORT_EMAIL: 'pomoc@sklep-testowy.example' } as const;

export interface BuildOptions {
  env?: Record<string, string>;
  db?: Db;
  resolver?: MxResolver;
  /** Routes a test adds before the app is ready (e.g. one that throws). */
  extra?: (fastify: FastifyInstance) => void | Promise<void>;
  now?: () => Date;
}

export interface Built {
  app: FastifyInstance;
  config: AppConfig;
  /** Every log line the app wrote, as text. */
  logs: string[];
  /** The app's own route table (method and URL of every route it registered; whether its config sets a rate limit). */
  routes: { method: string; url: string; configRateLimit?: boolean; form?: FormSpec }[];
}

/** Builds the very app plugin the server runs, on an in-memory database; closed after the test. */
export async function build(t: TestContext, opts: BuildOptions = {}): Promise<Built> {
  // The watch is off unless a test turns it on: its checks would otherwise start at random slots mid-test.
  // Outside the demo the operator and the support address are required: the tests' own stand-ins.
  const config = loadConfig({ DATABASE_PATH: ':memory:', DEMO: '0', LOG_LEVEL: 'info', WATCH_ENABLED: '0', ...TEST_OPERATOR, ...opts.env });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      record('log', '', String(chunk));
      cb();
    },
  });
  const logger = { ...(loggerOptions(config.logLevel) as object), stream };
  // As server.ts builds it: which proxies' X-Forwarded-For is believed.
  const fastify = Fastify({ logger, trustProxy: config.trustProxy });
  registerSecret(TEST_KEY_TEXT);
  registerSecret(opts.env?.APP_SECRET_KEY);
  registerSecret(config.allegro.clientSecret);
  recordResponses(fastify);
  const routes: Built['routes'] = [];
  fastify.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url, configRateLimit: !!(r.config as { rateLimit?: unknown } | undefined)?.rateLimit, form: (r.config as { form?: FormSpec } | undefined)?.form });
  });
  await fastify.register(app, { config, db: opts.db ?? memoryDb(), keyring: testKeyring(), mxResolver: opts.resolver ?? tableResolver({}), now: opts.now, demo: await demoWiring(config) });
  if (opts.extra) await opts.extra(fastify);
  await fastify.ready();
  t.after(() => fastify.close());
  return { app: fastify, config, logs, routes };
}
