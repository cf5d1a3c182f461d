import type { Mailer, OutgoingMail } from '../mail/mailer.js';

/**
 * What the SMTP relay's answer means for a message that did not go out. 5xx is the server's final
 * word (no such mailbox, policy refusal): sending it again gives the same answer, so it is not
 * retried and the outcome says so. 4xx (greylisting, a full queue) and network failures are
 * temporary: tried again later with backoff. Not configured is permanent too.
 */
export type SendFailure = { permanent: boolean; code: 'MIG_ERR_SEND_REFUSED' | 'MIG_ERR_SEND_FAILED' | 'MIG_ERR_MAIL_NOT_CONFIGURED'; message: string };

export function classifySendError(err: unknown): SendFailure {
  const e = (err ?? {}) as { code?: unknown; responseCode?: unknown; message?: unknown; response?: unknown };
  const message = (typeof e.response === 'string' && e.response) || (typeof e.message === 'string' && e.message) || 'send failed';
  const short = message.replace(/\s+/g, ' ').slice(0, 200);
  if (e.code === 'MIG_ERR_MAIL_NOT_CONFIGURED') return { permanent: true, code: 'MIG_ERR_MAIL_NOT_CONFIGURED', message: short };
  const rc = typeof e.responseCode === 'number' ? e.responseCode : Number(/^([45])\d\d\b/.exec(short)?.[0] ?? NaN);
  if (rc >= 500 && rc < 600) return { permanent: true, code: 'MIG_ERR_SEND_REFUSED', message: short };
  return { permanent: false, code: 'MIG_ERR_SEND_FAILED', message: short };
}

/** The outcome of one delivery. */
export type Delivery = { status: 'sent' } | { status: 'unknown'; message: string } | ({ status: 'failed' } & SendFailure);

/**
 * A kind of durable e-mail (reminders, the watch's e-mails): its rows are written 'sending' before
 * the delivery starts; the outbox moves a row to 'committing' just before the end of the message and
 * settles it after. The kind says how its rows are found and settled after a crash.
 */
export interface DurableKind {
  name: string;
  /** Rows left 'sending' or 'committing' by a stop. */
  interrupted(): { id: number; status: 'sending' | 'committing' }[];
  /** Never accepted by the server (the stop came before the end of the message): may be sent again. */
  again(id: number, why: string): void;
  /** Maybe accepted (the stop came after the end of the message): never sent again, reported. */
  uncertain(id: number, why: string): void;
}

/** An e-mail for the operators' figures (/metrics): sent, refused for good, to be retried, or uncertain. */
export type MailCount = { kind: string; outcome: 'sent' | 'refused' | 'retried' | 'uncertain' };

/** Backoff for a temporary refusal: doubling from `base`, at most `max`. */
export function retryDelayMs(attempt: number, base = 2 * 60_000, max = 60 * 60_000): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1));
}

/**
 * The one durable e-mail: every message the app sends (sign-in links, reminders, the watch's
 * e-mails) goes through deliver(), under one protocol:
 *   sending → committing → sent | unknown, or failed (permanent or temporary).
 * The server can accept a message only at the final "." of DATA, so the 'committing' mark, made just
 * before it, splits a crash in two: before it the message was certainly not accepted and may go again;
 * after it it may have been, and it is never sent again (reported as uncertain). A kind's rows are
 * recovered after a stop in one place, recover(). "How is a reminder never sent twice?": here.
 */
export interface Outbox {
  readonly mode: Mailer['mode'];
  deliver(mail: OutgoingMail, track: { commit: () => void; committed: () => boolean }, kind?: string): Promise<Delivery>;
  as(kind: string): Outbox;
  recover(): Record<string, { again: number; uncertain: number }>;
  register(kind: DurableKind): void;
}

export function createOutbox(deps: { mailer: Mailer; kinds?: DurableKind[]; count?: (mail: MailCount) => void }): Outbox {
  const kinds = deps.kinds ?? [];
  const counted = (kind: string, d: Delivery): Delivery => {
    deps.count?.({ kind, outcome: d.status === 'sent' ? 'sent' : d.status === 'unknown' ? 'uncertain' : d.permanent ? 'refused' : 'retried' });
    return d;
  };
  const outbox: Outbox = {
    get mode() {
      return deps.mailer.mode;
    },
    /**
     * Sends one message. `commit` is called synchronously just before the end of the message (mark
     * the row 'committing' there), `committed` tells afterwards whether it was. Never throws for the
     * relay's answers: the delivery's outcome says what happened.
     */
    async deliver(mail: OutgoingMail, track: { commit: () => void; committed: () => boolean }, kind = 'other'): Promise<Delivery> {
      try {
        await deps.mailer.sendTracked(mail, track.commit);
        return counted(kind, { status: 'sent' });
      } catch (err) {
        const failure = classifySendError(err);
        // The end of the message went out and no answer came (a timeout, a dropped connection): it may
        // have been delivered. An answer to the end of DATA (4xx, 5xx) says it was not accepted.
        const answered = typeof (err as { responseCode?: unknown } | null)?.responseCode === 'number';
        if (track.committed() && !answered) return counted(kind, { status: 'unknown', message: failure.message });
        return counted(kind, { status: 'failed', ...failure });
      }
    },
    /** The same outbox, its e-mails counted as `kind` (sign_in, reminder, watch): given to each sender at the composition root. */
    as(kind: string): Outbox {
      return { ...outbox, mode: outbox.mode, deliver: (mail, track) => outbox.deliver(mail, track, kind) };
    },
    /** After a stop, before anything is sent: every kind's interrupted rows settled. */
    recover(): Record<string, { again: number; uncertain: number }> {
      const out: Record<string, { again: number; uncertain: number }> = {};
      for (const k of kinds) {
        const counts = { again: 0, uncertain: 0 };
        for (const r of k.interrupted()) {
          if (r.status === 'sending') {
            k.again(r.id, 'interrupted before the end of the message');
            counts.again++;
          } else {
            k.uncertain(r.id, 'interrupted after the end of the message was sent');
            counts.uncertain++;
          }
        }
        out[k.name] = counts;
      }
      return out;
    },
    /** Adds a durable kind (at the composition root, before recover()). */
    register(kind: DurableKind): void {
      kinds.push(kind);
    },
  };
  return outbox;
}
