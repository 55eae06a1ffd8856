import type { Bus } from './bus/index.js';
import { startClusterManager, type ClusterManager } from './cluster/index.js';
import type { Agent } from './agent/index.js';
import { inProcessNodes, startAgentOf, startManagement, withInfrastructure } from './components.js';
import type { Config } from './config/config.js';
import type { Logger } from './logger.js';
import type { Bootstrap, BootstrapOutput, ManagementApi } from './management/index.js';
import { Portal } from './portal/index.js';
import type { Store } from './store/index.js';

export interface EmbeddedServer {
  readonly config: Config;
  readonly store: Store;
  readonly bus: Bus;
  readonly bootstrap: Bootstrap;
  readonly manager: ClusterManager;
  readonly agent: Agent;
  /** The webrtc agent; its nodes run in this process too. */
  readonly webrtcAgent: Agent;
  readonly portal: Portal;
  readonly management: ManagementApi;
  close(): Promise<void>;
}

/** The composition root of the embedded mode (SPEC §1): every component in this process. */
export function startEmbedded(config: Config, logger: Logger, output?: BootstrapOutput): Promise<EmbeddedServer> {
  return withInfrastructure(config, logger, async (infrastructure, closeLater) => {
    // The initial time lets workers of a restarted manager re-send their tasks; here the manager
    // and its workers live and die together, so there is nothing to wait for.
    const manager = closeLater(await startClusterManager({ ...infrastructure, initialTimeMs: 0 }));
    const agent = closeLater(await startAgentOf('conference', infrastructure, inProcessNodes('conference', infrastructure)));
    const webrtcAgent = closeLater(await startAgentOf('webrtc', infrastructure, inProcessNodes('webrtc', infrastructure)));
    const portal = closeLater(await Portal.start(infrastructure));
    const { bootstrap, api: management } = await startManagement(infrastructure, closeLater, output);
    const { store, bus } = infrastructure;
    return { config, store, bus, manager, agent, webrtcAgent, portal, management, bootstrap };
  });
}
