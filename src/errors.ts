import createError from '@fastify/error';

/**
 * Every domain error carries a stable, greppable code (MIG_ERR_*). Logs, tests and the UI branch on
 * `err.code`, never on message text. Messages are for operators (English); what a person sees is
 * looked up in the i18n catalogs by code.
 */
export const IllegalTransitionError = createError(
  'MIG_ERR_ILLEGAL_TRANSITION',
  'Migration cannot go from "%s" by "%s"',
  409,
);
export const TransitionReasonError = createError(
  'MIG_ERR_TRANSITION_REASON',
  'Transition "%s" needs a reason code',
  400,
);
export const SecretKeyError = createError('MIG_ERR_SECRET_KEY', 'Encryption key problem: %s', 500);
export const SecretFormatError = createError('MIG_ERR_SECRET_FORMAT', 'Stored secret is not in a known format', 500);
export const SecretUnknownKeyError = createError(
  'MIG_ERR_SECRET_UNKNOWN_KEY',
  'Stored secret was encrypted with key %s, which is not configured',
  500,
);
export const SecretDecryptError = createError(
  'MIG_ERR_SECRET_DECRYPT',
  'Stored secret failed authentication (tampered, or wrong key)',
  500,
);
export const ImportFileError = createError('MIG_ERR_IMPORT_FILE', '%s', 422);
export const NotFoundError = createError('MIG_ERR_NOT_FOUND', 'Not found', 404);
export const DatabaseUnavailableError = createError('MIG_ERR_DB_UNAVAILABLE', 'Database is not usable: %s', 503);
export const DemoDataError = createError('MIG_ERR_DEMO_DATA', 'Demo data is invalid: %s', 500);

/** Returns the MIG_ERR_* code of an error, or undefined for anything else. */
export function migErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('MIG_ERR_') ? code : undefined;
}
