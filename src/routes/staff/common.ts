import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { formBody } from '../../plugins/forms.js';
import { hasRole } from '../../plugins/staff-auth.js';
import type { StaffRole } from '../../domain/model.js';

/** What every staff route shares: role guards, the page wrapper, the signed-in actor, forms' parts. */
export function staffKit(fastify: FastifyInstance) {
  /**
   * A role guard: signed in (else the sign-in page), then the role — refused on a page of the console's
   * own style (its menu, what the role may do, a way back), not the sellers' error page.
   */
  const guard = (role: StaffRole) => ({
    preHandler: [
      fastify.requireStaff('viewer'),
      async (req: FastifyRequest, reply: FastifyReply) => {
        if (req.staff && !hasRole(req.staff.role, role)) return forbidden(req, reply, role);
      },
    ],
  });
  const staffPage = (req: FastifyRequest, reply: FastifyReply, view: string, data: Record<string, unknown>) =>
    reply.page(`staff/${view}`, {
      ...data,
      staffArea: true,
      canAct: hasRole(req.staff!.role, 'agent'),
      isAdmin: hasRole(req.staff!.role, 'admin'),
      navCurrent: navSection(req.url),
      navExact: ['/staff', '/staff/', '/staff/accounts', '/staff/jobs', '/staff/users'].includes(req.url.split('?')[0]!),
    });
  const forbidden = (req: FastifyRequest, reply: FastifyReply, role: StaffRole) => {
    const t = fastify.i18n.t(req.lang);
    return staffPage(req, reply.code(403), 'forbidden', { title: t('staff.forbidden.title'), need: role, have: req.staff!.role, code: 'MIG_ERR_FORBIDDEN' });
  };
  return {
    t: (req: FastifyRequest) => fastify.i18n.t(req.lang),
    viewer: guard('viewer'),
    agent: guard('agent'),
    admin: guard('admin'),
    staffId: (req: FastifyRequest) => req.staff!.id,
    actor: (req: FastifyRequest) => ({ type: 'staff' as const, id: req.staff!.id }),
    /** The form's declared fields (see plugins/forms.ts). */
    body: (req: FastifyRequest) => formBody(req),
    staffPage,
  };
}

/** Which menu item a staff URL belongs to (marked with aria-current in the layout). */
export function navSection(url: string): 'overview' | 'accounts' | 'jobs' | 'users' | null {
  const p = url.split('?')[0]!;
  if (p === '/staff' || p === '/staff/') return 'overview';
  if (p.startsWith('/staff/accounts')) return 'accounts';
  if (p.startsWith('/staff/jobs')) return 'jobs';
  if (p.startsWith('/staff/users')) return 'users';
  return null;
}

export const NOTE_MAX = 2000;
export const idParam = z.object({ id: z.coerce.number().int().positive().max(2 ** 31) });
/** A staff note: newlines made uniform, control characters dropped, not empty. */
export const noteText = z
  .string()
  .max(NOTE_MAX)
  .transform((s) => s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim())
  .pipe(z.string().min(1));
