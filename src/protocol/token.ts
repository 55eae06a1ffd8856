import { signaturesEqual, signText } from './signing.js';

/** The join token a client receives, base64-encoded JSON (SPEC §3). */
export interface TokenPayload {
  tokenId: string;
  host: string;
  secure: boolean;
  signature: string;
  webTransportUrl?: string;
}

/**
 * `tokenId,host,undefined` when there is no WebTransport URL, as in OWT; a URL is signed as a JSON
 * string, so that one that is the text `undefined` does not sign like none. Ids and hosts hold no
 * comma (`decodeToken` refuses them), so each signed text stands for exactly one token.
 */
export function signToken(key: string, tokenId: string, host: string, webTransportUrl?: string): string {
  const url = webTransportUrl === undefined ? 'undefined' : JSON.stringify(webTransportUrl);
  return signText(key, `${tokenId},${host},${url}`);
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
  if (tokenId.includes(',') || host.includes(',')) return undefined;
  if (typeof secure !== 'boolean') return undefined;
  if (webTransportUrl !== undefined && typeof webTransportUrl !== 'string') return undefined;
  return webTransportUrl === undefined
    ? { tokenId, host, secure, signature }
    : { tokenId, host, secure, signature, webTransportUrl };
}
