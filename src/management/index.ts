/** The management REST API (SPEC §2, §3): services, rooms, join tokens, participants. */
export { createManagementApp, startManagementApi, type ManagementApi, type ManagementDeps } from './server.js';
export { bootstrap, type Bootstrap, type BootstrapDeps, type BootstrapOutput } from './bootstrap.js';
export { ApiError, RestCodes, type RestCode } from './errors.js';
export { createMAuthHeader, signaturesEqual, signText, type MAuthCredentials } from '../protocol/signing.js';
export { decodeToken, encodeToken, signToken, verifyTokenSignature, type TokenPayload } from '../protocol/token.js';
export { tokenKeyOf, TOKEN_KEY_NAME } from '../store/index.js';
export { defaultRoomOptions, type RoomOptions } from './room-options.js';
