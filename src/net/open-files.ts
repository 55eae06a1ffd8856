import { readFileSync } from 'node:fs';

/**
 * This process's soft limit on open files (Linux), or undefined where it cannot be read. Node
 * itself raises the soft limit to the hard one as it starts, so this is as high as it may go.
 */
export function openFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
}
