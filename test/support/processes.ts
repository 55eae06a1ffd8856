/** Processes as Linux shows them in /proc: whose child a process is, and whether it still runs. */
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessEntry {
  pid: number;
  args: string[];
}

interface Status {
  ppid: number;
  state: string;
}

async function statusOf(pid: number): Promise<Status | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces; the fields after it are fixed.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state!, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Running (not zombie) children of `pid`, with their command lines. */
export async function childrenOf(pid: number): Promise<ProcessEntry[]> {
  const children: ProcessEntry[] = [];
  for (const name of await readdir('/proc')) {
    const candidate = Number(name);
    if (!Number.isInteger(candidate)) continue;
    const status = await statusOf(candidate);
    if (status?.ppid !== pid || status.state === 'Z') continue;
    const args = await readFile(`/proc/${candidate}/cmdline`, 'utf8').catch(() => '');
    children.push({ pid: candidate, args: args.split('\0').filter(Boolean) });
  }
  return children;
}

/** False once the process has exited, even if its parent has not reaped it yet. */
export async function isRunning(pid: number): Promise<boolean> {
  const status = await statusOf(pid);
  return status !== undefined && status.state !== 'Z';
}
