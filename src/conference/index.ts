export * from './api.js';
export { ConferenceError } from './errors.js';
export { startConferenceNode, type ConferenceNode, type ConferenceNodeDeps } from './node.js';
