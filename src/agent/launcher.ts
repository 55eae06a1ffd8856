/** How an agent starts its nodes (SPEC §9.5): in its own process (embedded mode), or as child processes (cluster mode). */

export interface LaunchedNode {
  /** Settles once the node serves its RPC; rejects when it could not start. */
  ready: Promise<void>;
  /** The listener runs once when the node ends, whatever the reason: killed, crashed or never started. */
  onExit(listener: () => void): void;
  kill(): Promise<void>;
}

export interface NodeLauncher {
  /** Starts a node that serves NodeRpc at the bus address `nodeId` and reports to `agentId`. */
  launch(nodeId: string, agentId: string): LaunchedNode;
}

export interface RunningNode {
  close(): Promise<void>;
  /** Settles if the node ends by itself (a crash), so the agent can report it. */
  exited?: Promise<void>;
}

export type NodeFactory = (nodeId: string, agentId: string) => Promise<RunningNode>;

/** Runs nodes inside the agent's process, each built by `factory`. */
export class InProcessLauncher implements NodeLauncher {
  constructor(private readonly factory: NodeFactory) {}

  launch(nodeId: string, agentId: string): LaunchedNode {
    const listeners: Array<() => void> = [];
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      for (const listener of listeners.splice(0)) listener();
    };
    const started = Promise.resolve().then(() => this.factory(nodeId, agentId));
    started.then((node) => node.exited?.then(end, end), end);
    const ready = started.then(() => undefined);
    // Prerun nodes are launched before anyone awaits them; a failed start is reported through onExit.
    ready.catch(() => undefined);
    return {
      ready,
      onExit: (listener) => {
        if (ended) queueMicrotask(listener);
        else listeners.push(listener);
      },
      kill: async () => {
        const node = await started.catch(() => undefined);
        try {
          if (node && !ended) await node.close();
        } finally {
          end();
        }
      },
    };
  }
}
