export * from './api.js';
export { startAgent, type Agent, type AgentDeps } from './agent.js';
export { InProcessLauncher, type LaunchedNode, type NodeFactory, type NodeLauncher, type RunningNode } from './launcher.js';
export { AgentError, NodeManagerErrors } from './errors.js';
export { NodeManager, type NodeSnapshot, type RoomTasks } from './node-manager.js';
export {
  AgentChannel,
  NODE_COMMANDS,
  NodeProcessErrors,
  nodePurposeOf,
  ProcessLauncher,
  type ProcessLauncherOptions,
} from './node-process.js';
