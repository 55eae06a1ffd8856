/** The management REST API (SPEC §2, §3): services, rooms, join tokens, participants. */
export { startManagementApi, type ManagementApi, type ManagementDeps } from './server.js';
export { bootstrap, type Bootstrap, type BootstrapDeps } from './bootstrap.js';
export { ApiError, ErrorCodes, type ErrorCode } from './errors.js';
export { createMAuthHeader, type MAuthCredentials } from './mauth.js';
export {
  decodeToken,
  encodeToken,
  signToken,
  tokenKeyOf,
  verifyTokenSignature,
  TOKEN_KEY_NAME,
  type TokenPayload,
} from './token.js';
export { signaturesEqual, signText } from './signing.js';
export { defaultRoomOptions, type RoomOptions } from './room-options.js';
