import { setTimeout as delay } from 'node:timers/promises';
import { MAuthMethods, parseMAuthHeader, type SignedRequest } from '../protocol/mauth.js';
import { mauthSignature, signaturesEqual } from '../protocol/signing.js';
import type { Service, Store } from '../store/index.js';
import { ApiErrors, AuthFailures } from './errors.js';

export { MAUTH_REALM } from '../protocol/mauth.js';

/** Who made an authenticated request. `user`/`role` come from the header's optional identity. */
export interface Caller {
  service: Service;
  isSuper: boolean;
  user?: string | undefined;
  role?: string | undefined;
  /** The body hash the signature covers (request method only): the body must have it. */
  bodyHash?: string | undefined;
}

export interface AuthenticatorOptions {
  store: Store;
  superServiceId: string;
  replayWindowMs: number;
  failureDelayMs: number;
  /** Refuse OWT's method, whose signature does not cover the request. */
  requireRequestSignature: boolean;
}

export type Authenticator = (header: string | undefined, request: SignedRequest) => Promise<Caller>;

/** SPEC §3 MAuth, and the request method beyond it; refuses with an ApiError (401/1101). */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const refuseSlowly = async (reason: string): Promise<never> => {
    // A random delay blunts guessing of service ids and keys by response time or rate.
    await delay(Math.random() * options.failureDelayMs);
    throw ApiErrors.authenticationFailed(reason);
  };

  return async (header, request) => {
    if (!header) return refuseSlowly(AuthFailures.missingHeader);
    const fields = parseMAuthHeader(header);
    if (!fields) return refuseSlowly(AuthFailures.malformedHeader);
    if (options.requireRequestSignature && fields.method !== MAuthMethods.request) {
      return refuseSlowly(AuthFailures.requestSignatureRequired);
    }
    const service = await options.store.getService(fields.serviceid);
    if (!service) return refuseSlowly(AuthFailures.badCredentials);
    if (!signaturesEqual(mauthSignature(service.key, fields, request), fields.signature)) {
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
      bodyHash: fields.bodyhash,
    };
  };
}
