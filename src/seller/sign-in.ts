import type { FastifyBaseLogger } from 'fastify';
import type { I18n } from '../i18n/index.js';
import type { Repositories } from '../repositories/index.js';
import type { Mailer } from '../mail/mailer.js';

export const SIGN_IN_TOKEN_TTL_MS = 30 * 60_000;
/** At most this many links per seller per window: enough for "it did not arrive", not for a mail bomb. */
export const SIGN_IN_LINKS_PER_WINDOW = 3;
export const SIGN_IN_WINDOW_MS = 15 * 60_000;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Sign-in by a one-time link. The answer never depends on whether the address is known: the caller
 * gets nothing back, and the e-mail is sent after the response (so timing tells nothing either).
 */
export function createSignInService(deps: { repos: Repositories; mailer: Mailer; i18n: I18n; publicUrl: string; demo: boolean; log: FastifyBaseLogger; now: () => Date }) {
  const { repos, mailer, i18n, log } = deps;

  async function sendLink(sellerId: number): Promise<void> {
    const seller = repos.sellers.getById(sellerId)!;
    const token = repos.loginTokens.issue(seller.id, SIGN_IN_TOKEN_TTL_MS);
    const link = `${deps.publicUrl}/login/verify?token=${encodeURIComponent(token)}`;
    const t = i18n.t(seller.language);
    const text = [t('mail.signIn.hello', { name: seller.name }), '', t('mail.signIn.body'), '', link, '', t('mail.signIn.expiry'), t('mail.signIn.ignore')].join('\n');
    const html = `<p>${escapeHtml(t('mail.signIn.hello', { name: seller.name }))}</p><p>${escapeHtml(t('mail.signIn.body'))}</p>` +
      `<p><a href="${escapeHtml(link)}">${escapeHtml(t('mail.signIn.button'))}</a></p><p>${escapeHtml(t('mail.signIn.expiry'))}<br>${escapeHtml(t('mail.signIn.ignore'))}</p>`;
    await mailer.send({ to: seller.email, subject: t('mail.signIn.subject'), text, html });
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

    /** Uses up a one-time link and records the sign-in; the caller starts the session. */
    useLink(token: string): { ok: true; sellerId: number } | { ok: false; error: 'unknown' | 'used' | 'expired' } {
      const result = repos.loginTokens.consume(token);
      if ('error' in result) return { ok: false, error: result.error };
      repos.audit.append({ actor: { type: 'seller', id: result.sellerId }, action: 'seller.signed_in', targetType: 'seller', targetId: result.sellerId });
      return { ok: true, sellerId: result.sellerId };
    },
  };
}
export type SignInService = ReturnType<typeof createSignInService>;
