import type { FastifyPluginAsync } from 'fastify';
import { BadFilterError } from '../../errors.js';
import { parseListQuery } from '../../accounts/filter.js';
import { listModel } from '../../staff/list-page.js';
import { staffKit } from './common.js';

/** The accounts list (filters, search, keyset paging) and its CSV export. */
const accounts: FastifyPluginAsync = async (fastify) => {
  const { t, viewer, agent, staffId, staffPage } = staffKit(fastify);
  const { repos } = fastify.services;

  fastify.get('/staff/accounts', viewer, async (req, reply) => {
    const { filter, view, errors } = parseListQuery(req.query as Record<string, unknown>);
    const hasErrors = Object.keys(errors).length > 0;
    return staffPage(req, reply.code(hasErrors ? 400 : 200), 'accounts', { title: t(req)('staff.accounts.title'), view, errors, ...listModel(repos, filter, view, { selectAll: (req.query as Record<string, unknown>).select === 'page', lang: req.lang, moreErrors: ['inactive', 'stage', 'reached', 'cohort', 'reminded', 'broke'].some((k) => k in errors), foldErrors: Object.keys(errors).some((k) => k !== 'q') }) });
  });

  fastify.get('/staff/accounts.csv', agent, async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    const { filter, errors } = parseListQuery(query);
    // ?format=keys: the stable machine columns (snake_case, raw codes, UTC); otherwise the office file.
    const format = query.format === undefined ? 'office' : query.format === 'keys' ? 'keys' : null;
    if (Object.keys(errors).length || !format) throw new BadFilterError();
    const { filename, stream } = fastify.accountsExport.start(filter, staffId(req), { format, t: t(req), lang: req.lang });
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${filename}"`)
      .header('cache-control', 'no-store')
      .send(stream);
  });
};

export default accounts;
