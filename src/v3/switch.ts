import { normalizeNewlines, preflightTemplate, textLength, textProblems, V3_MAX_TEXT, type TemplatePreflight, type TemplateProblem, templateHash } from './templates.js';
import { NotFoundError } from '../errors.js';
import type { Actor } from '../domain/model.js';
import type { Autoresponder, ReplyTemplate } from '../domain/model.js';
import type { Mailbox } from '../domain/model.js';
import { type ConnectionCheck, type V3Draft } from '../domain/model.js';
import type { Db } from '../db/database.js';
import type { Repositories } from '../repositories/index.js';
import type { MigrationService } from '../migration/service.js';
import type { DetectionService } from '../detection/service.js';
import type { AllegroCheckResult, Checks } from '../checks/service.js';

/** Switching back is possible from v3 to the mailbox version it came from, while that mailbox's password is stored. */
export function switchBackPossible(a: Pick<Autoresponder, 'version' | 'previousVersion'>, mailbox: Pick<Mailbox, 'hasSecret'> | undefined): boolean {
  return a.version === 3 && a.previousVersion != null && !!mailbox?.hasSecret;
}

/** How recent the Message Center check must be for the switch to go ahead. */
export const CHECK_VALID_MS = 30 * 60_000;

export interface TemplateReview extends Pick<ReplyTemplate, 'position' | 'name' | 'subject' | 'bodyFormat' | 'body'> {
  preflight: TemplatePreflight;
  /** What the seller will send: their approved draft, or the converted text. */
  text: string;
  length: number;
  /** Problems of `text` (the draft) plus the conversion notes. */
  problems: TemplateProblem[];
  ok: boolean;
  edited: boolean;
}

export type CheckResult = AllegroCheckResult;

export interface V3Deps {
  db: Db;
  repos: Pick<Repositories, 'autoresponders' | 'migrations' | 'authorizations' | 'connectionChecks' | 'v3Drafts' | 'mailboxes' | 'audit'>;
  migrationService: MigrationService;
  detection: Pick<DetectionService, 'verdictOfAutoresponder'>;
  now: () => Date;
  checks: Pick<Checks, 'checkAllegro'>;
}

export type SwitchOutcome =
  | { ok: true; secretDeleted: boolean; secretKeptBecauseShared: boolean }
  | { ok: false; reason: 'templates' | 'authorization' | 'check' | 'state' };

/**
 * The v3 path: review the templates against the Message Center's limits, prove the Message Center is
 * reachable with the seller's authorization, then switch in one transaction (templates, version,
 * migration, audit, and the stored mailbox password deleted unless the seller keeps it). Switching
 * back restores the mailbox version and its templates while the mailbox password is still stored.
 */
export function createV3Service(deps: V3Deps) {
  const { db, repos, migrationService, detection, now } = deps;

  function own(sellerId: number, autoresponderId: number): Autoresponder {
    const a = repos.autoresponders.getById(autoresponderId);
    if (!a || a.sellerId !== sellerId) throw new NotFoundError();
    return a;
  }

  /** The templates the switch is about: the current ones, or (after the switch) the kept mailbox ones. */
  /** The seller's approved texts by template position, only those made from the template as it is now. */
  function usableDrafts(autoresponderId: number, templates: ReplyTemplate[]): Map<number, V3Draft> {
    const hashes = new Map(templates.map((t) => [t.position, templateHash(t)]));
    return new Map(repos.v3Drafts.list(autoresponderId).filter((d) => hashes.get(d.position) === d.sourceHash).map((d) => [d.position, d]));
  }

  function review(autoresponderId: number): TemplateReview[] {
    const templates = repos.autoresponders.listTemplates(autoresponderId);
    const drafts = usableDrafts(autoresponderId, templates);
    return templates.map((t) => {
      const preflight = preflightTemplate(t);
      const usable = drafts.get(t.position);
      const text = usable?.text ?? preflight.converted;
      const notes = preflight.problems.filter((p) => p.code !== 'too_long' && p.code !== 'empty');
      const problems = [...notes, ...textProblems(text)];
      return { position: t.position, name: t.name, subject: t.subject, bodyFormat: t.bodyFormat, body: t.body, preflight, text, length: textLength(text), problems, ok: !problems.some((p) => p.blocking), edited: !!usable && usable.text !== preflight.converted };
    });
  }

  /** Whether every template has an approved text that fits (an autoresponder without templates is ready). */
  function draftsReady(autoresponderId: number): boolean {
    const templates = repos.autoresponders.listTemplates(autoresponderId);
    const drafts = usableDrafts(autoresponderId, templates);
    return templates.every((t) => {
      const d = drafts.get(t.position);
      return !!d && textProblems(d.text).length === 0;
    });
  }

  const canSwitchBack = (a: Autoresponder) => switchBackPossible(a, a.mailboxId != null ? repos.mailboxes.getById(a.mailboxId) : undefined);

  /** Whether another v1/v2 autoresponder still reads this one's mailbox: then its password must stay. */
  const mailboxSharedWithMailboxVersion = (a: Autoresponder) =>
    a.mailboxId != null && repos.autoresponders.listByMailbox(a.mailboxId).some((o) => o.id !== a.id && o.version !== 3);

  return {
    own,
    review,
    draftsReady,
    canSwitchBack,
    mailboxSharedWithMailboxVersion,

    /** The seller chose v3: the migration says so (support sees "in progress: v3"). */
    start(sellerId: number, autoresponderId: number, actor: Actor): void {
      const a = own(sellerId, autoresponderId);
      const m = repos.migrations.findByAutoresponder(a.id);
      if (a.version !== 3 && m && m.state !== 'in_progress_v3') {
        migrationService.transitionIfAllowed(m.id, 'start_v3', 'in_progress_v3', { actor });
      }
    },

    /**
     * Saves the seller's texts. Nothing is saved unless every text fits: the page shows the problems
     * next to each template, with what the seller typed.
     */
    saveDrafts(sellerId: number, autoresponderId: number, texts: Map<number, string>): { ok: true } | { ok: false; problems: Map<number, TemplateProblem[]> } {
      own(sellerId, autoresponderId);
      const templates = repos.autoresponders.listTemplates(autoresponderId);
      const problems = new Map<number, TemplateProblem[]>();
      const drafts = templates.map((t) => {
        const text = normalizeNewlines(texts.get(t.position) ?? '').trim();
        const p = textProblems(text);
        if (p.length) problems.set(t.position, p);
        return { position: t.position, text, sourceHash: templateHash(t) };
      });
      if (problems.size) return { ok: false, problems };
      repos.v3Drafts.save(autoresponderId, drafts);
      return { ok: true };
    },

    /**
     * The live proof: the newest Message Center threads, read with the seller's authorization.
     * Every check is recorded; an authorization Allegro no longer accepts is reported as such.
     */
    async check(sellerId: number, autoresponderId: number, authorizationId: number, trigger: ConnectionCheck['trigger'] = 'seller'): Promise<CheckResult> {
      const a = own(sellerId, autoresponderId);
      const authorization = repos.authorizations.getById(authorizationId);
      if (!authorization || authorization.sellerId !== sellerId) throw new NotFoundError();
      // Through the one door (checks/): recorded there; the switch binds the authorization, so the
      // seller's own check changes no migration.
      const c = await deps.checks.checkAllegro({ autoresponder: a, authorizationId, trigger, actor: { type: 'seller', id: sellerId }, apply: false });
      if (c.status === 'not_configured') return { ok: false, code: 'MIG_ERR_ALLEGRO_NOT_CONFIGURED', authorizeAgain: false };
      // Another read of this seller's Message Center stuck: like Allegro not answering, try again later.
      if (c.status === 'busy') return { ok: false, code: 'MIG_ERR_ALLEGRO_UNAVAILABLE', authorizeAgain: false };
      if (c.status !== 'checked') return { ok: false, code: 'MIG_ERR_INTERNAL', authorizeAgain: false };
      return c.result as CheckResult;
    },

    /**
     * Switches to v3 (or, for a v3 autoresponder whose authorization died, binds the new one), in one
     * transaction. The stored mailbox password is deleted when asked and when no mailbox version still
     * reads that mailbox.
     */
    switchToV3(sellerId: number, autoresponderId: number, opts: { deleteSecret: boolean; actor: Actor }): SwitchOutcome {
      const a = own(sellerId, autoresponderId);
      const authorization = repos.authorizations.findUsable(sellerId);
      if (!authorization) return { ok: false, reason: 'authorization' };
      const check = repos.connectionChecks.lastAllegroCheck(a.id);
      if (!check || !check.ok || check.authorizationId !== authorization.id || now().getTime() - Date.parse(check.at) > CHECK_VALID_MS) {
        return { ok: false, reason: 'check' };
      }
      const m = repos.migrations.findByAutoresponder(a.id);
      if (!m) return { ok: false, reason: 'state' };
      const reauthorize = a.version === 3;
      if (reauthorize ? m.state !== 'needs_attention' : !draftsReady(a.id)) return { ok: false, reason: reauthorize ? 'state' : 'templates' };
      if (!reauthorize && !migrationService.allows(m, 'start_v3', 'in_progress_v3')) return { ok: false, reason: 'state' };

      return db.transaction((): SwitchOutcome => {
        if (reauthorize) {
          repos.autoresponders.switchVersion(a.id, { version: 3, previousVersion: a.previousVersion, authorizationId: authorization.id });
          migrationService.transition(m.id, 'reauthorized', 'switched_v3', { actor: opts.actor, details: { authorizationId: authorization.id, allegroLogin: authorization.allegroLogin } });
          return { ok: true, secretDeleted: false, secretKeptBecauseShared: false };
        }
        if (m.state !== 'in_progress_v3') migrationService.transition(m.id, 'start_v3', 'in_progress_v3', { actor: opts.actor });
        const templates = repos.autoresponders.listTemplates(a.id);
        const drafts = usableDrafts(a.id, templates);
        repos.v3Drafts.snapshotTemplates(a.id);
        repos.autoresponders.replaceTemplates(
          a.id,
          templates.map((t) => ({ name: t.name, subject: '', body: drafts.get(t.position)!.text, bodyFormat: 'text' as const })),
        );
        repos.autoresponders.switchVersion(a.id, { version: 3, previousVersion: a.version as 1 | 2, authorizationId: authorization.id });
        repos.v3Drafts.clear(a.id);

        let secretDeleted = false;
        let secretKeptBecauseShared = false;
        if (opts.deleteSecret && a.mailboxId != null) {
          const mailbox = repos.mailboxes.getById(a.mailboxId)!;
          if (mailboxSharedWithMailboxVersion(a)) secretKeptBecauseShared = mailbox.hasSecret;
          else if (mailbox.hasSecret) {
            repos.mailboxes.setEncryptedSecret(a.mailboxId, null);
            secretDeleted = true;
          }
        }
        migrationService.transition(m.id, 'switched_v3', 'switched_v3', {
          actor: opts.actor,
          details: {
            authorizationId: authorization.id,
            allegroLogin: authorization.allegroLogin,
            previousVersion: a.version,
            templates: templates.length,
          },
        });
        if (secretDeleted) {
          repos.audit.record(opts.actor, a.mailboxId, { action: 'mailbox.secret_deleted', details: { reason: 'switched_v3', autoresponderId: a.id } });
        }
        return { ok: true, secretDeleted, secretKeptBecauseShared };
      })();
    },

    /** Back to the mailbox version, its templates restored; the migration's verdict is recomputed. */
    switchBack(sellerId: number, autoresponderId: number, actor: Actor): boolean {
      const a = own(sellerId, autoresponderId);
      if (!canSwitchBack(a)) return false;
      const m = repos.migrations.findByAutoresponder(a.id);
      return db.transaction(() => {
        const snapshot = repos.v3Drafts.snapshot(a.id);
        if (snapshot.length) {
          repos.autoresponders.replaceTemplates(a.id, snapshot.map((t) => ({ name: t.name, subject: t.subject, body: t.body, bodyFormat: t.bodyFormat })));
          repos.v3Drafts.clearSnapshot(a.id);
        }
        repos.autoresponders.switchVersion(a.id, { version: a.previousVersion!, previousVersion: null, authorizationId: null });
        const verdict = detection.verdictOfAutoresponder(a.id);
        const moved = m && migrationService.transitionIfAllowed(m.id, 'switched_back', verdict.state, { actor, verdict, details: { toVersion: a.previousVersion, templatesRestored: snapshot.length } });
        if (!moved) {
          repos.audit.record(actor, a.id, { action: 'autoresponder.switched_back', details: { toVersion: a.previousVersion, migrationState: m?.state ?? null } });
        }
        return true;
      })();
    },

    /** Deletes the mailbox password the seller kept at the switch (no way back to the mailbox version after). */
    forgetSecret(sellerId: number, autoresponderId: number, actor: Actor): boolean {
      const a = own(sellerId, autoresponderId);
      if (a.version !== 3 || a.mailboxId == null) return false;
      const mailbox = repos.mailboxes.getById(a.mailboxId);
      if (mailboxSharedWithMailboxVersion(a) || !mailbox?.hasSecret) return false;
      db.transaction(() => {
        repos.mailboxes.setEncryptedSecret(a.mailboxId!, null);
        repos.v3Drafts.clearSnapshot(a.id);
        repos.audit.record(actor, a.mailboxId, { action: 'mailbox.secret_deleted', details: { reason: 'seller_request', autoresponderId: a.id } });
      })();
      return true;
    },
    maxText: V3_MAX_TEXT,
  };
}
export type V3Service = ReturnType<typeof createV3Service>;
