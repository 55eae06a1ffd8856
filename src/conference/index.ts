export * from './api.js';
export { startConferenceNode, type ConferenceNode, type ConferenceNodeDeps } from './node.js';
