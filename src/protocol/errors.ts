/**
 * The error catalogue. Every failure that crosses a component boundary has a stable code
 * (`scope.name`) and a message; the message is the SPEC string clients see and match on, and it
 * travels with the code over either bus as `{code, message}`. Components throw their own error
 * class built on `ConclaveError`; callers branch on the code, never on the text.
 */

/** Client-visible error strings of the portal (SPEC §4–§7). */
export const PortalErrors = {
  inService: 'Connection is in service',
  unknownProtocol: 'Unknown client protocol',
  deprecatedVersion: 'Deprecated client version',
  userAgent: 'User agent info is incorrect',
  invalidLogin: 'Invalid login request',
  invalidToken: 'Invalid token',
  invalidTokenSignature: 'Invalid token signature',
  tokenMissing: 'Token does NOT exist',
  tokenExpired: 'Expired',
  earlyLeft: 'Participant early left',
  illegalRequest: 'Illegal request',
  reconnectionDisabled: 'Reconnection is not enabled.',
  ticketExpired: 'Ticket is expired',
  invalidTicket: 'Invalid reconnection ticket',
  invalidTicketSignature: 'Invalid reconnection ticket signature',
  clientMissing: 'Client does NOT exist',
  reconnectionNotAllowed: 'Reconnection is not allowed',
  participantMismatch: 'Participant ID is not matched',
  invalidText: 'Invalid text message',
  mediaUnavailable: 'Media plane is not available',
  portalFull: 'Portal is full',
  rateLimited: 'Too many requests',
} as const;

/** The conference node's refusals (SPEC §4.6, §8). */
export const ConferenceErrors = {
  roomFull: 'Room is full',
  invalidRole: 'Invalid role',
  roomClash: 'room id clash',
  roomNotFound: 'Room not found',
  notJoined: 'Participant has not joined',
  alreadyJoined: 'Participant has already joined',
  participantNotFound: 'Participant does NOT exist',
  targetNotFound: (id: string) => `Target participant does NOT exist: ${id}`,
  textTooLong: 'Text is too long',
  noTextPermission: 'Permission denied',
  invalidPath: 'Invalid json path',
  invalidOp: 'Invalid json op',
  invalidValue: 'Invalid json value',
  /** The node no longer holds everything a participant's portal did not confirm: it cannot move. */
  resumeIncomplete: 'Participant missed too many notifications',
} as const;

/** An agent's node manager (SPEC §9.5), whatever its nodes are: conference or webrtc. */
export const NodeManagerErrors = {
  noNodeAvailable: (purpose: string) => `No ${purpose} node available`,
  nodeNotReady: 'node not ready',
  closed: 'Node manager closed',
} as const;

/** The media controller's refusals: SPEC-MEDIA M4's words (OWT's spelling included), then its own limits. */
export const MediaErrors = {
  unauthorized: 'unauthorized',
  tooManyInputs: 'Too many inputs',
  streamExists: 'Stream exists',
  audioForbidden: 'Audio is forbiden',
  videoForbidden: 'Video is forbiden',
  streamNotFound: 'Stream does NOT exist',
  subscriptionExists: 'Subscription exists',
  subscriptionNotFound: 'Subscription does NOT exist',
  unsatisfied: (kind: string, reason: string) => `Target ${kind} stream does NOT satisfy:${reason}`,
  mixing: 'Mixing is not supported',
  transcoding: 'Transcoding is not supported',
  sourceLoss: 'Source stream loss',
  tooManyTracks: 'Too many tracks',
  tooManyPublications: 'Too many publications',
  tooManySubscriptions: 'Too many subscriptions',
  transportNotFound: 'Transport does NOT exist',
  midInUse: (mid: string) => `Track mid is in use: ${mid}`,
  mediaNodeLost: 'Media node lost',
  /** Its owner hears this when the management API stops its publication (SPEC-MEDIA M7). */
  stoppedByService: 'Stream stopped by the service',
  /** A media request whose payload fails its schema. */
  invalidRequest: (event: string) => `Invalid ${event} request`,
} as const;

/** A webrtc node's refusals (SPEC-MEDIA M2, M6). */
export const WebrtcErrors = {
  transportNotFound: MediaErrors.transportNotFound,
  tooManyTransports: 'Too many transports on the media node',
  notOwner: 'Transport belongs to another participant',
  sessionNotFound: 'Session does NOT exist',
  sourceLoss: MediaErrors.sourceLoss,
  sourceCodec: 'The source track is in another codec',
  connectTimeout: 'ICE/DTLS did not complete in time',
  failed: 'ICE/DTLS failed',
  tooManyPackets: 'Too many packets from the client',
} as const;

/** The cluster manager and its schedulers (SPEC §9.2–§9.3). */
export const ClusterErrors = {
  notReady: 'cluster manager is not ready.',
  fullLoad: 'No worker available, all in full load.',
  noMatch: 'No worker matches the preference.',
  unknownPurpose: 'Unknown purpose.',
  invalidWorker: 'Invalid worker info.',
  invalidTask: 'Invalid task.',
  /** The worker holding the task lost its bus connection: ask again once it is back or removed. */
  taskWorkerUnreachable: 'The worker of this task is unreachable.',
} as const;

/** A component's cluster worker (SPEC §9.1). */
export const WorkerErrors = {
  alreadyStarted: 'Cluster worker already started',
  quitBeforeJoining: 'Cluster worker quit before joining',
} as const;

/** The bus itself: the call never reached a handler, or its answer never came back. */
export const BusErrors = {
  timeout: (address: string, method: string) => `Timeout to call ${address}.${method}`,
  unreachable: (address: string) => `Address unreachable: ${address}`,
  unknownMethod: (method: string) => `Unknown method: ${method}`,
  alreadyServed: (address: string) => `Address already served: ${address}`,
  closed: 'Bus closed',
  /** A networked bus lost its broker and is reconnecting. */
  disconnected: 'Bus disconnected',
  malformedRequest: 'Malformed request',
  malformedReply: 'Malformed reply',
  /** A handler refused an argument that arrived over the bus. */
  invalidArgument: (name: string, expected: string) => `Invalid argument: ${name} must be ${expected}`,
} as const;

/** The management API's own refusals (SPEC §3); the ones taking text say what was wrong. */
export const ApiErrorMessages = {
  notFound: 'Resource not found',
  serviceNotFound: 'Service not found',
  roomNotFound: 'Room not found',
  participantNotFound: 'Participant not found',
  streamNotFound: 'Stream not found',
  /** Resources of OWT's API that need a media engine this server does not have (SPEC-MEDIA M7). */
  notSupported: (resource: string) => `${resource} are not supported: this server only forwards WebRTC streams`,
  authenticationFailed: (reason: string) => reason,
  permissionDenied: (reason: string) => reason,
  clusterFailed: (reason: string) => reason,
  badRequest: (reason: string) => reason,
  database: 'Database error',
  unexpected: 'Unexpected error',
} as const;

const catalogue = {
  portal: PortalErrors,
  conference: ConferenceErrors,
  agent: NodeManagerErrors,
  media: MediaErrors,
  webrtc: WebrtcErrors,
  cluster: ClusterErrors,
  worker: WorkerErrors,
  bus: BusErrors,
  api: ApiErrorMessages,
  /** Whatever was thrown without a code (a programming error, a driver's failure) keeps its text. */
  internal: { unexpected: (message: string) => message },
} as const;

type Catalogue = typeof catalogue;
export type ErrorScope = keyof Catalogue;
type NameIn<S extends ErrorScope> = keyof Catalogue[S] & string;
type DetailsOf<M> = M extends (...details: infer D) => string ? D : [];
export type ErrorCode = { [S in ErrorScope]: `${S}.${NameIn<S>}` }[ErrorScope];

/** An error as it crosses a process boundary (bus reply, REST body). */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/** The one base of every component's error class. */
export class ConclaveError extends Error {
  override name = 'ConclaveError';

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  if (typeof value !== 'string') return false;
  const dot = value.indexOf('.');
  const scope = catalogue[value.slice(0, dot) as ErrorScope] as Record<string, unknown> | undefined;
  return dot > 0 && scope !== undefined && Object.hasOwn(scope, value.slice(dot + 1));
}

/** The code of anything thrown; an error without one is `internal.unexpected`. */
export function codeOf(error: unknown): ErrorCode {
  return error instanceof ConclaveError ? error.code : 'internal.unexpected';
}

/** The text of anything thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}

export function toWireError(error: unknown): WireError {
  return { code: codeOf(error), message: messageOf(error) };
}

/**
 * A maker of one component's errors: `make('roomFull')`, `make('targetNotFound', id)`; the code is
 * `scope.name` and the message the catalogue's, filled with the details it names.
 */
export function errorMaker<S extends ErrorScope, E extends ConclaveError>(
  scope: S,
  construct: new (code: ErrorCode, message: string) => E,
): <N extends NameIn<S>>(name: N, ...details: DetailsOf<Catalogue[S][N]>) => E {
  return (name, ...details) => {
    const entry = catalogue[scope][name] as string | ((...args: unknown[]) => string);
    const message = typeof entry === 'function' ? entry(...details) : entry;
    return new construct(`${scope}.${name}` as ErrorCode, message);
  };
}

/** The REST API's error codes (SPEC §3). */
export const RestCodes = {
  notFound: 1001,
  serviceNotFound: 1002,
  roomNotFound: 1003,
  streamNotFound: 1004,
  participantNotFound: 1005,
  authenticationFailed: 1101,
  permissionDenied: 1102,
  clusterFailed: 1201,
  badRequest: 1301,
  database: 1401,
  unexpected: 2001,
  /** Beyond OWT: a resource of OWT's API that this server does not offer (HTTP 501). */
  notSupported: 2002,
} as const;
export type RestCode = (typeof RestCodes)[keyof typeof RestCodes];

/** The REST error body (SPEC §3). */
export interface RestErrorBody {
  error: { code: RestCode; message: string };
}

export interface RestAnswer {
  status: number;
  code: RestCode;
  /** Said in the API's own words instead of the component's. */
  message?: string;
}

const participantNotFound: RestAnswer = {
  status: 404,
  code: RestCodes.participantNotFound,
  message: ApiErrorMessages.participantNotFound,
};
const streamNotFound: RestAnswer = { status: 404, code: RestCodes.streamNotFound, message: ApiErrorMessages.streamNotFound };
const badRequest: RestAnswer = { status: 400, code: RestCodes.badRequest };
const clusterFailed: RestAnswer = { status: 503, code: RestCodes.clusterFailed };

/**
 * The one table from an error code to what clients are told. On a socket every code is answered
 * `error` with its message, the SPEC string (`ackMessageOf`). Over REST (SPEC §3) a code answers
 * with the status and REST code listed here; a cluster failure not listed is 503/1201 with its
 * message (`restAnswerOf`).
 */
const restAnswers: { [C in ErrorCode]?: RestAnswer } = {
  'api.notFound': { status: 404, code: RestCodes.notFound },
  'api.serviceNotFound': { status: 404, code: RestCodes.serviceNotFound },
  'api.roomNotFound': { status: 404, code: RestCodes.roomNotFound },
  'api.participantNotFound': participantNotFound,
  'api.streamNotFound': streamNotFound,
  'api.notSupported': { status: 501, code: RestCodes.notSupported },
  'api.authenticationFailed': { status: 401, code: RestCodes.authenticationFailed },
  'api.permissionDenied': { status: 403, code: RestCodes.permissionDenied },
  'api.clusterFailed': clusterFailed,
  'api.badRequest': badRequest,
  'api.database': { status: 500, code: RestCodes.database },
  'api.unexpected': { status: 500, code: RestCodes.unexpected },
  'conference.participantNotFound': participantNotFound,
  'conference.notJoined': participantNotFound,
  'conference.roomNotFound': participantNotFound,
  'conference.invalidPath': badRequest,
  'conference.invalidOp': badRequest,
  'conference.invalidValue': badRequest,
  'media.streamNotFound': streamNotFound,
  'media.mixing': badRequest,
};

export function restAnswerOf(code: ErrorCode): RestAnswer {
  return restAnswers[code] ?? clusterFailed;
}

/** What a socket client's ack says after `error`: the message, which is the SPEC string. */
export function ackMessageOf(error: unknown): string {
  return messageOf(error);
}
