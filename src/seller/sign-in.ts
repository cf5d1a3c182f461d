import type { FastifyBaseLogger } from 'fastify';
import type { Repositories } from '../repositories/index.js';
import type { MailRenderer } from '../mail/render.js';
import { SIGN_IN_LINK_TTL_MS, type Links } from '../outbox/links.js';
import type { Outbox } from '../outbox/outbox.js';

export const SIGN_IN_TOKEN_TTL_MS = SIGN_IN_LINK_TTL_MS;

/** An account as the sign-in confirmation names it: enough to recognise, not to learn the address. */
export interface AccountShown {
  name: string;
  email: string;
}

/**
 * An address with most of its local part hidden: "jan.kowalski@gmail.com" → "ja•••••••••i@gmail.com"
 * (the first two and the last character of a longer name, the first only of a short one; the domain whole).
 */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '•••';
  const local = [...email.slice(0, at)];
  const keep = local.length > 5 ? 2 : 1;
  const tail = local.length > 3 ? local[local.length - 1]! : '';
  return `${local.slice(0, keep).join('')}${'•'.repeat(Math.max(3, local.length - keep - tail.length))}${tail}${email.slice(at)}`;
}

/** How the confirmation names a seller's account. */
export const accountShown = (seller: { name: string; email: string }): AccountShown => ({ name: seller.name, email: maskEmail(seller.email) });
/** At most this many links per seller per window: enough for "it did not arrive", not for a mail bomb. */
export const SIGN_IN_LINKS_PER_WINDOW = 3;
export const SIGN_IN_WINDOW_MS = 15 * 60_000;

/** At most this many sign-in requests wait for their e-mail at once; more are dropped (and logged). */
export const SIGN_IN_MAX_PENDING = 200;

/**
 * Sign-in by a one-time link. The answer never depends on whether the address is known: the caller
 * gets nothing back, and everything that depends on the address (finding the seller, the per-seller
 * limit, the token, the e-mail) happens after the answer has gone out, so its timing tells nothing
 * either. Before the answer every request costs the same: one entry in a queue.
 */
export function createSignInService(deps: {
  repos: Pick<Repositories, 'sellers' | 'loginTokens' | 'audit'>;
  outbox: Pick<Outbox, 'deliver'>;
  links: Links;
  mail: MailRenderer;
  demo: boolean;
  log: FastifyBaseLogger;
  now: () => Date;
}) {
  const { repos, log } = deps;
  const pending = new Set<Promise<void>>();

  /**
   * Sends a sign-in link through the outbox. Not kept as a row: a link lost to a stop is asked for
   * again (it is valid 30 minutes), so its 'committing' mark lives only as long as the send.
   * @throws the delivery's failure, for the caller's log
   */
  async function sendLink(sellerId: number): Promise<void> {
    const seller = repos.sellers.getById(sellerId)!;
    const link = deps.links.signIn(seller.id, SIGN_IN_TOKEN_TTL_MS);
    let committing = false;
    const d = await deps.outbox.deliver(
      { to: seller.email, ...deps.mail.render('sign-in', seller.language, { name: seller.name, link }) },
      { commit: () => void (committing = true), committed: () => committing },
    );
    if (d.status !== 'sent') throw Object.assign(new Error(`sign-in e-mail ${d.status}: ${d.message}`), { code: d.status === 'failed' ? d.code : 'MIG_ERR_SEND_UNCERTAIN' });
    // Demo mode only: the link in the log is how the offline demo signs in.
    if (deps.demo) log.info({ sellerId: seller.id }, `demo sign-in link: ${link}`);
  }

  /** The per-address work of one request. The limit check and the token are made in one synchronous step, so two requests cannot both pass the limit. */
  async function deliver(email: string): Promise<void> {
    const seller = repos.sellers.findByEmail(email)[0];
    if (!seller) return;
    const since = new Date(deps.now().getTime() - SIGN_IN_WINDOW_MS);
    if (repos.loginTokens.countSince(seller.id, since) >= SIGN_IN_LINKS_PER_WINDOW) {
      log.warn({ sellerId: seller.id }, 'sign-in link not sent: too many requested recently');
      return;
    }
    try {
      await sendLink(seller.id);
    } catch (err) {
      log.error({ err, sellerId: seller.id }, 'sign-in link could not be sent');
    }
  }

  return {
    /**
     * Queues a link for the address and returns at once, having done nothing that depends on it. The
     * work starts on a later turn of the event loop (setImmediate), after the caller's answer is written.
     */
    request(email: string): void {
      if (pending.size >= SIGN_IN_MAX_PENDING) {
        log.warn('sign-in link not sent: too many requests waiting');
        return;
      }
      const job: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => deliver(email))
        .catch((err) => log.error({ err }, 'sign-in request failed'))
        .finally(() => pending.delete(job));
      pending.add(job);
    },
    /** Resolves when every queued request is done (the app waits for this before closing the mailer and the database). */
    async idle(): Promise<void> {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    sendLink,

    /**
     * What the confirmation page shows before a link is used: whose account it opens (the shop's name
     * and a masked address: a link someone else sent would otherwise sign the visitor in as that seller
     * without a word), which other seller is signed in in this browser (the page asks before switching),
     * or why the link cannot be used. Nothing is used up.
     */
    preview(token: string, signedIn: { id: number; name: string; email: string } | null): { ok: true; account: AccountShown; other: AccountShown | null; already: boolean } | { ok: false; error: 'unknown' | 'used' | 'expired' } {
      const found = token ? repos.loginTokens.peek(token) : undefined;
      if (!found) return { ok: false, error: 'unknown' };
      if (found.usedAt) return { ok: false, error: 'used' };
      if (Date.parse(found.expiresAt) <= deps.now().getTime()) return { ok: false, error: 'expired' };
      const seller = repos.sellers.getById(found.sellerId);
      if (!seller) return { ok: false, error: 'unknown' };
      const other = signedIn && signedIn.id !== seller.id ? accountShown(signedIn) : null;
      return { ok: true, account: accountShown(seller), other, already: signedIn?.id === seller.id };
    },

    /** Uses up a one-time link and records the sign-in; the caller starts the session. */
    useLink(token: string): { ok: true; sellerId: number } | { ok: false; error: 'unknown' | 'used' | 'expired' } {
      const result = repos.loginTokens.consume(token);
      if ('error' in result) return { ok: false, error: result.error };
      repos.audit.record({ type: 'seller', id: result.sellerId }, result.sellerId, { action: 'seller.signed_in' });
      return { ok: true, sellerId: result.sellerId };
    },
  };
}
export type SignInService = ReturnType<typeof createSignInService>;
