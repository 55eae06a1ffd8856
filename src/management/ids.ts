import { randomBytes } from 'node:crypto';

/** 24 hex digits, the shape of the MongoDB ids OWT clients have always been given. */
export function newId(): string {
  return randomBytes(12).toString('hex');
}

/** A service key: 384 random bits, URL- and shell-safe. */
export function newServiceKey(): string {
  return randomBytes(48).toString('base64url');
}
