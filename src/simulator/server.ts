import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { SimulatorState } from './app.js';
import { SIMULATOR_CLIENT, type AppConfig } from '../config.js';
import { demoAccountsFromCsv } from './accounts.js';
import { buildSimulator } from './app.js';

/**
 * Builds the simulator the way the app's configuration expects it: the app's client id, secret and
 * redirect URI registered, one Allegro account per Allegro login in the demo export, and in the demo
 * its tokens kept beside the database (`allegro.simulatorTokenFile`), so they survive a restart.
 */
export function simulatorForConfig(config: AppConfig, logger: boolean | object = false) {
  return buildSimulator({
    clients: [
      {
        id: config.allegro.clientId ?? SIMULATOR_CLIENT.id,
        secret: config.allegro.clientSecret ?? SIMULATOR_CLIENT.secret,
        name: 'Migracja autorespondera',
        redirectUris: [config.allegro.redirectUri],
      },
    ],
    accounts: demoAccountsFromCsv(path.join(config.demoDir, 'autoresponders.csv'), new Date()),
    ...(config.allegro.simulatorTokenFile ? { tokenFile: config.allegro.simulatorTokenFile } : {}),
    logger,
  });
}

/**
 * What the demo data needs of the simulator (demo/demo.ts, DemoAllegro): real authorizations for its
 * seeded v3 autoresponders, granted as if their sellers had consented, and a revocation.
 */
export function demoAuthorizations(sim: SimulatorState, clientId: string) {
  return {
    grant(login: string) {
      const { pair, account } = sim.grant(login, clientId);
      return { accessToken: pair.access_token, refreshToken: pair.refresh_token, expiresIn: pair.expires_in, scope: pair.scope, allegroUserId: account.id, login: account.login };
    },
    revoke: (login: string) => sim.revokeAccount(login),
  };
}

/** Starts the simulator on the host and port the configuration points the app at. */
export async function startSimulator(config: AppConfig, logger: boolean | object = false): Promise<FastifyInstance & { simulator: SimulatorState }> {
  const { app, state } = simulatorForConfig(config, logger);
  const url = new URL(config.allegro.authUrl);
  await app.listen({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) });
  return Object.assign(app, { simulator: state });
}
