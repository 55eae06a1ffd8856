import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Service, Store } from '../store/index.js';
import { ApiErrors, AuthFailures } from './errors.js';
import { signaturesEqual, signText } from './signing.js';

/** The realm every OWT client sends; it takes no part in the signature. */
export const MAUTH_REALM = 'http://marte3.dit.upm.es';
const SIGNATURE_METHOD = 'HMAC_SHA256';
const MAX_FIELD_LENGTH = 256;

export interface MAuthFields {
  serviceid: string;
  cnonce: string;
  timestamp: string;
  signature: string;
  /** base64 of the user, as sent; only meaningful together with `role`. */
  username?: string | undefined;
  role?: string | undefined;
}

/** `timestamp,cnonce` or `timestamp,cnonce,username,role`, signed with the service key. */
export function mauthSignature(key: string, fields: Omit<MAuthFields, 'serviceid' | 'signature'>): string {
  const signed = `${fields.timestamp},${fields.cnonce}`;
  const hasIdentity = fields.username !== undefined && fields.role !== undefined;
  return signText(key, hasIdentity ? `${signed},${fields.username},${fields.role}` : signed);
}

export interface MAuthCredentials {
  serviceId: string;
  key: string;
  timestamp?: number;
  cnonce?: string;
  /** Plain user name; it travels base64-encoded in `mauth_username`. */
  user?: string;
  role?: string;
}

/** Builds the header the way the OWT REST client does (unquoted values, hex cnonce). */
export function createMAuthHeader(credentials: MAuthCredentials): string {
  const timestamp = String(credentials.timestamp ?? Date.now());
  const cnonce = credentials.cnonce ?? randomBytes(8).toString('hex');
  const hasIdentity = credentials.user !== undefined && credentials.role !== undefined;
  const username = hasIdentity ? Buffer.from(credentials.user!).toString('base64') : undefined;
  const role = hasIdentity ? credentials.role : undefined;
  const signature = mauthSignature(credentials.key, { timestamp, cnonce, username, role });
  const identity = hasIdentity ? `,mauth_username=${username},mauth_role=${role}` : '';
  return (
    `MAuth realm=${MAUTH_REALM},mauth_signature_method=${SIGNATURE_METHOD}${identity}` +
    `,mauth_serviceid=${credentials.serviceId},mauth_cnonce=${cnonce}` +
    `,mauth_timestamp=${timestamp},mauth_signature=${signature}`
  );
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** The header's fields, or undefined when it is not a complete HMAC_SHA256 MAuth header. */
export function parseMAuthHeader(header: string): MAuthFields | undefined {
  const match = /^\s*MAuth\s+(.*)$/is.exec(header);
  if (!match) return undefined;
  const params = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    const name = part.slice(0, equals).trim().toLowerCase();
    params.set(name.startsWith('mauth_') ? name.slice('mauth_'.length) : name, unquote(part.slice(equals + 1).trim()));
  }
  const fields = {
    serviceid: params.get('serviceid'),
    cnonce: params.get('cnonce'),
    timestamp: params.get('timestamp'),
    signature: params.get('signature'),
    username: params.get('username'),
    role: params.get('role'),
  };
  if (params.get('signature_method') !== SIGNATURE_METHOD) return undefined;
  if (!fields.serviceid || !fields.cnonce || !fields.signature || !/^\d{1,15}$/.test(fields.timestamp ?? '')) {
    return undefined;
  }
  const values = [fields.serviceid, fields.cnonce, fields.signature, fields.username, fields.role];
  if (values.some((value) => value !== undefined && value.length > MAX_FIELD_LENGTH)) return undefined;
  return fields as MAuthFields;
}

/** Who made an authenticated request. `user`/`role` come from the header's optional identity. */
export interface Caller {
  service: Service;
  isSuper: boolean;
  user?: string | undefined;
  role?: string | undefined;
}

export interface AuthenticatorOptions {
  store: Store;
  superServiceId: string;
  replayWindowMs: number;
  failureDelayMs: number;
}

export type Authenticator = (header: string | undefined) => Promise<Caller>;

/** SPEC §3 MAuth; refuses with an ApiError (401/1101). */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const refuseSlowly = async (reason: string): Promise<never> => {
    // A random delay blunts guessing of service ids and keys by response time or rate.
    await delay(Math.random() * options.failureDelayMs);
    throw ApiErrors.authenticationFailed(reason);
  };

  return async (header) => {
    if (!header) return refuseSlowly(AuthFailures.missingHeader);
    const fields = parseMAuthHeader(header);
    if (!fields) return refuseSlowly(AuthFailures.malformedHeader);
    const service = await options.store.getService(fields.serviceid);
    if (!service) return refuseSlowly(AuthFailures.badCredentials);
    if (!signaturesEqual(mauthSignature(service.key, fields), fields.signature)) {
      return refuseSlowly(AuthFailures.badCredentials);
    }
    const now = Date.now();
    const timestamp = Number(fields.timestamp);
    if (Math.abs(now - timestamp) > options.replayWindowMs) {
      throw ApiErrors.authenticationFailed(AuthFailures.staleTimestamp);
    }
    const nonce = `${fields.serviceid},${fields.timestamp},${fields.cnonce}`;
    if (!(await options.store.rememberNonce(nonce, timestamp + options.replayWindowMs, now))) {
      throw ApiErrors.authenticationFailed(AuthFailures.replayed);
    }
    const hasIdentity = fields.username !== undefined && fields.role !== undefined;
    return {
      service,
      isSuper: service._id === options.superServiceId,
      user: hasIdentity ? Buffer.from(fields.username!, 'base64').toString('utf8') : undefined,
      role: hasIdentity ? fields.role : undefined,
    };
  };
}
