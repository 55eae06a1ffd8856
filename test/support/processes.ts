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

/** Running (not zombie) processes, with their command lines, whose status passes `select`. */
async function runningProcesses(select: (status: Status) => boolean): Promise<ProcessEntry[]> {
  const found: ProcessEntry[] = [];
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const status = await statusOf(pid);
    if (!status || status.state === 'Z' || !select(status)) continue;
    const args = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    found.push({ pid, args: args.split('\0').filter(Boolean) });
  }
  return found;
}

/** Running children of `pid`. */
export function childrenOf(pid: number): Promise<ProcessEntry[]> {
  return runningProcesses(({ ppid }) => ppid === pid);
}

/** Running processes whose command line holds every one of `args`, whoever their parent is now. */
export async function processesWith(...args: string[]): Promise<ProcessEntry[]> {
  return (await runningProcesses(() => true)).filter((entry) => args.every((arg) => entry.args.includes(arg)));
}

/** False once the process has exited, even if its parent has not reaped it yet. */
export async function isRunning(pid: number): Promise<boolean> {
  const status = await statusOf(pid);
  return status !== undefined && status.state !== 'Z';
}
