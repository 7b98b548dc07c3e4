import { randomUUID } from 'node:crypto';

/**
 * A token-endpoint failure in OAuth 2.0's shape as Entra ID answers it: `error` is OAuth's code, `aadsts` the Entra
 * ID code that clients (MSAL, azure-identity, az) print and scripts match on. Codes after Entra ID's published list.
 */
export class OAuthError extends Error {
  constructor(
    readonly statusCode: number,
    readonly error: string,
    readonly aadsts: number,
    message: string,
  ) {
    super(message);
    this.name = 'OAuthError';
  }
}

export const oauthErrors = {
  /** AADSTS900144: a required form field is absent (also what a body that is not a form ends as). */
  missingParameter: (name: string) =>
    new OAuthError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  /** AADSTS900144 too: a body that is not a form, or a field of the wrong shape. */
  malformedBody: (detail: string) =>
    new OAuthError(
      400,
      'invalid_request',
      900144,
      `The request body must be application/x-www-form-urlencoded and contain the following parameter: 'grant_type' (${detail}).`,
    ),
  /** AADSTS50000 (an issue with the sign-in service): our own failure, named by the request id the log holds. */
  /** AADSTS90033 (a transient error): a dependency of the token endpoint, such as the database, is down. */
  temporarilyUnavailable: (what: string) =>
    new OAuthError(503, 'temporarily_unavailable', 90033, `${what} is unavailable; retry later.`),
  serverError: (requestId: string) =>
    new OAuthError(500, 'server_error', 50000, `An unexpected error occurred (request ${requestId}).`),
  /** AADSTS7000218: client credentials without a secret. */
  missingSecret: () =>
    new OAuthError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ),
  /** AADSTS70003: a grant type this issuer does not support. */
  unsupportedGrantType: (grantType: string) =>
    new OAuthError(
      400,
      'unsupported_grant_type',
      70003,
      `The app requested an unsupported grant type '${grantType}'; this issuer supports client_credentials only.`,
    ),
  /** AADSTS700016: no application with this client id. */
  unknownClient: (clientId: string, tenantId: string) =>
    new OAuthError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenantId}'. Check the client id, or that the principal is configured (RV_PRINCIPALS).`,
    ),
  /** AADSTS7000215: the secret does not match. */
  invalidSecret: (clientId: string) =>
    new OAuthError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  /** AADSTS90002: the tenant in the path is not this service's. */
  unknownTenant: (tenant: string, error = 'invalid_request') =>
    new OAuthError(
      400,
      error,
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    ),
  /** AADSTS9001023: an app-only grant at /common, which names no tenant. */
  grantNotSupportedAtCommon: () =>
    new OAuthError(
      400,
      'invalid_request',
      9001023,
      'The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.',
    ),
};

/** Entra ID's timestamp format: `2023-06-11 13:40:19Z`. */
const timestampOf = (date: Date) => `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;

/**
 * The body Entra ID sends: the description repeats the trace id, correlation id and time, as clients print only it.
 * The correlation id is the caller's `client-request-id` when it sent one (MSAL does).
 */
export function oauthErrorBody(error: OAuthError, now: Date, clientRequestId: string | undefined) {
  const traceId = randomUUID();
  const correlationId =
    clientRequestId !== undefined && /^[\w-]{1,64}$/.test(clientRequestId) ? clientRequestId : randomUUID();
  const timestamp = timestampOf(now);
  return {
    error: error.error,
    error_description: `AADSTS${error.aadsts}: ${error.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: [error.aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${error.aadsts}`,
  };
}
