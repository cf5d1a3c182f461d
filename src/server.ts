import Fastify from 'fastify';
import app from './app.js';
import { demoWiring } from './demo/wiring.js';
import { ConfigError, loadConfig, readEnvironment, type AppConfig } from './config.js';
import { migErrorCode } from './errors.js';
import { loggerOptions } from './logger.js';
import { ensureDemoAdmin, loadDemoIfEmpty } from './demo/demo.js';
import { demoAuthorizations, startSimulator } from './simulator/server.js';
import type { GoogleSimulator } from './simulator/google/server.js';
import { readOpsEnv, type OpsSettings } from './ops/ops-env.js';

/**
 * The process shell: validate config, build Fastify with timeouts and a logger, register the app,
 * load the demo on an empty database, listen, and close gracefully on SIGTERM/SIGINT.
 */
async function main(): Promise<void> {
  let config: AppConfig;
  let ops: OpsSettings;
  try {
    // One environment for both: the process's, over the optional .env file (as loadConfig reads it).
    const environment = readEnvironment();
    config = loadConfig(environment);
    ops = readOpsEnv(environment);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }

  const fastify = Fastify({
    logger: loggerOptions(config.logLevel),
    trustProxy: config.trustProxy,
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  });

  // ALLEGRO_ENV=simulator (the demo default): a local Allegro runs beside the app, so the whole v3
  // path can be clicked through offline. It is a separate server, as the real Allegro is.
  let demoAdmin: { email: string; password: string } | undefined;
  let firstChecks = 0;
  let simulator: Awaited<ReturnType<typeof startSimulator>> | undefined;
  // Demo only (GOOGLE_SIMULATOR, on by default there): Gmail's IMAP and SMTP, so the app-password path
  // works offline too. The app's connections to imap.gmail.com and smtp.gmail.com are routed to it. It
  // starts while the app is built (and is not even loaded outside the demo).
  let google: GoogleSimulator | undefined;
  const googleModule = config.googleSimulator ? import('./simulator/google/server.js') : undefined;
  const googleStarting = googleModule?.then((m) => m.startGoogleSimulator(config.googleSimulator!, { demoDir: config.demoDir }));
  googleStarting?.catch(() => {}); // awaited below; a failure is reported there
  if (googleStarting) fastify.addHook('onClose', async () => (await googleStarting.catch(() => undefined))?.close());
  try {
    if (config.allegro.simulatorPort) {
      simulator = await startSimulator(config, { level: config.logLevel === 'info' ? 'warn' : config.logLevel });
      fastify.addHook('onClose', async () => simulator?.close());
    }
    await fastify.register(app, { config, demo: await demoWiring(config), ops });
    await fastify.ready();
    if (googleStarting) google = await googleStarting;
    if (config.demo) {
      const demo = await loadDemoIfEmpty(fastify.services, config.demoDir, { allegro: simulator ? demoAuthorizations(simulator.simulator, config.allegro.clientId!) : undefined });
      if (demo.loaded) {
        fastify.log.info({ sellers: fastify.services.repos.sellers.count(), autoresponders: fastify.services.repos.autoresponders.count() }, 'demo data loaded');
        // The demo's migrated autoresponders are checked at once, not in slots up to a day away.
        if (config.watchEnabled) firstChecks = await fastify.watch.firstChecksNow();
      }
      demoAdmin = await ensureDemoAdmin(fastify.services);
    }
    await fastify.listen({ host: config.host, port: config.port });
  } catch (err) {
    const code = migErrorCode(err);
    // A known start-up problem (bad key, bad demo file) gets one readable line, not a stack.
    console.error(code ? `${code}: ${(err as Error).message}` : err);
    await fastify.close().catch(() => {});
    await simulator?.close().catch(() => {});
    await (await googleStarting?.catch(() => undefined))?.close().catch(() => {});
    process.exit(1);
  }

  fastify.log.info(`Open ${config.publicUrl}/ in a browser.${config.demo ? ' Demo mode is on (DEMO=0 turns it off).' : ''}`);
  // Printed on the console, not logged: demo credentials, new on every start.
  if (demoAdmin) console.log(`\nDemo support console: ${config.publicUrl}/staff/login\n  e-mail:   ${demoAdmin.email}\n  password: ${demoAdmin.password}   (new on every start)\n`);
  if (simulator) fastify.log.info(`Allegro simulator (ALLEGRO_ENV=simulator) at ${config.allegro.authUrl}; version 3 is authorized there, not at allegro.pl.`);
  if (google) fastify.log.info(`${(await googleModule!).describeGoogleSimulator(google)}; the demo sign-in page lists what each demo mailbox answers.`);
  if (config.demo && config.watchEnabled) {
    const where = google && simulator ? 'against the Google and Allegro simulators only' : 'while a simulator is off, so its checks reach the real Google or Allegro';
    fastify.log.info(`The watch checks the demo's migrated autoresponders ${where} (WATCH_ENABLED=0 turns it off)${firstChecks ? `; ${firstChecks} get their first check now` : ''}.`);
  }

  // The stop (SIGTERM from a process manager, Ctrl+C): /readyz answers 503 at once, the listener
  // closes (a request on a kept-alive connection gets 503), requests in flight get their answers,
  // job items and watch checks in flight finish and settle (a retryable failure goes back to the
  // queue), then the mailer and the database close and the process exits 0. After SHUTDOWN_TIMEOUT_MS
  // (25 s) it exits 1 anyway: items still running then are taken up again at the next start.
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) {
      fastify.log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    closing = true;
    fastify.ops.readiness.stopping();
    const started = Date.now();
    fastify.log.info({ signal, timeoutMs: ops.shutdownTimeoutMs }, 'shutting down: no new requests; requests and job items in flight finish first');
    const force = setTimeout(() => {
      fastify.log.error({ timeoutMs: ops.shutdownTimeoutMs }, 'shutdown took too long, exiting; items still running go back to the queue at the next start');
      process.exit(1);
    }, ops.shutdownTimeoutMs);
    force.unref();
    fastify.close().then(
      () => {
        fastify.log.info({ ms: Date.now() - started }, 'stopped: work in flight settled, database closed');
        process.exit(0);
      },
      (err) => {
        fastify.log.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();
