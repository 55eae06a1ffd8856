import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config/config.js';
import { fileFailure } from '../net/startup-errors.js';

/** Read or write permission for the group or for others. */
const SHARED_ACCESS = 0o066;

/**
 * Creates the data directory (0700) or checks that an existing one is private: it holds every
 * service key, the token and reconnection keys, and the super service's credentials.
 */
export function openDataDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fileFailure('dataDir', dir, 'cannot be created', error);
  }
  if (process.platform === 'win32') return;
  const mode = statSync(dir).mode & 0o777;
  if (mode & SHARED_ACCESS) {
    throw new ConfigError(
      `data directory "${dir}" can be read or written by other users (mode ${mode.toString(8).padStart(4, '0')}); ` +
        `it holds every service key: make it private (chmod 700 ${dir}) or choose another dataDir`,
    );
  }
}

/**
 * Creates `file` readable by its owner only, or makes an existing one so. SQLite gives its `-wal`
 * and `-shm` files the database's mode, but files left by an older version are tightened too.
 */
export function makePrivateFiles(file: string, companions: readonly string[]): void {
  try {
    closeSync(openSync(file, 'a', 0o600));
  } catch (error) {
    throw fileFailure('dataDir', dirname(file), 'is not writable', error);
  }
  for (const each of [file, ...companions]) {
    try {
      chmodSync(each, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
