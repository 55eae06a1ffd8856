import { randomBytes } from 'node:crypto';
import type { Store } from './store.js';

/** The store secret that signs join tokens; shared with the portals, which reload it to follow rotation. */
export const TOKEN_KEY_NAME = 'token';

function newKey(): string {
  return randomBytes(64).toString('base64');
}

/** The current token key, created (64 random bytes, base64) by whoever needs it first. */
export function tokenKeyOf(store: Store): Promise<string> {
  return store.getOrCreateKey(TOKEN_KEY_NAME, newKey);
}

/** Shared through the store so any portal can verify any portal's tickets (SPEC §6, cluster-wide resume). */
export function reconnectionKeyOf(store: Store): Promise<string> {
  return store.getOrCreateKey('reconnection', newKey);
}
