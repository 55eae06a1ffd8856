export * from './api.js';
export { startWebrtcNode, type WebrtcNode, type WebrtcNodeDeps } from './node.js';
