/** Client-visible error strings of the portal (SPEC §4–§7); clients match on them. */
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

export class PortalError extends Error {
  override name = 'PortalError';
}
