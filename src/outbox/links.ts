import type { Repositories } from '../repositories/index.js';

/** A sign-in e-mail's link is valid this long. */
export const SIGN_IN_LINK_TTL_MS = 30 * 60_000;
/** A reminder's or a watch e-mail's link stays valid this long (they are read later, not at once). */
export const MAIL_LINK_TTL_MS = 72 * 3_600_000;

/**
 * The one place that makes the personal one-time links the app's e-mails carry: a sign-in token
 * for the seller, where the link leads after the sign-in (a path of this app only), and the seller's
 * language, so the first page the link opens, before any sign-in, speaks the e-mail's language (the
 * views read `lang` from any address and keep it). Every e-mail's link gets it; no caller can forget.
 */
export function createLinks(deps: { loginTokens: Repositories['loginTokens']; sellers: Pick<Repositories['sellers'], 'getById'>; publicUrl: string }) {
  return {
    /** Issues a one-time token and returns the link; call it only for an e-mail that is really going out. */
    signIn(sellerId: number, ttlMs: number, next?: string): string {
      if (next !== undefined && !/^\/(?!\/)/.test(next)) throw new Error(`a link leads to a path of this app, not ${next}`);
      const lang = deps.sellers.getById(sellerId)?.language;
      const token = deps.loginTokens.issue(sellerId, ttlMs);
      const query = `token=${encodeURIComponent(token)}${next ? `&next=${encodeURIComponent(next)}` : ''}${lang ? `&lang=${lang}` : ''}`;
      return `${deps.publicUrl}/login/verify?${query}`;
    },
  };
}
export type Links = ReturnType<typeof createLinks>;
