import type { FastifyPluginAsync } from 'fastify';
import { NO_APP_PASSWORDS_CAUSES } from '../app-password/wizard-page.js';

/** A text's lines with this app's own links made followable (a demo e-mail's plain text). */
function linkedLines(text: string, publicUrl: string): { parts: { text: string; href?: string }[] }[] {
  const url = /https?:\/\/\S+/g;
  return text.split('\n').map((line) => {
    const parts: { text: string; href?: string }[] = [];
    let last = 0;
    for (const m of line.matchAll(url)) {
      if (m.index > last) parts.push({ text: line.slice(last, m.index) });
      // Only this app's own links are made links: the demo mailbox never leads elsewhere.
      parts.push(m[0].startsWith(`${publicUrl}/`) ? { text: m[0], href: m[0] } : { text: m[0] });
      last = m.index + m[0].length;
    }
    if (last < line.length || parts.length === 0) parts.push({ text: line.slice(last) });
    return { parts };
  });
}

/** The public pages: the start page and the help page (who runs the service, the password, getting unstuck, contact). */
const home: FastifyPluginAsync = async (fastify) => {
  // No counts of affected accounts here: internal statistics are for staff, not for a public page.
  fastify.get('/', async (request, reply) => reply.page('home', { title: fastify.i18n.t(request.lang)('home.title') }));

  fastify.get('/help', async (request, reply) =>
    reply.page('help', { title: fastify.i18n.t(request.lang)('help.title'), causes: NO_APP_PASSWORDS_CAUSES }),
  );

  // Demo only: the e-mails the app would have sent (sign-in links, reminders, the watch's), readable
  // here so their links can be followed. The demo's wiring makes the mailbox; production has none.
  const mailbox = fastify.demo?.mailbox;
  if (mailbox) {
    fastify.get('/demo/mailbox', async (request, reply) =>
      reply.header('cache-control', 'no-store').page('demo-mailbox', {
        title: fastify.i18n.t(request.lang)('demoMailbox.title'),
        mails: mailbox.list().map((m) => ({ to: m.to, subject: m.subject, at: m.at, lines: linkedLines(m.text, fastify.config.publicUrl) })),
      }),
    );
  }
};
export default home;
