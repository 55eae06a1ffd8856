import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature scheme OWT uses everywhere (MAuth, join tokens, reconnection tickets):
 * base64 of the lowercase hex of HMAC-SHA256(key, text).
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
