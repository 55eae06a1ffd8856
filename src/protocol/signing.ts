import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { formatMAuthHeader, MAuthMethods, mauthSignedText, type MAuthFields, type RequestToSign, type SignedRequest } from './mauth.js';

/**
 * The signature scheme OWT uses everywhere (MAuth, join tokens, reconnection tickets):
 * base64 of the lowercase hex of HMAC-SHA256(key, text). Node only; browsers sign with `MAuthSigner`.
 */
export function signText(key: string, text: string): string {
  return Buffer.from(createHmac('sha256', key).update(text).digest('hex')).toString('base64');
}

/** Constant-time comparison; unequal lengths are unequal without looking at the bytes. */
export function signaturesEqual(expected: string, given: string): boolean {
  const expectedBytes = Buffer.from(expected);
  const givenBytes = Buffer.from(given);
  return expectedBytes.length === givenBytes.length && timingSafeEqual(expectedBytes, givenBytes);
}

/** The MAuth signature of a header's fields with the service key (SPEC §3); the request method's covers `request`. */
export function mauthSignature(key: string, fields: Omit<MAuthFields, 'serviceid' | 'signature'>, request?: SignedRequest): string {
  return signText(key, mauthSignedText(fields, request));
}

/** The request method's body hash: lowercase hex SHA-256 of the body's bytes. */
export function bodyHashOf(body: string | Buffer = ''): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface MAuthCredentials {
  serviceId: string;
  key: string;
  timestamp?: number;
  cnonce?: string;
  /** Plain user name; it travels base64-encoded in `mauth_username`. */
  user?: string;
  role?: string;
  /** Signs with the request method, for this request only; without it, OWT's method. */
  request?: RequestToSign;
}

/** Builds the header the way the OWT REST client does (unquoted values, hex cnonce), synchronously. */
export function createMAuthHeader(credentials: MAuthCredentials): string {
  const { request } = credentials;
  const timestamp = String(credentials.timestamp ?? Date.now());
  const cnonce = credentials.cnonce ?? randomBytes(8).toString('hex');
  const hasIdentity = credentials.user !== undefined && credentials.role !== undefined;
  const fields = {
    method: request ? MAuthMethods.request : MAuthMethods.plain,
    timestamp,
    cnonce,
    username: hasIdentity ? Buffer.from(credentials.user!).toString('base64') : undefined,
    role: hasIdentity ? credentials.role : undefined,
    bodyhash: request && bodyHashOf(request.body),
  };
  const signature = mauthSignature(credentials.key, fields, request);
  return formatMAuthHeader({ ...fields, serviceid: credentials.serviceId, signature });
}
