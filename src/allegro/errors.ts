import type { AllegroErrorItem } from './schemas.js';
import { MigError, type ErrorCode } from '../errors.js';

/** Codes worth trying again later: Allegro did not answer, the request itself was fine. */
export const TRANSIENT_ALLEGRO_CODES: readonly string[] = ['MIG_ERR_ALLEGRO_UNAVAILABLE'];
export const isTransientAllegroCode = (code: string): boolean => TRANSIENT_ALLEGRO_CODES.includes(code);

/**
 * Errors from Allegro, with a stable code each. They carry what support needs (HTTP status, Allegro's
 * error codes and userMessage, the trace-id) and never a token or a request configuration: axios
 * errors hold the Authorization header, so they are never thrown or logged as they are.
 */
export class AllegroError extends MigError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly details: { status?: number; traceId?: string; path?: string } = {},
  ) {
    super(code);
    this.message = message;
    this.name = 'AllegroError';
  }
  get status() {
    return this.details.status;
  }
  get traceId() {
    return this.details.traceId;
  }
}

/** The OAuth server refused: invalid_grant (code or refresh token not valid), invalid_client, access_denied… */
export class AllegroOAuthError extends AllegroError {
  constructor(readonly error: string, readonly description: string | undefined, details: { status?: number; traceId?: string; path?: string } = {}) {
    super('MIG_ERR_ALLEGRO_OAUTH', `Allegro OAuth error: ${error}`, details);
    this.name = 'AllegroOAuthError';
  }
}

/** An API call answered 401: the access token is expired or revoked (invalid_token) or missing. */
export class AllegroTokenError extends AllegroError {
  constructor(readonly error: string, details: { status?: number; traceId?: string; path?: string } = {}) {
    super('MIG_ERR_ALLEGRO_TOKEN', `Allegro rejected the access token: ${error}`, details);
    this.name = 'AllegroTokenError';
  }
}

/** Any other error answer of the REST API, with Allegro's own error list. */
export class AllegroApiError extends AllegroError {
  constructor(readonly errors: AllegroErrorItem[], details: { status?: number; traceId?: string; path?: string }) {
    super('MIG_ERR_ALLEGRO_API', `Allegro API error ${details.status ?? ''}: ${errors.map((e) => e.code).filter(Boolean).join(', ') || 'no error code'}`, details);
    this.name = 'AllegroApiError';
  }
  /** The first message Allegro meant for the user, if any. */
  get userMessage(): string | undefined {
    return this.errors.find((e) => e.userMessage)?.userMessage;
  }
}

/** Allegro could not be reached in time (network, DNS, timeout). */
export class AllegroUnavailableError extends AllegroError {
  constructor(reason: string, details: { path?: string } = {}) {
    super('MIG_ERR_ALLEGRO_UNAVAILABLE', `Allegro is not reachable: ${reason}`, details);
    this.name = 'AllegroUnavailableError';
  }
}

/** Allegro answered 2xx with a body that does not match the contract. */
export class AllegroResponseError extends AllegroError {
  constructor(reason: string, details: { status?: number; traceId?: string; path?: string } = {}) {
    super('MIG_ERR_ALLEGRO_RESPONSE', `Unexpected answer from Allegro: ${reason}`, details);
    this.name = 'AllegroResponseError';
  }
}

/** The authorization cannot be used any more (refresh token rejected): the seller must authorize again. */
export class AuthorizationInvalidError extends AllegroError {
  constructor(readonly authorizationId: number) {
    super('MIG_ERR_AUTHORIZE_AGAIN', `Allegro authorization ${authorizationId} is no longer valid`);
    this.name = 'AuthorizationInvalidError';
  }
}
