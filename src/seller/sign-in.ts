import type { FastifyBaseLogger } from 'fastify';
import type { Repositories } from '../repositories/index.js';
import type { Mailer } from '../mail/mailer.js';
import type { MailRenderer } from '../mail/render.js';

export const SIGN_IN_TOKEN_TTL_MS = 30 * 60_000;
/** At most this many links per seller per window: enough for "it did not arrive", not for a mail bomb. */
export const SIGN_IN_LINKS_PER_WINDOW = 3;
export const SIGN_IN_WINDOW_MS = 15 * 60_000;

/**
 * Sign-in by a one-time link. The answer never depends on whether the address is known: the caller
 * gets nothing back, and the e-mail is sent after the response (so timing tells nothing either).
 */
export function createSignInService(deps: { repos: Repositories; mailer: Mailer; mail: MailRenderer; publicUrl: string; demo: boolean; log: FastifyBaseLogger; now: () => Date }) {
  const { repos, mailer, log } = deps;

  async function sendLink(sellerId: number): Promise<void> {
    const seller = repos.sellers.getById(sellerId)!;
    const token = repos.loginTokens.issue(seller.id, SIGN_IN_TOKEN_TTL_MS);
    const link = `${deps.publicUrl}/login/verify?token=${encodeURIComponent(token)}`;
    await mailer.send({ to: seller.email, ...deps.mail.render('sign-in', seller.language, { name: seller.name, link }) });
    // Demo mode only: the link in the log is how the offline demo signs in.
    if (deps.demo) log.info({ sellerId: seller.id }, `demo sign-in link: ${link}`);
  }

  return {
    /** Starts sending a link if the address belongs to a seller; returns at once either way. */
    request(email: string): void {
      const seller = repos.sellers.findByEmail(email)[0];
      if (!seller) return;
      const since = new Date(deps.now().getTime() - SIGN_IN_WINDOW_MS);
      if (repos.loginTokens.countSince(seller.id, since) >= SIGN_IN_LINKS_PER_WINDOW) {
        log.warn({ sellerId: seller.id }, 'sign-in link not sent: too many requested recently');
        return;
      }
      sendLink(seller.id).catch((err) => log.error({ err, sellerId: seller.id }, 'sign-in link could not be sent'));
    },
    sendLink,
  };
}
export type SignInService = ReturnType<typeof createSignInService>;
