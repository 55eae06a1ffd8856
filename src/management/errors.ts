import { ErrorCodes, type ErrorCode } from './error-codes.js';
import { describeValidationError, type SchemaViolation } from './validation.js';

export { ErrorCodes, type ErrorCode } from './error-codes.js';

/** The management API's error catalogue (SPEC §3): every failure leaves as one of these. */
const statusOfCode: Record<ErrorCode, number> = {
  [ErrorCodes.notFound]: 404,
  [ErrorCodes.serviceNotFound]: 404,
  [ErrorCodes.roomNotFound]: 404,
  [ErrorCodes.participantNotFound]: 404,
  [ErrorCodes.authenticationFailed]: 401,
  [ErrorCodes.permissionDenied]: 403,
  [ErrorCodes.clusterFailed]: 503,
  [ErrorCodes.badRequest]: 400,
  [ErrorCodes.database]: 500,
  [ErrorCodes.unexpected]: 500,
};

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    status = statusOfCode[code],
  ) {
    super(message);
    this.status = status;
  }

  get body(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export const ApiErrors = {
  notFound: () => new ApiError(ErrorCodes.notFound, 'Resource not found'),
  serviceNotFound: () => new ApiError(ErrorCodes.serviceNotFound, 'Service not found'),
  roomNotFound: () => new ApiError(ErrorCodes.roomNotFound, 'Room not found'),
  participantNotFound: () => new ApiError(ErrorCodes.participantNotFound, 'Participant not found'),
  authenticationFailed: (reason = 'Authentication failed') => new ApiError(ErrorCodes.authenticationFailed, reason),
  permissionDenied: (message = 'Permission denied') => new ApiError(ErrorCodes.permissionDenied, message),
  clusterFailed: (message: string) => new ApiError(ErrorCodes.clusterFailed, message),
  /** `status` keeps a more precise 4xx (413 too large, 415 media type) for the same code. */
  badRequest: (message: string, status?: number) => new ApiError(ErrorCodes.badRequest, message, status),
  database: () => new ApiError(ErrorCodes.database, 'Database error'),
  unexpected: () => new ApiError(ErrorCodes.unexpected, 'Unexpected error'),
} as const;

/** The reasons a valid-looking request is refused by MAuth; all are 401/1101. */
export const AuthFailures = {
  missingHeader: 'Missing MAuth authorization header',
  malformedHeader: 'Malformed MAuth authorization header',
  badCredentials: 'Authentication failed',
  staleTimestamp: 'Request timestamp outside the accepted window',
  replayed: 'Request already seen (replay)',
} as const;

export const RequestFailures = {
  emptyUser: 'Name or role not valid: user must be a non-empty string',
  unknownRole: (role: string) => `Name or role not valid: role "${role}" does not exist in the room`,
  duplicateRole: (role: string) => `Invalid room option: role "${role}" is defined twice`,
  duplicateView: (label: string) => `Invalid room option: view "${label}" is defined twice`,
  superServiceUndeletable: 'Super service not permitted to be deleted',
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
