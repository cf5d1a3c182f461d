import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { NotFoundError } from '../../errors.js';
import { describeFilter, LIST_QUERY_FIELDS, listUrl, parseListQuery } from '../../accounts/filter.js';
import { formOf, NO_FIELDS } from '../../plugins/forms.js';
import { hiddenFields } from '../../staff/list-page.js';
import { JOB_KINDS, type JobKind } from '../../domain/model.js';
import { idParam, NOTE_MAX, noteText, staffKit } from './common.js';

const idList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string().regex(/^\d{1,10}$/).transform(Number)).max(1000));
const bulkForm = z.object({
  action: z.enum(JOB_KINDS),
  scope: z.enum(['selected', 'all', 'failed']),
  /** With scope "failed": the job whose failed items are tried again. */
  retryOf: z.string().regex(/^\d{1,10}$/).transform(Number).optional(),
  ids: idList.optional(),
  note: z.string().max(NOTE_MAX).optional(),
  confirmedCount: z.string().regex(/^\d{1,7}$/).transform(Number).optional(),
  /** "Wyślij ponownie niepewne": a reminder job over the uncertain ones that resends each seller's newest reminder. */
  resend: z.literal('1').optional(),
});

/** The confirmation page's one-time key (crypto.randomUUID): one job per page, however often it is sent. */
const confirmationKey = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

/** A bulk form: the action and selection, the list's filter carried in hidden fields, and (when confirmed) the page's key. */
const bulkFields = formOf(bulkForm, ...LIST_QUERY_FIELDS, 'confirmationKey');

/** Bulk jobs: confirm (the exact count), start, follow, cancel. */
const jobs: FastifyPluginAsync = async (fastify) => {
  const { t, viewer, agent, staffId, body, staffPage } = staffKit(fastify);
  const { repos } = fastify.services;
  const jobService = fastify.jobService;

  /** The list's filter, from the hidden fields that came with a bulk form. */
  const formFilter = (b: Record<string, unknown>) => parseListQuery(b).filter;

  function bulkSelection(req: FastifyRequest) {
    const b = body(req);
    const parsed = bulkForm.safeParse(b);
    if (!parsed.success) return { ok: false as const, field: String(parsed.error.issues[0]?.path[0] ?? 'action') };
    if (parsed.data.scope === 'failed') {
      // "Ponów nieudane": the failed items of a finished job become a new job of the same kind (and
      // go through the same confirmation, limits and audit as any other).
      const retried = jobService.failedOf(parsed.data.retryOf ?? 0);
      if (!retried) return { ok: false as const, field: 'retryOf' };
      return { ok: true as const, data: { ...parsed.data, action: retried.kind }, filter: {}, ids: retried.ids, count: retried.ids.length, retryOf: retried.jobId };
    }
    const filter = formFilter(b);
    // A resend is only of reminders nobody knows arrived, confirmed as such.
    if (parsed.data.resend && (parsed.data.action !== 'remind' || filter.reminder !== 'uncertain')) return { ok: false as const, field: 'action' };
    const ids = parsed.data.scope === 'selected' ? repos.accounts.listedIds([...new Set(parsed.data.ids ?? [])]) : null;
    if (ids && ids.length === 0) return { ok: false as const, field: 'ids' };
    const count = ids ? ids.length : repos.accounts.count(filter);
    return { ok: true as const, data: parsed.data, filter, ids, count, retryOf: null };
  }

  const bulkError = (req: FastifyRequest, reply: FastifyReply, field: string) =>
    staffPage(req, reply.code(422), 'bulk-error', { title: t(req)('staff.bulk.errorTitle'), message: `staff.bulk.errors.${['ids', 'action', 'scope', 'note', 'confirmedCount', 'retryOf'].includes(field) ? field : 'action'}`, back: listUrl('/staff/accounts', formFilter(body(req)), {}) });

  type Selection = Extract<ReturnType<typeof bulkSelection>, { ok: true }>;
  /** The confirmation page: the exact count, what will happen, and the selection carried in hidden fields. */
  const confirmPage = (req: FastifyRequest, reply: FastifyReply, s: Selection, values = { note: '' }, errors: Record<string, string> = {}) => {
    // A review marks only what the state table allows (not a migration that works): the page says how many.
    const acting = s.data.action === 'review' ? Math.min(s.count, jobService.reviewable(s.ids, s.filter)) : s.count;
    return staffPage(req, reply, 'confirm', {
      title: t(req)(s.data.resend ? 'staff.bulk.confirm.resend' : `staff.bulk.confirm.${s.data.action}`, { count: acting }),
      action: s.data.action,
      scope: s.data.scope,
      resend: !!s.data.resend,
      count: s.count,
      acting,
      skipped: s.count - acting,
      // A new key for every page shown: the job is made once per page, whatever reaches the server twice.
      confirmationKey: randomUUID(),
      ids: s.retryOf ? null : s.ids,
      retryOf: s.retryOf,
      // The accounts themselves, not only their number: the first 50 by name, and how many more.
      ...confirmList(s),
      filterHidden: hiddenFields(s.filter),
      filterText: describeFilter(s.filter, t(req)),
      back: s.retryOf ? `/staff/jobs/${s.retryOf}` : listUrl('/staff/accounts', s.filter, {}),
      values,
      errors,
    });
  };

  const CONFIRM_SHOWN = 50;
  const confirmList = (s: Selection) => {
    const rows = s.ids ? s.ids.slice(0, CONFIRM_SHOWN).map((id) => repos.accounts.get(id)).filter((r) => r !== undefined) : repos.accounts.page(s.filter, { sort: 'name', dir: 'asc', size: CONFIRM_SHOWN, page: 1 }).rows;
    return { accounts: rows.map((r) => ({ ...r, href: `/staff/accounts/${r.autoresponderId}` })), more: Math.max(0, s.count - rows.length) };
  };

  // Step 1: the agent picked rows or "all matching"; this page states the exact count and asks to confirm.
  fastify.post('/staff/jobs/confirm', { ...agent, config: { form: bulkFields } }, async (req, reply) => {
    const s = bulkSelection(req);
    if (!s.ok) return bulkError(req, reply, s.field);
    return confirmPage(req, reply, s);
  });

  // Step 2: confirmed. The job is stored; the runner takes it from the database.
  fastify.post('/staff/jobs', { ...agent, config: { form: bulkFields } }, async (req, reply) => {
    const s = bulkSelection(req);
    if (!s.ok) return bulkError(req, reply, s.field);
    let note: string | null = null;
    if (s.data.action === 'review') {
      const n = noteText.safeParse(s.data.note ?? '');
      if (!n.success) {
        const typed = typeof s.data.note === 'string' ? s.data.note : '';
        return confirmPage(req, reply.code(422), s, { note: typed }, { note: typed.length > NOTE_MAX ? 'staff.account.errors.noteLong' : 'staff.bulk.errors.note' });
      }
      note = n.data;
    }
    if (s.data.confirmedCount === undefined) return bulkError(req, reply, 'confirmedCount');
    const key = confirmationKey.safeParse(body(req).confirmationKey);
    if (!key.success) return confirmPage(req, reply.code(422), s, { note: note ?? '' }, { confirmationKey: 'staff.bulk.errors.confirmationKey' });
    // A key already used (a double click, the same page sent again) makes no second job: both answers lead to the first.
    const job = jobService.create({ kind: s.data.action as JobKind, ids: s.ids, filter: s.filter, confirmedCount: s.data.confirmedCount, note, scope: s.data.scope, retryOf: s.retryOf, confirmationKey: key.data, resend: !!s.data.resend }, staffId(req));
    return reply.redirect(`/staff/jobs/${job.id}`, 303);
  });

  fastify.get('/staff/jobs', viewer, async (req, reply) => staffPage(req, reply, 'jobs', { title: t(req)('staff.jobs.title'), jobs: jobService.recent(50) }));

  fastify.get('/staff/jobs/:id', viewer, async (req, reply) => {
    const p = idParam.safeParse(req.params);
    const job = p.success ? jobService.get(p.data.id) : undefined;
    if (!job) throw new NotFoundError();
    const problems = repos.jobs.problems(job.id).map((i) => ({ ...i, account: repos.accounts.get(i.autoresponderId), uncertain: i.status === 'unknown' && job.kind === 'remind' }));
    return staffPage(req, reply, 'job', {
      title: t(req)(`staff.jobs.kind.${job.kind}`) + ` #${job.id}`,
      job,
      outcomes: repos.jobs.outcomes(job.id),
      problems,
      retryable: job.active ? 0 : (jobService.failedOf(job.id)?.ids.length ?? 0),
      retriedBy: jobService.retriedBy(job.id),
      retryOf: jobService.retryOfJob(job.id),
      // While the job runs: a link to refresh, which a script follows every few seconds (no meta refresh:
      // a page that reloads itself by the clock takes the agent's place and focus away).
      refreshEvery: job.active ? 3 : null,
    });
  });

  fastify.post('/staff/jobs/:id/cancel', { ...agent, config: { form: NO_FIELDS } }, async (req, reply) => {
    const p = idParam.safeParse(req.params);
    if (!p.success || !repos.jobs.get(p.data.id)) throw new NotFoundError();
    jobService.cancel(p.data.id, staffId(req));
    return reply.redirect(`/staff/jobs/${p.data.id}`, 303);
  });
};

export default jobs;
