import type { TFunction } from 'i18next';
import type { AuditEntry } from '../repositories/audit.js';
import { codeName, ruleName } from './codes.js';

/** What a sentence may need to name besides the entry itself: staff members and mailboxes by id. */
export interface HistoryLookup {
  staffEmail(id: number): string | undefined;
  mailboxEmail(id: number): string | undefined;
}

export interface HistoryLine {
  id: number;
  at: string;
  /** One sentence in the agent's language. */
  sentence: string;
  /** The job the entry belongs to, when there is one (a link on the page). */
  jobHref: string | null;
  /** The raw record, for the "szczegóły" disclosure (and for searching the logs). */
  raw: string;
}

/** Audit actions with a sentence in the catalogs (`staff.history.events.<action with _ for .>`). */
export const HISTORY_ACTIONS = [
  'migration.created', 'migration.detected', 'migration.start_v3', 'migration.start_app_password', 'migration.switched_v3', 'migration.relinked',
  'migration.needs_attention', 'migration.reauthorized', 'migration.switched_back', 'migration.abandoned', 'migration.reviewed', 'migration.reopened',
  'staff.note', 'staff.recheck', 'staff.remind_not_sent', 'staff.signed_in', 'staff.signed_out', 'staff.created', 'staff.role_changed', 'staff.disabled',
  'staff.enabled', 'staff.password_reset', 'staff.updated', 'staff.export',
  'reminder.sent', 'reminder.uncertain', 'reminder.resent',
  'job.created', 'job.cancel_requested', 'job.started', 'job.finished', 'job.cancelled',
  'job.item.done', 'job.item.failed', 'job.item.skipped', 'job.item.unknown', 'job.item.cancelled', 'job.item.retry',
  'seller.signed_in', 'seller.created', 'seller.updated',
  'mailbox.created', 'mailbox.servers_updated', 'mailbox.secret_imported', 'mailbox.detected', 'mailbox.relinked', 'mailbox.secret_deleted',
  'autoresponder.created', 'autoresponder.updated', 'autoresponder.switched_back',
  'allegro.authorized', 'allegro.account_confirmed', 'allegro.authorization_discarded', 'allegro.authorization_invalid',
  'import.completed', 'secrets.rotated',
  'watch.broke', 'watch.recovered', 'watch.problem_changed', 'watch.notice_sent', 'watch.notice_uncertain', 'watch.notice_failed', 'watch.notice_cancelled',
] as const;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

/**
 * The account page's history in sentences: one catalog sentence per audit event type, filled from
 * the entry's data ("Sprzedawca przełączył autoresponder na wersję 3 (konto Allegro ogrod_marzen,
 * 3 szablony)"). The raw record stays available behind a disclosure. An action without a sentence
 * (a newer one) is still shown, by its name.
 */
export function historyLine(e: AuditEntry, t: TFunction, lookup: HistoryLookup): HistoryLine {
  const d = e.details ?? {};
  const h = (key: string, params: Record<string, unknown> = {}) => t(`staff.history.${key}`, params) as string;
  const quote = (s: string) => h('quote', { text: s });
  const state = (s: unknown) => (str(s) ? quote(t(`states.${str(s)}`) as string) : '');
  const mailbox = (id: unknown) => {
    const n = num(id);
    return (n !== undefined && lookup.mailboxEmail(n)) || (n !== undefined ? `#${n}` : '');
  };
  // "(a, b, c)" after the sentence, or nothing.
  const extra = (...parts: (string | false | null | undefined)[]) => {
    const list = parts.filter((p): p is string => !!p);
    return list.length ? h('extra', { parts: list.join(', ') }) : '';
  };
  const templates = (n: unknown) => (num(n) !== undefined ? h('templates', { count: num(n) }) : null);
  const jobId = num(d.jobId);
  const jobKind = str(d.kind) ? h(`jobKinds.${str(d.kind)}`) : '';

  const who = whoName(e, t, lookup);
  const p: Record<string, unknown> = { who };
  let key = e.action.replace(/\./g, '_');
  switch (e.action) {
    case 'migration.created':
      Object.assign(p, { state: state(d.state), rule: ruleName(t, str(d.rule)) });
      break;
    case 'migration.detected':
    case 'migration.abandoned':
    case 'migration.reopened':
      Object.assign(p, { from: state(d.from), to: state(d.to), rule: ruleName(t, str(d.rule)) || '—' });
      break;
    case 'migration.switched_v3':
      p.extra = extra(str(d.allegroLogin) && h('allegroAccount', { login: str(d.allegroLogin) }), templates(d.templates), d.mailboxSecretDeleted === true && h('secretDeleted'));
      break;
    case 'migration.relinked':
      if (d.recovered === true) key = 'migration_relinked_recovered';
      p.extra = extra(d.mailboxId !== undefined && mailbox(d.mailboxId));
      break;
    case 'migration.needs_attention': {
      const reason = str(d.reason);
      p.reason = quote(reason ? (t(`reasons.${reason}`, { defaultValue: reason }) as string) : '—');
      p.extra = extra(
        str(d.allegroLogin) && str(d.expectedLogin) && h('mismatch', { login: str(d.allegroLogin), expected: str(d.expectedLogin) }),
        str(d.trigger) && h('trigger', { trigger: t(`staff.triggers.${str(d.trigger)}`) }),
      );
      break;
    }
    case 'migration.reauthorized':
      if (d.recovered === true) key = 'migration_reauthorized_recovered';
      p.extra = extra(str(d.allegroLogin) && h('allegroAccount', { login: str(d.allegroLogin) }));
      break;
    case 'migration.switched_back':
    case 'autoresponder.switched_back':
      Object.assign(p, { version: num(d.toVersion) ?? '?', to: state(d.to ?? d.migrationState) || '—' });
      p.extra = extra(num(d.templatesRestored) ? h('restored', { templates: templates(d.templatesRestored) }) : null);
      break;
    case 'migration.reviewed':
      p.extra = extra(jobId !== undefined && h('job', { id: jobId }));
      if (str(d.note)) key = 'migration_reviewed_note';
      p.note = str(d.note) ?? '';
      break;
    case 'staff.note':
      p.note = str(d.note) ?? '';
      break;
    case 'staff.recheck':
    case 'staff.remind_not_sent':
    case 'job.item.done':
    case 'job.item.failed':
    case 'job.item.skipped':
    case 'job.item.unknown':
    case 'job.item.cancelled':
    case 'job.item.retry':
      Object.assign(p, { outcome: outcomeText(t, str(d.outcome)), id: jobId ?? '?', kind: jobKind, attempt: num(d.attempt) ?? 1 });
      break;
    case 'reminder.sent':
    case 'reminder.resent':
      p.extra = extra(
        str(d.language) && h(`languages.${str(d.language)}`),
        num(d.autoresponders) !== undefined && h('autoresponders', { count: num(d.autoresponders) }),
        jobId !== undefined && h('job', { id: jobId }),
      );
      break;
    case 'reminder.uncertain':
      p.extra = extra(jobId !== undefined && h('job', { id: jobId }));
      break;
    case 'seller.created':
    case 'seller.updated':
    case 'autoresponder.created':
    case 'autoresponder.updated':
      Object.assign(p, { externalId: str(d.externalId) ?? '—', version: num(d.version) ?? '?', previous: num(d.previous) ?? '?' });
      break;
    case 'mailbox.created':
    case 'mailbox.servers_updated':
    case 'mailbox.secret_imported':
    case 'mailbox.detected':
    case 'mailbox.relinked':
    case 'mailbox.secret_deleted':
      Object.assign(p, {
        mailbox: str(d.email) ?? mailbox(e.targetId),
        provider: str(d.provider) ? t(`staff.providers.${str(d.provider)}`) : '—',
        rule: ruleName(t, str(d.rule)) || '—',
        imap: str(d.imapHost) ?? '—',
        smtp: str(d.smtpHost) ? `${str(d.smtpHost)}${num(d.smtpPort) ? `:${num(d.smtpPort)}` : ''}` : '—',
      });
      if (e.action === 'mailbox.secret_deleted') key = str(d.reason) === 'switched_v3' ? 'mailbox_secret_deleted_switch' : 'mailbox_secret_deleted';
      break;
    case 'allegro.authorized':
      if (d.mismatch === true && str(d.expectedLogin)) key = 'allegro_authorized_mismatch';
      Object.assign(p, { login: str(d.allegroLogin) ?? '—', expected: str(d.expectedLogin) ?? '—' });
      break;
    case 'allegro.account_confirmed':
    case 'allegro.authorization_discarded':
      p.login = str(d.allegroLogin) ?? '—';
      break;
    case 'allegro.authorization_invalid':
      p.reason = codeName(t, str(d.reason)) || '—';
      break;
    case 'staff.created':
    case 'staff.updated':
    case 'staff.role_changed':
      Object.assign(p, { email: str(d.email) ?? '—', role: str(d.role) ? t(`staff.roles.${str(d.role)}`) : '—', from: str(d.from) ? t(`staff.roles.${str(d.from)}`) : '—', to: str(d.to) ? t(`staff.roles.${str(d.to)}`) : '—' });
      break;
    case 'staff.export':
      p.count = num(d.total) ?? 0;
      break;
    case 'job.created':
    case 'job.started':
    case 'job.finished':
    case 'job.cancelled':
    case 'job.cancel_requested':
      Object.assign(p, { id: e.targetId ?? '?', kind: jobKind, count: num(d.total) ?? num(d.confirmed) ?? 0 });
      break;
    case 'watch.broke':
    case 'watch.recovered':
    case 'watch.problem_changed':
    case 'watch.notice_sent':
    case 'watch.notice_uncertain':
    case 'watch.notice_failed':
    case 'watch.notice_cancelled': {
      const reason = str(d.reason);
      p.reason = quote(reason ? (t(`reasons.${reason}`, { defaultValue: reason }) as string) : '—');
      p.error = codeName(t, str(d.error)) || '—';
      if (e.action === 'watch.recovered' && (d.resolution === 'migrated_again' || d.resolution === 'not_watched')) key = `watch_recovered_${d.resolution}`;
      p.extra = extra(
        e.action === 'watch.broke' && str(d.code) && codeName(t, str(d.code)),
        e.action === 'watch.broke' && (d.noticeWithIncident !== undefined ? h('watchNoticeShared') : h('watchNotice')),
        e.action === 'watch.notice_sent' && str(d.language) && h(`languages.${str(d.language)}`),
      );
      break;
    }
    case 'import.completed':
      Object.assign(p, { count: num(d.rows) ?? 0, imported: num(d.imported) ?? 0, updated: num(d.updated) ?? 0 });
      break;
  }
  const known = (HISTORY_ACTIONS as readonly string[]).includes(e.action);
  const sentence = known ? h(`events.${key}`, p) : h('events.unknown', { who, action: e.action });
  const jobHref = e.targetType === 'job' && e.targetId ? `/staff/jobs/${e.targetId}` : jobId !== undefined ? `/staff/jobs/${jobId}` : null;
  const raw = JSON.stringify({ action: e.action, actor: `${e.actorType}${e.actorId ? `:${e.actorId}` : ''}`, target: `${e.targetType}${e.targetId ? `:${e.targetId}` : ''}`, details: d });
  return { id: e.id, at: e.at, sentence, jobHref, raw };
}

/** Who did it, as the subject of a sentence: the seller, a named staff member, the system, an operator. */
function whoName(e: AuditEntry, t: TFunction, lookup: HistoryLookup): string {
  const h = (key: string, params: Record<string, unknown> = {}) => t(`staff.history.who.${key}`, params) as string;
  switch (e.actorType) {
    case 'seller':
      return h('seller');
    case 'staff': {
      const id = num(e.actorId);
      const email = id !== undefined ? lookup.staffEmail(id) : undefined;
      return email ? h('staff', { email }) : h('staffUnknown');
    }
    case 'cli':
      return h('cli');
    default:
      return e.actorId === 'demo' ? h('demo') : e.actorId === 'allegro' ? h('allegro') : e.actorId === 'watch' ? h('watch') : h('system');
  }
}

/** An outcome in words: a code's name, or a plain outcome (sent, reviewed…). */
export function outcomeText(t: TFunction, outcome: string | undefined): string {
  if (!outcome) return '—';
  return codeName(t, outcome);
}
