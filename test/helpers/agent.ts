import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * A browser-like client over app.inject: keeps cookies, and sends the CSRF token of the last page it
 * saw with every form, as a real form would.
 */
export class Agent {
  cookies = new Map<string, string>();
  lastCsrf = '';
  constructor(readonly app: FastifyInstance) {}

  private remember(res: LightMyRequestResponse) {
    for (const c of res.cookies) {
      if (c.maxAge === 0 || (c.expires && c.expires.getTime() < Date.now()) || c.value === '') this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    const m = /name="_csrf" value="([^"]+)"/.exec(res.body);
    if (m) this.lastCsrf = m[1]!;
    return res;
  }

  async get(url: string) {
    return this.remember(await this.app.inject({ method: 'GET', url, cookies: Object.fromEntries(this.cookies) }));
  }

  async post(url: string, form: Record<string, string> = {}, opts: { csrf?: string | null } = {}) {
    const body = new URLSearchParams({ ...(opts.csrf === null ? {} : { _csrf: opts.csrf ?? this.lastCsrf }), ...form }).toString();
    return this.remember(
      await this.app.inject({
        method: 'POST',
        url,
        payload: body,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        cookies: Object.fromEntries(this.cookies),
      }),
    );
  }
}

/** Signs a seller in the way a seller does: a token from the e-mail, the confirm page, the button. */
export async function signIn(agent: Agent, sellerId: number): Promise<void> {
  const token = agent.app.services.repos.loginTokens.issue(sellerId, 30 * 60_000);
  await agent.get(`/login/verify?token=${encodeURIComponent(token)}`);
  const res = await agent.post('/login/verify', { token });
  if (res.statusCode !== 303) throw new Error(`sign-in failed: ${res.statusCode}`);
}
