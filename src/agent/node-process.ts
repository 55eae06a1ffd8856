/**
 * Nodes as child processes of their agent (cluster mode, SPEC §9.5): the agent forks
 * `conclave conference-node --id … --agent …` (or `webrtc-node`) and talks to it over the IPC channel that fork opens.
 * The agent hands the node its configuration (never on the command line, where other users could
 * read the store's and broker's credentials), the node says when it serves, and it answers pings so
 * that one that stops answering can be killed and reported.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Config } from '../config/config.js';
import { type Logger, componentLogger } from '../logger.js';
import type { AgentPurpose } from './api.js';
import type { LaunchedNode, NodeLauncher } from './launcher.js';

/** The internal subcommands of `conclave` that run one node of each kind. */
export const NODE_COMMANDS = {
  conference: 'conference-node',
  webrtc: 'webrtc-node',
} as const satisfies Record<AgentPurpose, string>;

export function nodePurposeOf(command: string | undefined): AgentPurpose | undefined {
  return (Object.keys(NODE_COMMANDS) as AgentPurpose[]).find((purpose) => NODE_COMMANDS[purpose] === command);
}

type AgentMessage = { type: 'start'; config: Config } | { type: 'ping' };
type NodeMessage = { type: 'ready' } | { type: 'pong' };

const ignore = (): void => undefined;

export const NodeProcessErrors = {
  exitedBeforeReady: 'Node exited before it was ready',
  noAgent: 'a node runs only as a child process of its agent',
} as const;

export interface ProcessLauncherOptions {
  purpose: AgentPurpose;
  config: Config;
  logger: Logger;
  /** The `conclave` entry script; forked with `execArgv` (e.g. `--import tsx` when run from source). */
  script: string;
  execArgv?: readonly string[];
}

/** Runs each node as a child process, checks it answers, and kills it when asked or when it hangs. */
export class ProcessLauncher implements NodeLauncher {
  private readonly logger: Logger;

  constructor(private readonly options: ProcessLauncherOptions) {
    this.logger = componentLogger(options.logger, 'node-launcher', { purpose: options.purpose });
  }

  launch(nodeId: string, agentId: string): LaunchedNode {
    const { script, execArgv = process.execArgv, config, purpose } = this.options;
    const child = fork(script, [NODE_COMMANDS[purpose], '--id', nodeId, '--agent', agentId], {
      execArgv: [...execArgv],
      serialization: 'json',
    });
    return new NodeProcess(child, nodeId, config, this.logger);
  }
}

class NodeProcess implements LaunchedNode {
  readonly ready: Promise<void>;
  private readonly exited: Promise<void>;
  private readonly listeners: Array<() => void> = [];
  private ended = false;
  private missedChecks = 0;
  private checkTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly nodeId: string,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    let becomeReady!: () => void;
    let failToStart!: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => {
      becomeReady = resolve;
      failToStart = reject;
    });
    // Prerun nodes are launched before anyone awaits them; a failed start is reported through onExit.
    this.ready.catch(() => undefined);
    this.exited = new Promise((resolve) => {
      const end = () => {
        failToStart(new Error(NodeProcessErrors.exitedBeforeReady));
        this.end();
        resolve();
      };
      child.once('exit', end);
      child.on('error', (error) => {
        this.logger.error({ node: nodeId, error: error.message }, 'node process failed');
        // A process that could not be spawned at all has no pid and emits no 'exit'.
        if (child.pid === undefined) end();
      });
    });
    child.on('message', (message: NodeMessage) => {
      if (message?.type === 'pong') this.missedChecks = 0;
      if (message?.type === 'ready') {
        this.logger.info({ node: nodeId, pid: child.pid }, 'node started');
        becomeReady();
        this.watch();
      }
    });
    this.send({ type: 'start', config });
  }

  onExit(listener: () => void): void {
    if (this.ended) queueMicrotask(listener);
    else this.listeners.push(listener);
  }

  /** Asks the node to stop, and kills it if it has not exited in time. */
  async kill(): Promise<void> {
    if (this.ended) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), this.config.agent.nodeStopTimeout);
    await this.exited;
    clearTimeout(timer);
  }

  private watch(): void {
    const { nodeCheckPeriod, nodeCheckAliveCount } = this.config.agent;
    this.checkTimer = setInterval(() => {
      if (this.missedChecks >= nodeCheckAliveCount) {
        this.logger.warn({ node: this.nodeId, pid: this.child.pid }, 'node stopped answering, killing it');
        clearInterval(this.checkTimer);
        this.child.kill('SIGKILL');
        return;
      }
      this.missedChecks += 1;
      this.send({ type: 'ping' });
    }, nodeCheckPeriod);
  }

  private send(message: AgentMessage): void {
    // A closed channel means the process is going away; its exit is what gets reported.
    if (this.child.connected) this.child.send(message, ignore);
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.checkTimer);
    for (const listener of this.listeners.splice(0)) listener();
  }
}

/** The node's side of the channel: its configuration, its readiness, and whether its agent is still there. */
export class AgentChannel {
  /** The agent's configuration, not yet validated: the node loads it like any other. */
  readonly config: Promise<unknown>;

  private constructor() {
    this.config = new Promise((resolve) => {
      process.on('message', (message: AgentMessage) => {
        if (message?.type === 'start') resolve(message.config);
        if (message?.type === 'ping') this.send({ type: 'pong' });
      });
    });
  }

  /** Undefined when this process was not forked with an IPC channel, i.e. not by an agent. */
  static connect(): AgentChannel | undefined {
    return process.send && process.connected ? new AgentChannel() : undefined;
  }

  ready(): void {
    this.send({ type: 'ready' });
  }

  /** The channel closes when the agent exits, however it died: a node never outlives its agent. */
  onAgentGone(listener: () => void): void {
    if (!process.connected) queueMicrotask(listener);
    else process.once('disconnect', listener);
  }

  private send(message: NodeMessage): void {
    if (process.connected) process.send?.(message, undefined, undefined, ignore);
  }
}
