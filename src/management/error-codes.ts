/** The REST API's error codes (SPEC §3); a module of its own so the web pages can use them too. */
export const ErrorCodes = {
  notFound: 1001,
  serviceNotFound: 1002,
  roomNotFound: 1003,
  participantNotFound: 1005,
  authenticationFailed: 1101,
  permissionDenied: 1102,
  clusterFailed: 1201,
  badRequest: 1301,
  database: 1401,
  unexpected: 2001,
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
