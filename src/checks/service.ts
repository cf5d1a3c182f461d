import { createHash } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { SecretsService } from '../crypto/secrets.js';
import type { Actor, Autoresponder, ConnectionCheck, Mailbox, ServerSettings } from '../domain/model.js';
import { fetchInboxProof, verifyMailbox, type InboxProof, type MailCheckOptions, type MailCheckResult } from '../mail/check.js';
import { AllegroApiError, AllegroError, AuthorizationInvalidError } from '../allegro/errors.js';
import type { ThreadsList } from '../allegro/schemas.js';
import { budgetOf, MAX_CHECKS, VERIFICATION_WINDOW_MS, type AttemptBudget } from './budget.js';
import { allegroVerdict, mailVerdict, type Verdict } from './verdict.js';
import type { Slots } from './slots.js';
import type { Outcomes } from './outcome.js';

export type Trigger = ConnectionCheck['trigger'];

/** The answer of a Message Center read (the v3 live check). */
export type AllegroCheckResult =
  | { ok: true; count: number; more: boolean; latest: { login: string | null; at: string | null } | null; allegroLogin: string }
  | { ok: false; code: string; authorizeAgain: boolean; userMessage?: string; traceId?: string; status?: number };

/** A mailbox's budget is used up: nothing was tried. */
export interface BudgetRefusal {
  ok: false;
  code: 'MIG_ERR_TOO_MANY_ATTEMPTS';
  retryAt: string;
}

export type NewPasswordOutcome = MailCheckResult | BudgetRefusal;

/** What a check of a stored credential came to. */
export type StoredCheck =
  | { status: 'checked'; verdict: Verdict; result: MailCheckResult | AllegroCheckResult; proof?: InboxProof; superseded: boolean; reused?: boolean }
  | { status: 'budget'; retryAt: string }
  /** Its mailbox (or the caps) stayed busy for longer than a request waits: nothing was tried. */
  | { status: 'busy' }
  | { status: 'no_secret' }
  | { status: 'not_configured' };

/** One check for the operators' figures (/metrics): never an id, an address or a host. */
export interface CheckCount {
  kind: 'mail' | 'allegro';
  trigger: Trigger;
  /** ok or failed: a login was made; budget or busy: none was. */
  outcome: 'ok' | 'failed' | 'budget' | 'busy';
  /** The failure's stable code (MAIL_AUTH_FAILED, MIG_ERR_…); null when it passed. */
  code: string | null;
}

export interface ChecksDeps {
  db: Db;
  repos: Pick<Repositories, 'mailboxes' | 'autoresponders' | 'authorizations' | 'connectionChecks'>;
  secrets: Pick<SecretsService, 'decrypt'>;
  now: () => Date;
  mail: MailCheckOptions;
  slots: Slots;
  outcomes: Outcomes;
  /** Reads the newest Message Center threads with an authorization (refreshing its token); null when Allegro is not configured. */
  readThreads: ((authorizationId: number, limit: number) => Promise<ThreadsList>) | null;
  /** Counts every check where it is recorded (the composition root gives the metrics' counter). */
  count?: (check: CheckCount) => void;
}

const THREADS = 20;
/**
 * A mailbox whose stored password was fully checked this recently is not logged in to again: the
 * verdict is the mailbox's, already applied to every autoresponder on it (a bulk re-check of 40
 * autoresponders sharing one mailbox is one login, not 40 against Google's patience).
 */
export const REUSE_VERDICT_MS = 60_000;
const fingerprint = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('base64url');

/**
 * The one door to "does this connection work now?". Every login the app makes with a seller's
 * credential goes through here — the wizard's new app password, "Pobierz e-maile", a staff re-check
 * (one or bulk), the watch, and the v3 live check — and here alone:
 * - one at a time per mailbox (or authorization), under the shared caps (slots.ts): a second request
 *   for the same thing waits; an identical one already running is joined, not repeated;
 * - the attempt is written down BEFORE connecting, in the same transaction that reads the budget
 *   (budget.ts, one budget per mailbox for every caller), so no request logs in beyond it;
 * - one verdict (IMAP and SMTP for mail, verdict.ts), recorded as a connection check;
 * - a stored password replaced during the check makes the result about the old one: recorded, not applied;
 * - recovery or breakage of the migrations that use it (outcome.ts).
 * Callers keep only what is theirs: which page to show, which job item to settle, when to look again.
 */
export function createChecks(deps: ChecksDeps) {
  const { db, repos, slots, now } = deps;
  const count = (kind: CheckCount['kind'], trigger: Trigger, outcome: CheckCount['outcome'], code: string | null = null) => deps.count?.({ kind, trigger, outcome, code });
  const running = new Map<string, Promise<unknown>>();
  /** The last full check per mailbox: of which stored password, when, and what it said. */
  const lastFull = new Map<number, { secret: string; at: number; check: Extract<StoredCheck, { status: 'checked' }> }>();

  /** Joins an identical check already running instead of logging in again (a double-click, a retrying proxy). */
  function once<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const current = running.get(id);
    if (current) return current as Promise<T>;
    const p = fn().finally(() => running.delete(id));
    running.set(id, p);
    return p;
  }

  function remember(mailboxId: number, entry: typeof lastFull extends Map<number, infer E> ? E : never): void {
    // Bounded: expired entries go whenever the map grows large (a watch pass over 100,000 mailboxes).
    if (lastFull.size >= 10_000) for (const [id, e] of lastFull) if (now().getTime() - e.at >= REUSE_VERDICT_MS) lastFull.delete(id);
    lastFull.set(mailboxId, entry);
  }

  /**
   * How long a request waits for its mailbox and the caps: longer than one whole check (IMAP and SMTP,
   * each connect, greeting and two socket timeouts), so it only gives up when something is stuck.
   */
  const waitMs = Math.max(30_000, deps.mail.timeoutMs * 8);

  function holding<T, B>(key: string, host: string | null, leased: boolean, fn: () => Promise<T>, busy: () => B): Promise<T | B> {
    if (leased) return fn();
    return slots.with({ key, host }, waitMs, fn, busy);
  }

  function budget(mailboxId: number): AttemptBudget {
    return budgetOf(repos.connectionChecks.window(mailboxId, new Date(now().getTime() - VERIFICATION_WINDOW_MS), MAX_CHECKS + 5), now().getTime());
  }

  /**
   * Reads the budget and writes the login down in one immediate transaction: no other writer (in this
   * process or another) can come between the two. Returns the check's id, or the refusal.
   */
  function reserve(mailboxId: number, autoresponderId: number | null, trigger: Trigger): number | BudgetRefusal {
    return db.transaction((): number | BudgetRefusal => {
      const b = budget(mailboxId);
      if (b.remaining === 0) return { ok: false, code: 'MIG_ERR_TOO_MANY_ATTEMPTS', retryAt: b.retryAt! };
      return repos.connectionChecks.reserve({ mailboxId, autoresponderId, kind: 'mail', trigger });
    }).immediate();
  }

  const mailboxVersions = (mailboxId: number) => repos.autoresponders.listByMailbox(mailboxId).filter((a) => a.version !== 3);

  /**
   * A new app password the seller pasted: a real IMAP login and SMTP AUTH with it. When both pass,
   * `onPass` runs in the transaction that records the check (the caller stores the password and
   * relinks); a failure saves nothing but the check and the migrations' last answer.
   */
  function verifyNew(args: { mailbox: Mailbox; password: string; servers: ServerSettings; onPass: () => void }): Promise<NewPasswordOutcome> {
    const m = args.mailbox;
    const id = `new:${m.id}:${fingerprint(args.password, JSON.stringify(args.servers))}`;
    return once(id, () =>
      holding(`mailbox:${m.id}`, args.servers.imapHost, false, async () => {
        const reserved = reserve(m.id, null, 'seller');
        if (typeof reserved !== 'number') {
          count('mail', 'seller', 'budget', reserved.code);
          return reserved;
        }
        const result = await verifyMailbox(args.servers, args.password, deps.mail);
        db.transaction(() => {
          repos.connectionChecks.finish(reserved, { ok: result.ok, code: result.ok ? null : result.code, protocol: result.ok ? 'imap+smtp' : result.protocol, detail: result.ok ? null : result.serverText });
          if (result.ok) args.onPass();
          else for (const a of mailboxVersions(m.id)) deps.outcomes.record(a, result.code);
        })();
        count('mail', 'seller', result.ok ? 'ok' : 'failed', result.ok ? null : result.code);
        return result;
      }, () => {
        count('mail', 'seller', 'busy');
        return { ok: false, protocol: 'imap', code: 'MAIL_TIMEOUT', serverText: null } as const;
      }),
    );
  }

  /**
   * The stored password of a mailbox: 'verify' logs in over IMAP and SMTP (what the autoresponder does);
   * 'inbox' logs in over IMAP and reads the newest headers ("Pobierz e-maile"). The verdict is applied
   * to every mailbox-version autoresponder of the mailbox.
   */
  function checkMailbox(args: { mailboxId: number; autoresponderId?: number | null; purpose: 'verify' | 'inbox'; trigger: Trigger; actor: Actor; leased?: boolean }): Promise<StoredCheck> {
    const mailbox = repos.mailboxes.getById(args.mailboxId);
    const stored = mailbox ? repos.mailboxes.getEncryptedSecret(mailbox.id) : null;
    if (!mailbox || !stored) return Promise.resolve({ status: 'no_secret' });
    const id = `stored:${args.purpose}:${args.trigger}:${mailbox.id}:${fingerprint(String(stored))}`;
    return once(id, () =>
      holding(`mailbox:${mailbox.id}`, mailbox.imapHost, !!args.leased, async (): Promise<StoredCheck> => {
        // Read again under the lock: a relink that ran while this waited changed what is stored.
        const current = repos.mailboxes.getEncryptedSecret(mailbox.id);
        if (!current) return { status: 'no_secret' };
        const last = lastFull.get(mailbox.id);
        if (args.purpose === 'verify' && last && last.secret === String(current) && now().getTime() - last.at < REUSE_VERDICT_MS) return { ...last.check, reused: true };
        // Everything that could fail before the login, before it is written down.
        const fresh = repos.mailboxes.getById(mailbox.id)!;
        const password = deps.secrets.decrypt(current, 'mailbox-secret');
        const reserved = reserve(mailbox.id, args.autoresponderId ?? null, args.trigger);
        if (typeof reserved !== 'number') {
          count('mail', args.trigger, 'budget', reserved.code);
          return { status: 'budget', retryAt: reserved.retryAt };
        }
        let result: MailCheckResult;
        let proof: InboxProof | undefined;
        if (args.purpose === 'verify') result = await verifyMailbox(fresh, password, deps.mail);
        else {
          const r = await fetchInboxProof(fresh, password, deps.mail);
          if ('total' in r) {
            proof = r;
            result = { ok: true };
          } else result = r;
        }
        const verdict = mailVerdict(result.ok ? null : result.code);
        count('mail', args.trigger, result.ok ? 'ok' : 'failed', result.ok ? null : result.code);
        return db.transaction((): StoredCheck => {
          // The seller may have saved a new password during the check: this result is about the old one.
          const superseded = repos.mailboxes.getEncryptedSecret(mailbox.id) !== current;
          repos.connectionChecks.finish(reserved, {
            ok: result.ok,
            code: result.ok ? null : result.code,
            protocol: result.ok ? (args.purpose === 'verify' ? 'imap+smtp' : 'imap') : result.protocol,
            detail: superseded ? 'superseded: the mailbox password changed during this check' : result.ok ? null : result.serverText,
          });
          if (!superseded) {
            for (const a of mailboxVersions(mailbox.id)) deps.outcomes.apply(a, verdict, { actor: args.actor, trigger: args.trigger, full: args.purpose === 'verify' });
          }
          const check = { status: 'checked' as const, verdict, result, superseded, ...(proof ? { proof } : {}) };
          if (args.purpose === 'verify' && !superseded) remember(mailbox.id, { secret: String(current), at: now().getTime(), check });
          return check;
        })();
      }, () => {
        count('mail', args.trigger, 'busy');
        return { status: 'busy' } as const;
      }),
    );
  }

  /** One Message Center read with an authorization; never throws for Allegro's answers. */
  async function readMessageCenter(authorizationId: number, allegroLogin: string): Promise<AllegroCheckResult> {
    try {
      const list = await deps.readThreads!(authorizationId, THREADS);
      const first = list.threads[0];
      return {
        ok: true,
        count: list.threads.length,
        more: list.threads.length >= THREADS,
        latest: first ? { login: first.interlocutor?.login ?? null, at: first.lastMessageDateTime ?? null } : null,
        allegroLogin,
      };
    } catch (err) {
      if (!(err instanceof AllegroError)) throw err;
      return {
        ok: false,
        code: err.code,
        authorizeAgain: err instanceof AuthorizationInvalidError,
        userMessage: err instanceof AllegroApiError ? err.userMessage : undefined,
        traceId: err.traceId,
        status: err.status,
      };
    }
  }

  /**
   * The v3 live check: the newest Message Center threads, read with an authorization. `apply` says
   * whether the verdict changes the autoresponder's migration (a re-check, the watch); the seller's own
   * check before switching only records it (the new authorization is bound by the switch).
   */
  function checkAllegro(args: { autoresponder: Autoresponder; authorizationId: number | null; trigger: Trigger; actor: Actor; apply: boolean; leased?: boolean }): Promise<StoredCheck> {
    const a = args.autoresponder;
    if (!deps.readThreads) return Promise.resolve({ status: 'not_configured' });
    const record = (result: AllegroCheckResult, authorizationId: number | null) =>
      repos.connectionChecks.record({
        mailboxId: null,
        autoresponderId: a.id,
        authorizationId,
        kind: 'allegro',
        trigger: args.trigger,
        ok: result.ok,
        code: result.ok ? null : result.code,
        protocol: 'allegro',
        detail: result.ok ? `threads=${result.count}${result.more ? '+' : ''}` : [result.status, result.traceId && `trace-id ${result.traceId}`].filter(Boolean).join(' ') || (authorizationId === null ? 'no authorization' : null),
      });
    const finish = (result: AllegroCheckResult, authorizationId: number | null): StoredCheck => {
      const verdict = allegroVerdict(result);
      db.transaction(() => {
        record(result, authorizationId);
        if (args.apply) deps.outcomes.apply(a, verdict, { actor: args.actor, trigger: args.trigger, full: true });
      })();
      count('allegro', args.trigger, result.ok ? 'ok' : 'failed', result.ok ? null : result.code);
      return { status: 'checked', verdict, result, superseded: false };
    };
    if (args.authorizationId === null) return Promise.resolve(finish({ ok: false, code: 'MIG_ERR_AUTHORIZE_AGAIN', authorizeAgain: true }, null));
    const authorizationId = args.authorizationId;
    const id = `allegro:${args.trigger}:${a.id}:${authorizationId}:${args.apply}`;
    return once(id, () =>
      holding(`seller:${a.sellerId}:allegro`, 'allegro', !!args.leased, async () => {
        const authorization = repos.authorizations.getById(authorizationId);
        const result = await readMessageCenter(authorizationId, authorization?.allegroLogin ?? '');
        return finish(result, authorizationId);
      }, () => {
        count('allegro', args.trigger, 'busy');
        return { status: 'busy' } as const;
      }),
    );
  }

  return {
    budget,
    verifyNew,
    checkMailbox,
    checkAllegro,
    /** After a restart: logins cut off by the stop are closed, and stay counted. */
    recover: (): number => repos.connectionChecks.interruptRunning(),
  };
}
export type Checks = ReturnType<typeof createChecks>;
