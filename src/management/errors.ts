import {
  codeOf,
  ConclaveError,
  errorMaker,
  messageOf,
  restAnswerOf,
  RestCodes,
  type ErrorCode,
  type RestAnswer,
  type RestCode,
  type RestErrorBody,
} from '../protocol/errors.js';
import { MAuthMethods } from '../protocol/mauth.js';
import { describeValidationError, type SchemaViolation } from './validation.js';

export { RestCodes, type RestCode } from '../protocol/errors.js';

/** A failure answered over REST (SPEC §3) with the status and REST code the catalogue's table gives its code. */
export class ApiError extends ConclaveError {
  override name = 'ApiError';
  readonly status: number;
  readonly restCode: RestCode;

  constructor(code: ErrorCode, message: string, answer: RestAnswer = restAnswerOf(code)) {
    super(code, message);
    this.status = answer.status;
    this.restCode = answer.code;
  }

  /** A failed call into the cluster; what it becomes is the table's to say (503/1201 unless listed). */
  static fromCluster(error: unknown): ApiError {
    const code = codeOf(error);
    const answer = restAnswerOf(code);
    return new ApiError(code, answer.message ?? messageOf(error), answer);
  }

  get body(): RestErrorBody {
    return { error: { code: this.restCode, message: this.message } };
  }
}

const apiError = errorMaker('api', ApiError);

export const ApiErrors = {
  notFound: () => apiError('notFound'),
  serviceNotFound: () => apiError('serviceNotFound'),
  roomNotFound: () => apiError('roomNotFound'),
  participantNotFound: () => apiError('participantNotFound'),
  streamNotFound: () => apiError('streamNotFound'),
  notSupported: (resource: string) => apiError('notSupported', resource),
  authenticationFailed: (reason = 'Authentication failed') => apiError('authenticationFailed', reason),
  permissionDenied: (message = 'Permission denied') => apiError('permissionDenied', message),
  clusterFailed: (message: string) => apiError('clusterFailed', message),
  /** `status` keeps a more precise 4xx (413 too large, 415 media type) for the same code. */
  badRequest: (message: string, status?: number) =>
    status === undefined ? apiError('badRequest', message) : new ApiError('api.badRequest', message, { status, code: RestCodes.badRequest }),
  database: () => apiError('database'),
  unexpected: () => apiError('unexpected'),
} as const;

/** The reasons a valid-looking request is refused by MAuth; all are 401/1101. */
export const AuthFailures = {
  missingHeader: 'Missing MAuth authorization header',
  malformedHeader: 'Malformed MAuth authorization header',
  badCredentials: 'Authentication failed',
  staleTimestamp: 'Request timestamp outside the accepted window',
  replayed: 'Request already seen (replay)',
  requestSignatureRequired: `MAuth signature must cover the request: use ${MAuthMethods.request}`,
  bodyMismatch: 'MAuth body hash does not match the body',
} as const;

export const RequestFailures = {
  emptyUser: 'Name or role not valid: user must be a non-empty string',
  unknownRole: (role: string) => `Name or role not valid: role "${role}" does not exist in the room`,
  duplicateRole: (role: string) => `Invalid room option: role "${role}" is defined twice`,
  duplicateView: (label: string) => `Invalid room option: view "${label}" is defined twice`,
  superServiceUndeletable: 'Super service not permitted to be deleted',
  tooDeep: 'Request body is nested too deeply',
  jsonRequired: 'Content-Type must be application/json',
  metricsRefused: 'Metrics are served to this host, or with the configured bearer token',
} as const;

/** Framework failures (bad JSON, body too large, schema violations) carry these. */
interface FrameworkError {
  statusCode?: number;
  validation?: SchemaViolation[];
  validationContext?: string;
  message: string;
}

/** The one mapping from anything thrown while answering to the status and code a caller sees. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof Error) {
    const framework = error as FrameworkError;
    if (framework.validation) {
      return ApiErrors.badRequest(describeValidationError(framework.validation, framework.validationContext ?? 'request'));
    }
    const status = framework.statusCode ?? 500;
    if (status >= 400 && status < 500) return ApiErrors.badRequest(framework.message, status);
  }
  return ApiErrors.unexpected();
}
