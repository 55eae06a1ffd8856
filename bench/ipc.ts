/** Typed calls between the bench and its child processes over Node's IPC channel. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { messageOf } from '../src/bus/index.js';

export type Methods = Record<string, (...args: never[]) => unknown>;

interface Request {
  id: number;
  method: string;
  args: unknown[];
}

type Answer = { id: number; result: unknown } | { id: number; error: string };

const READY = 'ready';

/**
 * In a child: answers the parent's calls with `handlers`, then tells it that it is ready. When the
 * parent lets go (or dies) the child runs `close` and exits, so no server or socket outlives the bench.
 */
export function serveParent<M extends Methods>(handlers: M, close: () => Promise<void> = async () => undefined): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a bench child must be started by the bench (no IPC channel)');
  process.on('message', (message: Request) => {
    const handler = Object.hasOwn(handlers, message.method) ? handlers[message.method] : undefined;
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown method ${message.method}`);
        return (handler as (...args: unknown[]) => unknown)(...message.args);
      })
      .then(
        (result) => send({ id: message.id, result } satisfies Answer),
        (error: unknown) => send({ id: message.id, error: messageOf(error) } satisfies Answer),
      );
  });
  process.once('disconnect', () => {
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
  send(READY);
}

/** The JSON argument a child was started with. */
export function childArgument<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

/** The hard limit on open files (root may not raise it in a container); children raise their soft limit to it. */
export function hardFileLimit(): number {
  const hard = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return hard === 'unlimited' ? 1_048_576 : Number(hard);
}

export interface ChildOptions {
  /** Extra node flags, e.g. `--expose-gc` or `--cpu-prof`. */
  nodeFlags?: string[];
  /** Soft limit of open files for the child, raised through the shell before node starts. */
  fileLimit: number;
}

/** A child process of the bench, called through its `M` methods. */
export class Child<M extends Methods> {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly process: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => process.once('exit', () => resolve()));
    process.on('message', (message: Answer | typeof READY) => {
      if (message === READY) return;
      const call = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!call) return;
      if ('error' in message) call.reject(new Error(`${name}: ${message.error}`));
      else call.resolve(message.result);
    });
    process.once('exit', (code, signal) => {
      for (const call of this.pending.values()) call.reject(new Error(`${name} exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  /** Starts `script` (a TypeScript file under bench/) and waits until it serves calls. */
  static async start<M extends Methods>(name: string, script: string, argument: unknown, options: ChildOptions): Promise<Child<M>> {
    const node = [process.execPath, '--import', 'tsx', ...(options.nodeFlags ?? []), script, JSON.stringify(argument)];
    const spawned = spawn('bash', ['-c', `ulimit -n ${options.fileLimit} && exec "$@"`, 'bash', ...node], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    for (const stream of [spawned.stdout!, spawned.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        for (const line of text.split('\n')) if (line) process.stderr.write(`[${name}] ${line}\n`);
      });
    }
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`${name} exited with ${code} before it was ready`));
      spawned.once('exit', onExit);
      spawned.on('message', (message) => {
        if (message !== READY) return;
        spawned.off('exit', onExit);
        resolve();
      });
    });
    return new Child<M>(name, spawned);
  }

  call<K extends keyof M & string>(method: K, ...args: Parameters<M[K]>): Promise<Awaited<ReturnType<M[K]>>> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.process.send({ id, method, args } satisfies Request, (error) => {
        if (!error) return;
        this.pending.delete(id);
        reject(error);
      });
    });
  }

  /** Asks the child to finish (it exits when its IPC channel closes); kills it if it lingers. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    if (this.process.connected) this.process.disconnect();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
