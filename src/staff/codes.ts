import type { TFunction } from 'i18next';
import { ATTENTION_REASONS } from '../migration/states.js';
import { MAIL_CHECK_CODES } from '../mail/classify.js';
import { isErrorCode } from '../errors.js';

/** Error codes Allegro's OAuth server answers with (RFC 6749 §5.2, and invalid_token from RFC 6750). */
export const OAUTH_CODES = ['invalid_grant', 'invalid_token', 'invalid_client', 'unauthorized_client', 'invalid_request', 'invalid_scope', 'unsupported_grant_type', 'access_denied'] as const;

/** Outcomes of staff actions and job items that are not errors (sent, reviewed, recently_reminded…). */
export const OUTCOME_WORDS = ['ok', 'sent', 'reviewed', 'reopened', 'recently_reminded', 'already_in_job', 'nothing_to_do', 'already_reviewed', 'already_works', 'not_allowed', 'not_reviewed', 'not_uncertain'] as const;

const has = (list: readonly string[], v: string) => list.includes(v);

/**
 * The catalog key of a code's name, for staff pages: every code the console shows (a registered
 * MIG_ERR_*, a mail check's MAIL_*, Allegro's OAuth errors, an attention reason, an action's outcome)
 * is shown by its name, with the code itself small beside it for searching the logs. Null for a
 * code nobody named (shown as it is).
 */
export function codeKey(code: string | null | undefined): string | null {
  if (!code) return null;
  if (isErrorCode(code)) return `errorCodes.${code}`;
  if (has(MAIL_CHECK_CODES, code) || has(OAUTH_CODES, code)) return `staff.codeNames.${code}`;
  if (has(ATTENTION_REASONS, code)) return `reasons.${code}`;
  if (has(OUTCOME_WORDS, code)) return `staff.outcomes.${code}`;
  return null;
}

/** A code's name in the agent's language, or the code itself when it has none. */
export function codeName(t: TFunction, code: string | null | undefined): string {
  if (!code) return '';
  const key = codeKey(code);
  return key ? (t(key) as string) : code;
}

/** A detection rule's short name for staff (the seller pages explain rules in a sentence). */
export function ruleName(t: TFunction, rule: string | null | undefined): string {
  if (!rule) return '';
  const key = `staff.ruleNames.${rule}`;
  const text = t(key) as string;
  return text === key ? rule : text;
}
