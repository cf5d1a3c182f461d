import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError } from '../../errors.js';
import { accountModel } from '../../staff/account-page.js';
import type { ActionOutcome } from '../../staff/actions.js';
import { formOf, NO_FIELDS } from '../../plugins/forms.js';
import { idParam, NOTE_MAX, noteText, staffKit } from './common.js';

/** One account: its page, and what an agent can do to it there. */
const account: FastifyPluginAsync = async (fastify) => {
  const { t, viewer, agent, actor, staffId, body, staffPage } = staffKit(fastify);
  const { repos } = fastify.services;
  const actions = fastify.staffActions;

  /** The autoresponder id from the URL, when it is on the list; otherwise 404. */
  const accountId = (req: FastifyRequest) => {
    const p = idParam.safeParse(req.params);
    if (!p.success || !repos.accounts.get(p.data.id)) throw new NotFoundError();
    return p.data.id;
  };

  const showAccount = (req: FastifyRequest, reply: FastifyReply, id: number, extra: Record<string, unknown> = {}) => {
    const model = accountModel(repos, actions, id);
    return staffPage(req, reply, 'account', { title: `${model.seller.name} · ${t(req)('staff.account.title')}`, canonicalUrl: `/staff/accounts/${id}`, ...model, ...extra });
  };

  const afterAction = (reply: FastifyReply, id: number, action: string, o: ActionOutcome) =>
    reply.redirect(`/staff/accounts/${id}?done=${action}&outcome=${encodeURIComponent(o.outcome)}#result`, 303);

  fastify.get('/staff/accounts/:id', viewer, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const done = typeof q.done === 'string' && /^[a-z_]{1,40}$/.test(q.done) ? q.done : null;
    const outcome = typeof q.outcome === 'string' && /^[A-Za-z0-9_]{1,64}$/.test(q.outcome) ? q.outcome : null;
    return showAccount(req, reply, accountId(req), { done, outcome });
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
