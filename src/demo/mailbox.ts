import type { OutgoingMail } from '../mail/mailer.js';

/** One e-mail the demo would have sent, as the seller would read it. */
export interface DemoMail extends OutgoingMail {
  /** When the app handed it over (ISO). */
  at: string;
}

/** The demo keeps this many e-mails, newest first: enough to show every e-mail of a walk through the demo. */
export const DEMO_MAILBOX_SIZE = 50;

/**
 * The demo's mailbox: the e-mails the app would have sent (sign-in links, reminders, the watch's),
 * kept in memory so the demo can show them and their links can be followed. Demo only: made by the
 * demo's wiring (demo/wiring.ts) and filled by the demo mailer, never by production code.
 */
export function createDemoMailbox(now: () => Date = () => new Date()) {
  const mails: DemoMail[] = [];
  return {
    add(mail: OutgoingMail): void {
      mails.unshift({ to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, at: now().toISOString() });
      if (mails.length > DEMO_MAILBOX_SIZE) mails.length = DEMO_MAILBOX_SIZE;
    },
    /** Newest first. */
    list(): readonly DemoMail[] {
      return mails;
    },
  };
}
export type DemoMailbox = ReturnType<typeof createDemoMailbox>;
