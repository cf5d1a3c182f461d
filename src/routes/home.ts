import type { FastifyPluginAsync } from 'fastify';
import { NO_APP_PASSWORDS_CAUSES } from '../app-password/wizard-page.js';

/** The public pages: the start page and the help page (who runs the service, the password, getting unstuck, contact). */
const home: FastifyPluginAsync = async (fastify) => {
  // No counts of affected accounts here: internal statistics are for staff, not for a public page.
  fastify.get('/', async (request, reply) => reply.page('home', { title: fastify.i18n.t(request.lang)('home.title') }));

  fastify.get('/help', async (request, reply) =>
    reply.page('help', { title: fastify.i18n.t(request.lang)('help.title'), causes: NO_APP_PASSWORDS_CAUSES }),
  );
};
export default home;
