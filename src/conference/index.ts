export * from './api.js';
export { startConferenceNode, type ConferenceNode, type ConferenceNodeDeps } from './node.js';
export {
  AgentChannel,
  NODE_COMMAND,
  NodeProcessErrors,
  ProcessLauncher,
  type ProcessLauncherOptions,
} from './node-process.js';
