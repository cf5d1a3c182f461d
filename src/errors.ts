import { format } from 'node:util';

/**
 * The one registry of error codes. Every code the app raises, records as an outcome or shows on a
 * page is listed here with its HTTP status and an operator message (English, for logs; %s are filled
 * from the arguments). What a person reads is the catalogs' text for the code (`errorCodes.<CODE>`
 * in src/i18n/pl.json and en.json); test/unit/error-codes.test.ts checks that every code has both
 * texts and that every MIG_ERR_* written anywhere in src/ is registered.
 */
export const ERROR_CODES = {
  // The state machine
  MIG_ERR_ILLEGAL_TRANSITION: { status: 409, message: 'Migration cannot go from "%s" by "%s"' },
  MIG_ERR_TRANSITION_REASON: { status: 400, message: 'Transition "%s" needs a reason code' },
  // Keys and stored secrets
  MIG_ERR_SECRET_KEY: { status: 500, message: 'Encryption key problem: %s' },
  MIG_ERR_SECRET_FORMAT: { status: 500, message: 'Stored secret is not in a known format' },
  MIG_ERR_SECRET_UNKNOWN_KEY: { status: 500, message: 'Stored secret was encrypted with key %s, which is not configured' },
  MIG_ERR_SECRET_DECRYPT: { status: 500, message: 'Stored secret failed authentication (tampered, or wrong key)' },
  // Start-up, import and demo
  MIG_ERR_CONFIG: { status: 500, message: 'Configuration is invalid: %s' },
  MIG_ERR_IMPORT_FILE: { status: 422, message: '%s' },
  MIG_ERR_DEMO_DATA: { status: 500, message: 'Demo data is invalid: %s' },
  // Requests
  MIG_ERR_NOT_FOUND: { status: 404, message: 'Not found' },
  MIG_ERR_BAD_FILTER: { status: 400, message: 'The list filter is not valid' },
  MIG_ERR_SIGNED_OUT: { status: 401, message: 'Not signed in' },
  MIG_ERR_STAFF_SIGNED_OUT: { status: 401, message: 'Not signed in to the staff console' },
  MIG_ERR_FORBIDDEN: { status: 403, message: 'The staff role does not allow this' },
  MIG_ERR_INTERNAL: { status: 500, message: 'Internal error: %s' },
  // The app-password path and re-checks
  MIG_ERR_TOO_MANY_ATTEMPTS: { status: 429, message: 'Too many verifications of this mailbox; wait until %s' },
  MIG_ERR_NO_SECRET: { status: 409, message: 'No mailbox password is stored' },
  MIG_ERR_CHANGED_DURING_CHECK: { status: 409, message: 'The mailbox password changed while it was being checked' },
  MIG_ERR_CHECK_INTERRUPTED: { status: 500, message: 'The process stopped during this connection check' },
  // Outgoing mail
  MIG_ERR_MAIL_NOT_CONFIGURED: { status: 503, message: 'Outgoing mail is not configured (SMTP_URL)' },
  MIG_ERR_SEND_FAILED: { status: 502, message: 'The mail server did not accept the message for now (tried again later): %s' },
  MIG_ERR_SEND_REFUSED: { status: 502, message: 'The mail server refused the message for good (not tried again): %s' },
  MIG_ERR_SEND_UNCERTAIN: { status: 502, message: 'Unknown whether the mail server accepted the message: %s' },
  // Allegro (statuses as these were answered before the registry: a raw Allegro failure is a 500)
  MIG_ERR_ALLEGRO_NOT_CONFIGURED: { status: 500, message: 'ALLEGRO_CLIENT_ID and ALLEGRO_CLIENT_SECRET are not set' },
  MIG_ERR_ALLEGRO_OAUTH: { status: 500, message: 'Allegro OAuth error: %s' },
  MIG_ERR_ALLEGRO_TOKEN: { status: 500, message: 'Allegro rejected the access token: %s' },
  MIG_ERR_ALLEGRO_API: { status: 500, message: 'Allegro API error %s' },
  MIG_ERR_ALLEGRO_UNAVAILABLE: { status: 500, message: 'Allegro is not reachable: %s' },
  MIG_ERR_ALLEGRO_RESPONSE: { status: 500, message: 'Unexpected answer from Allegro: %s' },
  MIG_ERR_AUTHORIZE_AGAIN: { status: 500, message: 'Allegro authorization %s is no longer valid' },
  MIG_ERR_OAUTH_CALLBACK: { status: 400, message: 'The return from Allegro could not be accepted: %s' },
} as const satisfies Record<`MIG_ERR_${string}`, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && Object.hasOwn(ERROR_CODES, v);
}

/**
 * The one way to raise a registered error: `new MigError(code, ...args)` or a named class from
 * `defineError`. It carries the code, the HTTP status for the error handler, and the operator message.
 */
export class MigError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  constructor(code: ErrorCode, ...args: unknown[]) {
    const def = ERROR_CODES[code];
    super(args.length ? format(def.message, ...args) : def.message);
    this.name = 'MigError';
    this.code = code;
    this.statusCode = def.status;
  }
}

/** A named error class for one code, for `instanceof` checks and short `new NotFoundError()` calls. */
export function defineError(code: ErrorCode) {
  return class extends MigError {
    constructor(...args: unknown[]) {
      super(code, ...args);
    }
  };
}

export const IllegalTransitionError = defineError('MIG_ERR_ILLEGAL_TRANSITION');
export const TransitionReasonError = defineError('MIG_ERR_TRANSITION_REASON');
export const SecretKeyError = defineError('MIG_ERR_SECRET_KEY');
export const SecretFormatError = defineError('MIG_ERR_SECRET_FORMAT');
export const SecretUnknownKeyError = defineError('MIG_ERR_SECRET_UNKNOWN_KEY');
export const SecretDecryptError = defineError('MIG_ERR_SECRET_DECRYPT');
export const ImportFileError = defineError('MIG_ERR_IMPORT_FILE');
export const NotFoundError = defineError('MIG_ERR_NOT_FOUND');
export const DemoDataError = defineError('MIG_ERR_DEMO_DATA');
export const BadFilterError = defineError('MIG_ERR_BAD_FILTER');
export const MailNotConfiguredError = defineError('MIG_ERR_MAIL_NOT_CONFIGURED');

/** Returns the MIG_ERR_* code of an error, or undefined for anything else. */
export function migErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('MIG_ERR_') ? code : undefined;
}
