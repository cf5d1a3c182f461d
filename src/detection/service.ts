import type { Db } from '../db/database.js';
import {
  autoresponderVerdict,
  detectMailbox,
  mailboxVerdict,
  type MailboxFacts,
  type MxLookup,
} from './rules.js';
import type { Actor, Autoresponder, AutoresponderVerdict, Mailbox, MailboxVerdict, Migration } from '../domain/model.js';
import type { Repositories } from '../repositories/index.js';
import type { MigrationService } from '../migration/service.js';

/** What the verdict of an autoresponder reads of it. */
export type KnownAutoresponder = Pick<Autoresponder, 'id' | 'version' | 'mailboxId'>;
/** Rows a caller has at hand, as stored now, so they are not read again. */
interface Known {
  autoresponder?: KnownAutoresponder;
  mailbox?: Mailbox;
}

export interface RedetectSummary {
  mailboxes: number;
  changedMailboxes: number;
  changedMigrations: number;
}

const sameVerdict = (a: MailboxVerdict | undefined, b: MailboxVerdict) =>
  !!a && a.rule === b.rule && a.detail === b.detail && a.provider === b.provider;

/**
 * Decides who is affected and keeps the stored verdicts current. The DNS part is async and runs
 * before any transaction; storing verdicts is synchronous so it can join the caller's transaction.
 */
export function createDetectionService(deps: { db: Db; repos: Repositories; lookupMx: MxLookup; migrationService: MigrationService }) {
  const { db, repos, lookupMx, migrationService } = deps;

  /**
   * The verdict of one autoresponder from what is stored now. A caller that has just read (or written)
   * the autoresponder or its mailbox passes them, and they are not read again.
   */
  function verdictOfAutoresponder(autoresponderId: number, known: Known = {}): AutoresponderVerdict {
    const a = known.autoresponder ?? repos.autoresponders.getById(autoresponderId)!;
    const m = a.mailboxId == null ? undefined : known.mailbox?.id === a.mailboxId ? known.mailbox : repos.mailboxes.getById(a.mailboxId);
    const v = m ? mailboxVerdict(m) : undefined;
    return autoresponderVerdict({
      version: a.version,
      mailbox: m && v ? { verdict: v, secretKind: m.secretKind, secretVerifiedAt: m.secretVerifiedAt } : undefined,
    });
  }

  /**
   * Creates or updates the migration of one autoresponder from the stored facts. Returns whether it
   * changed. `known` as for verdictOfAutoresponder; `known.migration` null when the caller knows there
   * is none yet (an autoresponder it has just made).
   */
  function refreshAutoresponder(autoresponderId: number, actor: Actor, known: Known & { migration?: Migration | null } = {}): boolean {
    const verdict = verdictOfAutoresponder(autoresponderId, known);
    const existing = known.migration === undefined ? repos.migrations.findByAutoresponder(autoresponderId) : known.migration;
    if (!existing) {
      migrationService.add(autoresponderId, verdict, actor);
      return true;
    }
    return migrationService.applyVerdict(existing, verdict, actor);
  }

  /**
   * Stores a mailbox verdict (only when it differs) and refreshes every autoresponder that reads
   * the mailbox. Synchronous: call inside a transaction.
   * A bulk caller (the import) that has already refreshed this mailbox's autoresponders in the same
   * transaction, and changed nothing about the mailbox since, names in `only` the autoresponders whose
   * own facts it changed: only those are refreshed then (the others' verdicts cannot have moved); when
   * the verdict differs, all are refreshed all the same. `mailbox` is the mailbox as stored now, if the
   * caller has it. A caller that made the mailbox in this transaction names in `every` all of its
   * autoresponders (those it made or moved there), so they are not read. `stored`: the mailbox as stored afterwards.
   */
  function applyMailboxVerdict(
    mailboxId: number,
    verdict: MailboxVerdict,
    actor: Actor,
    opts: {
      mailbox?: Mailbox;
      only?: readonly (KnownAutoresponder & { migration?: Migration | null })[];
      every?: readonly (KnownAutoresponder & { migration?: Migration | null })[];
    } = {},
  ): { mailbox: boolean; migrations: number; stored: Mailbox } {
    let m = opts.mailbox ?? repos.mailboxes.getById(mailboxId)!;
    let mailboxChanged = false;
    if (!sameVerdict(mailboxVerdict(m), verdict)) {
      const stored = repos.mailboxes.setDetection(mailboxId, verdict);
      repos.audit.record(actor, mailboxId, {
        action: 'mailbox.detected',
        details: { provider: verdict.provider, rule: verdict.rule, detail: verdict.detail },
      });
      mailboxChanged = true;
      // As stored now, without reading it again: only the detection's fields changed.
      m = { ...m, ...stored };
    }
    let changed = 0;
    const given = opts.only && !mailboxChanged ? opts.only : opts.every;
    if (given) {
      for (const a of given) if (refreshAutoresponder(a.id, actor, { autoresponder: a, mailbox: m, migration: a.migration })) changed++;
    } else {
      for (const a of repos.autoresponders.listByMailbox(mailboxId)) if (refreshAutoresponder(a.id, actor, { autoresponder: a, mailbox: m })) changed++;
    }
    return { mailbox: mailboxChanged, migrations: changed, stored: m };
  }

  return {
    verdictOfAutoresponder,
    refreshAutoresponder,
    applyMailboxVerdict,
    detect: (facts: MailboxFacts) => detectMailbox(facts, lookupMx),

    /** Re-runs detection for every mailbox (CLI `detect`, or after DNS recovered). */
    async redetectAll(actor: Actor): Promise<RedetectSummary> {
      const all = repos.mailboxes.listAll();
      const verdicts = new Map<number, MailboxVerdict>();
      await mapLimit(all, 8, async (m) => verdicts.set(m.id, await detectMailbox(m, lookupMx)));
      return db.transaction((): RedetectSummary => {
        const summary: RedetectSummary = { mailboxes: all.length, changedMailboxes: 0, changedMigrations: 0 };
        for (const m of all) {
          const r = applyMailboxVerdict(m.id, verdicts.get(m.id)!, actor);
          if (r.mailbox) summary.changedMailboxes++;
          summary.changedMigrations += r.migrations;
        }
        return summary;
      })();
    },
  };
}
export type DetectionService = ReturnType<typeof createDetectionService>;

/** Runs fn over items with at most `limit` running at once. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
