/** Checks what arrives over the bus before it reaches any state: a bad caller gets an error, never a crash. */
import { busError } from './bus.js';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function requireId(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw busError('invalidArgument', name, 'a non-empty string');
  return value;
}

export function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw busError('invalidArgument', name, 'a string');
  return value;
}

export function requireList(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw busError('invalidArgument', name, 'a list');
  return value;
}

export function requireSeq(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw busError('invalidArgument', name, 'a non-negative integer');
  return value as number;
}
