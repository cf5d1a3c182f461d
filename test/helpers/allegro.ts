import type { TestContext } from 'node:test';
import { buildSimulator, type Exchange, type SimulatorOptions } from '../../src/simulator/app.js';
import { demoAccount, type SimAccount } from '../../src/simulator/accounts.js';
import { createAllegroClient, type AllegroClientOptions } from '../../src/allegro/client.js';
import { registerSecret } from './transcript.js';
import { randomBytes } from 'node:crypto';
import { pkceChallenge } from '../../src/allegro/authorization.js';
import type { Services } from '../../src/composition.js';

export const CLIENT = { id: 'test-client', secret: 'test-client-secret-0123456789' };
export const REDIRECT_URI = 'http://app.test/allegro/callback';

/** Accounts for the tests: the expected seller's, and another one. */
export function testAccounts(now = new Date()): SimAccount[] {
  return [
    demoAccount('sklep_testowy', { now, threadCount: 25, firstName: 'Anna', lastName: 'Testowa' }),
    demoAccount('inne_konto', { now, threadCount: 2 }),
  ];
}

/** The simulator on a free loopback port, closed after the test. */
export async function startSimulator(
  t: TestContext,
  opts: Partial<SimulatorOptions> & { onExchange?: (x: Exchange) => void } = {},
) {
  const accounts = opts.accounts ?? testAccounts();
  const sim = buildSimulator({
    clients: [{ id: CLIENT.id, secret: CLIENT.secret, name: 'Test', redirectUris: [REDIRECT_URI] }],
    ...opts,
    accounts,
  });
  // Every token the simulator hands out is a secret the app must never show or log.
  registerSecret(CLIENT.secret);
  sim.app.addHook('onSend', async (_req, _reply, payload) => {
    if (typeof payload === 'string' && payload.includes('_token')) {
      try {
        const body = JSON.parse(payload) as Record<string, unknown>;
        registerSecret(body.access_token as string | undefined);
        registerSecret(body.refresh_token as string | undefined);
      } catch {
        /* not JSON */
      }
    }
    return payload;
  });
  await sim.app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => sim.app.close());
  const address = sim.app.server.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  return { ...sim, url, accounts };
}

/** The app's environment for a simulator at `url`. */
export function allegroEnv(url: string): Record<string, string> {
  return {
    ALLEGRO_AUTH_URL: url,
    ALLEGRO_API_URL: url,
    ALLEGRO_CLIENT_ID: CLIENT.id,
    ALLEGRO_CLIENT_SECRET: CLIENT.secret,
    ALLEGRO_REDIRECT_URI: REDIRECT_URI,
    ALLEGRO_TIMEOUT_MS: '5000',
  };
}

export function testClient(url: string, extra: Partial<AllegroClientOptions> = {}) {
  return createAllegroClient({
    authUrl: url,
    apiUrl: url,
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    redirectUri: REDIRECT_URI,
    userAgent: 'MigracjaAutorespondera/test (+http://app.test)',
    timeoutMs: 5000,
    ...extra,
  });
}

/**
 * Plays the seller at the simulator's consent page: opens the authorize URL, picks an account and
 * accepts or denies. Returns the redirect back to the app (Location).
 */
export async function consent(authorizeUrl: string, p: { login: string; accounts: SimAccount[]; decision?: 'accept' | 'deny' }): Promise<URL> {
  const page = await fetch(authorizeUrl);
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}: ${await page.text()}`);
  const html = await page.text();
  const hidden = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"')]));
  const account = p.accounts.find((a) => a.login === p.login);
  if (!account) throw new Error(`no simulator account ${p.login}`);
  const res = await fetch(new URL('/auth/oauth/authorize', authorizeUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...hidden, account: account.id, decision: p.decision ?? 'accept' }).toString(),
  });
  if (res.status !== 303) throw new Error(`consent answered ${res.status}`);
  return new URL(res.headers.get('location')!);
}

/**
 * A seller's consent at the simulator, stored as the app's callback stores it (tokens encrypted):
 * the authorization's id. For tests that start from an autoresponder already on version 3.
 */
export async function storeConsent(services: Services, sim: { url: string; accounts: SimAccount[] }, p: { sellerId: number; login: string }): Promise<number> {
  const client = testClient(sim.url);
  const verifier = randomBytes(32).toString('base64url');
  const back = await consent(client.authorizeUrl({ state: 'st', codeChallenge: pkceChallenge(verifier) }), { login: p.login, accounts: sim.accounts });
  const tokens = await client.exchangeCode(back.searchParams.get('code')!, verifier);
  const me = await client.me(tokens.accessToken);
  return services.repos.authorizations.upsert({
    sellerId: p.sellerId,
    allegroUserId: me.id,
    allegroLogin: me.login,
    scopes: tokens.scope,
    confirmed: true,
    accessToken: services.secrets.encrypt(tokens.accessToken, 'oauth-access-token'),
    refreshToken: services.secrets.encrypt(tokens.refreshToken, 'oauth-refresh-token'),
    accessExpiresAt: new Date(services.now().getTime() + tokens.expiresIn * 1000).toISOString(),
  });
}
