import { labelText, metrics } from '../metrics.js';
import type { WebrtcNodeStats } from '../webrtc/api.js';
import type { MediaNodeStats } from './cluster.js';

/** Counts a management API request, by route and status, in the process's metrics. */
export function recordRequest(method: string, route: string, status: number, seconds: number): void {
  const labels = { component: 'management-api', method, route, status: String(status) };
  metrics.count('conclave_management_http_requests_total', 'Management API requests by route and status.', labels);
  metrics.count('conclave_management_http_request_seconds_total', 'Time spent answering, by route and status.', labels, seconds);
}

const mediaFigures: ReadonlyArray<{ key: keyof WebrtcNodeStats; name: string; type: 'gauge' | 'counter'; help: string }> = [
  { key: 'transports', name: 'conclave_webrtc_transports', type: 'gauge', help: 'Transports (client peer connections) open on the webrtc node.' },
  { key: 'publications', name: 'conclave_webrtc_publications', type: 'gauge', help: 'Publications on the webrtc node.' },
  { key: 'subscriptions', name: 'conclave_webrtc_subscriptions', type: 'gauge', help: 'Subscriptions on the webrtc node.' },
  { key: 'rtpPacketsIn', name: 'conclave_webrtc_rtp_packets_received_total', type: 'counter', help: 'RTP packets received from publishers.' },
  { key: 'rtpBytesIn', name: 'conclave_webrtc_rtp_bytes_received_total', type: 'counter', help: 'RTP bytes (header and payload) received from publishers.' },
  { key: 'rtpPacketsOut', name: 'conclave_webrtc_rtp_packets_sent_total', type: 'counter', help: 'RTP packets forwarded to subscribers.' },
  { key: 'rtpBytesOut', name: 'conclave_webrtc_rtp_bytes_sent_total', type: 'counter', help: 'RTP bytes (header and payload) forwarded to subscribers.' },
  { key: 'nacksReceived', name: 'conclave_webrtc_nacks_received_total', type: 'counter', help: 'Retransmission requests (NACK) from subscribers.' },
  { key: 'keyframeRequestsReceived', name: 'conclave_webrtc_keyframe_requests_received_total', type: 'counter', help: 'Keyframe requests (PLI, FIR) from subscribers.' },
  { key: 'packetsLost', name: 'conclave_webrtc_packets_lost_total', type: 'counter', help: 'Packets missing from publishers\' sequence numbers as they arrived.' },
];

/** Each webrtc node's figures, labelled with its agent and node (one process each in cluster mode). */
export function renderMediaMetrics(nodes: readonly MediaNodeStats[]): string {
  const lines = mediaFigures.flatMap(({ key, name, type, help }) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...nodes.map(({ agent, node, stats }) => `${name}${labelText({ agent, node })} ${stats[key]}`),
  ]);
  return `${lines.join('\n')}\n`;
}
