export { Portal, type PortalDeps } from './portal.js';
export { ConnectionState } from './connection.js';
export { PortalErrors } from './errors.js';
export type { PortalRpc } from './api.js';
export type { ReconnectionTicket } from '../protocol/ticket.js';
export type { BufferedMessage } from './outbox.js';
