import { createBus, type Bus } from './bus/index.js';
import { startClusterManager, type ClusterManager } from './cluster/index.js';
import { InProcessLauncher, startConferenceAgent, type ConferenceAgent } from './conference/agent.js';
import { startConferenceNode } from './conference/index.js';
import type { Config } from './config/config.js';
import type { Logger } from './logger.js';
import { bootstrap, startManagementApi, type Bootstrap, type ManagementApi } from './management/index.js';
import { Portal } from './portal/index.js';
import { createStore, type Store } from './store/index.js';

export interface EmbeddedServer {
  readonly config: Config;
  readonly store: Store;
  readonly bus: Bus;
  readonly bootstrap: Bootstrap;
  readonly manager: ClusterManager;
  readonly agent: ConferenceAgent;
  readonly portal: Portal;
  readonly management: ManagementApi;
  close(): Promise<void>;
}

/** The composition root of the embedded mode (SPEC §1): every component in this process. */
export async function startEmbedded(config: Config, logger: Logger, output?: NodeJS.WritableStream): Promise<EmbeddedServer> {
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
    }
  };
  try {
    const store = await createStore(config);
    closers.push(() => store.close());
    const bus = await createBus(config);
    closers.push(() => bus.close());
    const credentials = await bootstrap({ config, store, logger, ...(output ? { output } : {}) });
    // The initial time lets workers of a restarted manager re-send their tasks; here the manager
    // and its workers live and die together, so there is nothing to wait for.
    const manager = await startClusterManager({ config, bus, logger, initialTimeMs: 0 });
    closers.push(() => manager.close());
    const launcher = new InProcessLauncher((id, agentId) => startConferenceNode({ id, agentId, config, bus, store, logger }));
    const agent = await startConferenceAgent({ config, bus, logger, launcher });
    closers.push(() => agent.close());
    const portal = await Portal.start({ config, bus, store, logger });
    closers.push(() => portal.close());
    const management = await startManagementApi({ config, store, bus, logger });
    closers.push(() => management.close());
    let closing: Promise<void> | undefined;
    return {
      config, store, bus, manager, agent, portal, management, bootstrap: credentials,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
