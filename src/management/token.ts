import { randomBytes } from 'node:crypto';
import type { Store } from '../store/index.js';
import { signaturesEqual, signText } from './signing.js';

/** The store secret that signs join tokens; shared with the portals, which reload it to follow rotation. */
export const TOKEN_KEY_NAME = 'token';

/** The current token key, created (64 random bytes, base64) by whoever needs it first. */
export function tokenKeyOf(store: Store): Promise<string> {
  return store.getOrCreateKey(TOKEN_KEY_NAME, () => randomBytes(64).toString('base64'));
}

/** What a client receives, base64-encoded JSON (SPEC §3). */
export interface TokenPayload {
  tokenId: string;
  host: string;
  secure: boolean;
  signature: string;
  webTransportUrl?: string;
}

/** `tokenId,host,webTransportUrl` — the last field is the text `undefined` when unset, as in OWT. */
export function signToken(key: string, tokenId: string, host: string, webTransportUrl?: string): string {
  return signText(key, `${tokenId},${host},${webTransportUrl}`);
}

export function verifyTokenSignature(key: string, token: TokenPayload): boolean {
  return signaturesEqual(signToken(key, token.tokenId, token.host, token.webTransportUrl), token.signature);
}

export function encodeToken(key: string, token: Omit<TokenPayload, 'signature'>): string {
  const payload: TokenPayload = {
    tokenId: token.tokenId,
    host: token.host,
    secure: token.secure,
    signature: signToken(key, token.tokenId, token.host, token.webTransportUrl),
  };
  if (token.webTransportUrl !== undefined) payload.webTransportUrl = token.webTransportUrl;
  return Buffer.from(JSON.stringify(payload)).toString('base64');
}

/** The payload of a token string, or undefined when it is not base64 JSON of the right shape. */
export function decodeToken(text: unknown): TokenPayload | undefined {
  if (typeof text !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { tokenId, host, secure, signature, webTransportUrl } = parsed as Record<string, unknown>;
  if (typeof tokenId !== 'string' || typeof host !== 'string' || typeof signature !== 'string') return undefined;
  if (typeof secure !== 'boolean') return undefined;
  if (webTransportUrl !== undefined && typeof webTransportUrl !== 'string') return undefined;
  return webTransportUrl === undefined
    ? { tokenId, host, secure, signature }
    : { tokenId, host, secure, signature, webTransportUrl };
}
