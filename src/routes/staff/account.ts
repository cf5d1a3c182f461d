import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../../errors.js';
import { accountModel, sellerHasSomethingToDo } from '../../staff/account-page.js';
import type { ActionOutcome } from '../../staff/actions.js';
import { sellerViewHtml } from '../../staff/seller-view.js';
import { formOf, NO_FIELDS } from '../../plugins/forms.js';
import { idParam, NOTE_MAX, noteText, staffKit } from './common.js';

/** One account: its page, and what an agent can do to it there. */
const account: FastifyPluginAsync = async (fastify) => {
  const { t, viewer, agent, actor, staffId, body, staffPage } = staffKit(fastify);
  const { repos } = fastify.services;
  const actions = fastify.staffActions;

  /** The seller's page model's options: "Co widzi sprzedawca" and "Co powiedzieć sprzedawcy" read the same. */
  const sellerPageOptions = () => ({ v3Available: fastify.allegro.configured, review: (id: number) => fastify.v3.review(id), deadline: fastify.config.migrationDeadline, now: fastify.services.now() });

  /** The autoresponder id from the URL, when it is on the list; otherwise 404. */
  const accountId = (req: FastifyRequest) => {
    const p = idParam.safeParse(req.params);
    if (!p.success || !repos.accounts.get(p.data.id)) throw new NotFoundError();
    return p.data.id;
  };

  const showAccount = (req: FastifyRequest, reply: FastifyReply, id: number, extra: Record<string, unknown> = {}) => {
    const model = accountModel(repos, actions, id, {
      t: t(req),
      lang: req.lang,
      i18n: fastify.i18n,
      publicUrl: fastify.config.publicUrl,
      deadline: fastify.config.migrationDeadline,
      overview: sellerPageOptions(),
    });
    return staffPage(req, reply, 'account', { title: `${model.seller.name} · ${t(req)('staff.account.title')}`, canonicalUrl: `/staff/accounts/${id}`, ...model, ...extra });
  };

  // A re-check says whether Google was asked again (a verdict younger than a minute is shown, not redone)
  // and, when the mailbox's login budget is used up, from when it can be tried.
  const afterAction = (reply: FastifyReply, id: number, action: string, o: ActionOutcome) => {
    const extra = o.detail === 'reused' ? '&reused=1' : o.outcome === 'MIG_ERR_TOO_MANY_ATTEMPTS' && o.detail && !Number.isNaN(Date.parse(o.detail)) ? `&until=${encodeURIComponent(o.detail)}` : '';
    return reply.redirect(`/staff/accounts/${id}?done=${action}&outcome=${encodeURIComponent(o.outcome)}${extra}#result`, 303);
  };

  fastify.get('/staff/accounts/:id', viewer, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const done = typeof q.done === 'string' && /^[a-z_]{1,40}$/.test(q.done) ? q.done : null;
    const outcome = typeof q.outcome === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(q.outcome) ? q.outcome : null;
    const reused = q.reused === '1';
    const until = typeof q.until === 'string' && /^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/.test(q.until) ? q.until : null;
    return showAccount(req, reply, accountId(req), { done, outcome, reused, until });
  });

  // What the seller sees on their migration page, read-only (no sign-in as the seller, no form that acts).
  fastify.get('/staff/accounts/:id/seller-view', viewer, async (req, reply) => {
    const id = accountId(req);
    const row = repos.accounts.get(id)!;
    const html = sellerViewHtml(fastify.renderFragment, repos, row.sellerId, {
      lang: req.lang,
      allegroConfigured: fastify.allegro.configured,
      overview: sellerPageOptions(),
    });
    const seller = repos.sellers.getById(row.sellerId)!;
    return staffPage(req, reply, 'seller-view', { title: `${t(req)('staff.sellerView.title')} · ${seller.name}`, seller, row, html, back: `/staff/accounts/${id}` });
  });

  // Sending again a reminder whose fate is unknown: a page that states the risk of a second e-mail, then the send.
  const uncertainReminder = (id: number) => {
    const r = repos.reminders.latestFor(repos.accounts.get(id)!.sellerId);
    return r?.status === 'unknown' ? r : null;
  };
  fastify.get('/staff/accounts/:id/resend', agent, async (req, reply) => {
    const id = accountId(req);
    const reminder = uncertainReminder(id);
    if (!reminder) return reply.redirect(`/staff/accounts/${id}?done=remind&outcome=not_uncertain#result`, 303);
    // Offered only while the seller has something to do (the send itself refuses it too: nothing_to_do).
    if (!sellerHasSomethingToDo(repos, repos.accounts.get(id)!.sellerId)) return reply.redirect(`/staff/accounts/${id}?done=remind&outcome=nothing_to_do#result`, 303);
    const row = repos.accounts.get(id)!;
    return staffPage(req, reply, 'resend', { title: t(req)('staff.resend.title', { name: row.sellerName }), row, reminder, back: `/staff/accounts/${id}` });
  });
  fastify.post('/staff/accounts/:id/resend', { ...agent, config: { form: formOf(null, 'reminder') } }, async (req, reply) => {
    const id = accountId(req);
    const reminderId = Number(body(req).reminder);
    if (!Number.isSafeInteger(reminderId) || reminderId < 1) return reply.redirect(`/staff/accounts/${id}/resend`, 303);
    return afterAction(reply, id, 'remind', await actions.resendUncertain(id, reminderId, staffId(req)));
  });

  fastify.post('/staff/accounts/:id/recheck', { ...agent, config: { form: NO_FIELDS } }, async (req, reply) => {
    const id = accountId(req);
    return afterAction(reply, id, 'recheck', await actions.recheckNow(id, staffId(req)));
  });

  fastify.post('/staff/accounts/:id/remind', { ...agent, config: { form: NO_FIELDS } }, async (req, reply) => {
    const id = accountId(req);
    return afterAction(reply, id, 'remind', await actions.remindNow(id, staffId(req)));
  });

  fastify.post('/staff/accounts/:id/note', { ...agent, config: { form: formOf(null, 'note') } }, async (req, reply) => {
    const id = accountId(req);
    const parsed = noteText.safeParse(body(req).note);
    if (!parsed.success) {
      const raw = typeof body(req).note === 'string' ? (body(req).note as string).slice(0, NOTE_MAX + 100) : '';
      return showAccount(req, reply.code(422), id, { noteError: raw.length > NOTE_MAX ? 'staff.account.errors.noteLong' : 'staff.account.errors.noteEmpty', noteValue: raw });
    }
    actions.note(id, parsed.data, actor(req));
    return reply.redirect(`/staff/accounts/${id}?done=note&outcome=ok#result`, 303);
  });

  fastify.post('/staff/accounts/:id/review', { ...agent, config: { form: formOf(null, 'note') } }, async (req, reply) => {
    const id = accountId(req);
    const raw = body(req).note;
    const parsed = raw === undefined || raw === '' ? { success: true as const, data: null } : noteText.safeParse(raw);
    if (!parsed.success) return showAccount(req, reply.code(422), id, { reviewError: 'staff.account.errors.noteLong' });
    return afterAction(reply, id, 'review', actions.review(id, parsed.data, actor(req)));
  });

  fastify.post('/staff/accounts/:id/reopen', { ...agent, config: { form: NO_FIELDS } }, async (req, reply) => {
    const id = accountId(req);
    return afterAction(reply, id, 'reopen', actions.reopen(id, actor(req)));
  });
};

export default account;
