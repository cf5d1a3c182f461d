import type { AppConfig } from '../config.js';
import type { MailRoutes } from '../mail/mail-route.js';
import { demoMailRoutes } from '../simulator/google/routes.js';
import { DEMO_APP_PASSWORD, formatAppPassword } from '../simulator/google/demo-passwords.js';
import { createDemoMailbox, type DemoMailbox } from './mailbox.js';

/**
 * What the demo plugs into the app: the demo's mailbox (the e-mails the app would have sent, readable
 * on /demo/mailbox), and when the Google simulator stands in for Gmail, the routes that send Google's
 * mail hosts to it and the app password the wizard names. Made by the process shell
 * (server.ts) and handed to the app at the composition root; production code never imports the
 * simulator itself.
 */
export interface DemoWiring {
  mailRoutes?: MailRoutes | undefined;
  /** The demo app password as Google shows it (four groups of four letters). */
  appPasswordHint?: string | undefined;
  /** The e-mails the demo would have sent (the demo mailer adds them; the demo mailbox page shows them). */
  mailbox?: DemoMailbox | undefined;
}

/** The demo's wiring for this configuration, or undefined outside the demo. */
export async function demoWiring(config: Pick<AppConfig, 'demo' | 'googleSimulator'>): Promise<DemoWiring | undefined> {
  if (!config.googleSimulator) return config.demo ? { mailbox: createDemoMailbox() } : undefined;
  return { mailRoutes: await demoMailRoutes(config.googleSimulator), appPasswordHint: formatAppPassword(DEMO_APP_PASSWORD), mailbox: config.demo ? createDemoMailbox() : undefined };
}
