import type { GoogleSimulatorConfig } from '../../config.js';
import type { MailRoutes, MailRouteTarget } from '../../mail/mail-route.js';
import { ensureSimulatorCertificates } from './certificates.js';

/**
 * The demo's routes: Google's mail hosts on their real ports → the Google simulator on loopback,
 * trusting only the simulator's CA. Nothing else is routed (other hosts are reached as configured).
 */
export function googleSimulatorRoutes(sim: Pick<GoogleSimulatorConfig, 'host' | 'imapPort' | 'smtpPort' | 'submissionPort'>, ca: string): MailRoutes {
  const to = (port: number): MailRouteTarget => ({ host: sim.host, port, ca });
  const routes = new Map<string, MailRouteTarget>();
  for (const domain of ['gmail.com', 'googlemail.com']) {
    routes.set(`imap.${domain}:993`, to(sim.imapPort));
    routes.set(`smtp.${domain}:465`, to(sim.smtpPort));
    routes.set(`smtp.${domain}:587`, to(sim.submissionPort));
  }
  return routes;
}

/** The routes for the configured simulator, trusting its CA (made now if the simulator has not run yet). */
export async function demoMailRoutes(sim: GoogleSimulatorConfig): Promise<MailRoutes> {
  return googleSimulatorRoutes(sim, (await ensureSimulatorCertificates(sim.dir)).ca);
}
