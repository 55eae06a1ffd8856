import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config.js';

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * A listener that cannot start, as one line naming the setting to change (`portal.port 8080 is
 * already in use`); an error this does not know is handed back as it is.
 */
export function listenFailure(section: 'portal' | 'management' | 'metrics', host: string, port: number, error: unknown): unknown {
  switch (codeOf(error)) {
    case 'EADDRINUSE':
      return new ConfigError(`${section}.port ${port} is already in use`);
    case 'EACCES':
      return new ConfigError(`${section}.port ${port} needs privileges this process does not have (ports below 1024 usually do)`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`${section}.host ${host} is not an address of this host`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(`${section}.host ${host} cannot be resolved`);
    default:
      return error;
  }
}

const fileProblems: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'a file is in the way',
  ENOSPC: 'no space left on the device',
};

/** A file or directory a setting names that cannot be used, as one line naming the setting; other errors as they are. */
export function fileFailure(setting: string, path: string, doing: string, error: unknown): unknown {
  const problem = fileProblems[codeOf(error) ?? ''];
  return problem ? new ConfigError(`${setting} "${path}" ${doing}: ${problem}`) : error;
}

/** The contents of a file a setting names (a TLS certificate or key); one line naming the setting if it cannot be read. */
export function readSettingFile(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw fileFailure(setting, path, 'cannot be read', error);
  }
}

/** `url` without its password, fit for a message. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** A database or broker that cannot be reached at start, as one line naming the setting (never its password). */
export function connectFailure(setting: string, url: string, error: unknown): unknown {
  if (error instanceof ConfigError) return error;
  const reason = error instanceof Error ? error.message || (error as NodeJS.ErrnoException).code : String(error);
  return new ConfigError(`${setting} ${withoutPassword(url)}: cannot connect (${reason})`);
}
