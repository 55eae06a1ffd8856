/** What the media bench's processes share: the synthetic load, its payload stamp, and their calls. */
import type { Offer } from '../test/support/media-peer.js';
import type { MediaKind } from '../src/webrtc/media.js';
import { preciseNow } from './stats.js';
import type { ProcessUsage } from './usage.js';

/** About 1.5 Mbit/s of video, and Opus at 20 ms frames (SPEC-MEDIA M8's load). */
export const load = {
  video: { rate: 170, bytes: 1_100, payloadType: 96 },
  audio: { rate: 50, bytes: 80, payloadType: 111 },
} as const satisfies Record<MediaKind, { rate: number; bytes: number; payloadType: number }>;

export const mediaKinds: readonly MediaKind[] = ['video', 'audio'];

/** After a VP8 payload descriptor and frame tag (a keyframe every 30 packets): send time, then index. */
const STAMP_OFFSET = 2;
const INDEX_OFFSET = STAMP_OFFSET + 8;

export function stampedPayload(kind: MediaKind, index: number): Buffer {
  const payload = Buffer.alloc(load[kind].bytes);
  payload[0] = 0x10;
  payload[1] = index % 30 === 0 ? 0x00 : 0x01;
  payload.writeDoubleLE(preciseNow(), STAMP_OFFSET);
  payload.writeUInt32LE(index, INDEX_OFFSET);
  return payload;
}

export function sentAtOf(payload: Uint8Array): number {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).readDoubleLE(STAMP_OFFSET);
}

export function indexOf(payload: Uint8Array): number {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).readUInt32LE(INDEX_OFFSET);
}

export function kindOfPayloadType(payloadType: number): MediaKind | undefined {
  return mediaKinds.find((kind) => load[kind].payloadType === payloadType);
}

/** Indices the publisher sent while a measurement ran, per kind: [first, end). */
export type SentRanges = Record<MediaKind, [number, number]>;

/** What the subscribers of one generator saw of the packets in the ranges. */
export interface Reception {
  subscribers: number;
  /** Distinct packets of the ranges that arrived, over all subscribers. */
  received: number;
  /** Packets of the ranges that never arrived (counted after a grace period). */
  lost: number;
  /** Sequence numbers in the NACKs the subscribers sent (one asked again counts each time). */
  nacked: number;
  /** Subscribers that received none of the ranges' packets. */
  silent: number;
  /** Publisher send → subscriber receive, ms, one per arrived packet. */
  delaysMs: number[];
}

export type MediaLoadMethods = {
  usage(): ProcessUsage;
  /** Joins with `token` and publishes the synthetic load; the publication's id. */
  conclavePublish(portalUrl: string, token: string): Promise<string>;
  /** Joins with each token and subscribes to `publication`; why those that failed did. */
  conclaveSubscribe(portalUrl: string, tokens: string[], publication: string): Promise<string[]>;
  /** Werift peers (one publisher sending the load, or subscribers) and their offers, for the bare forwarder. */
  peerOffers(role: 'publisher' | 'subscriber', count: number): Promise<Offer[]>;
  /** Applies the forwarder's answers to the peers `peerOffers` made and waits until they connect; why those that did not failed. */
  peerAnswers(answers: string[]): Promise<string[]>;
  /** Plain UDP subscribers on 127.0.0.1; their ports. */
  udpSubscribers(count: number): Promise<number[]>;
  /** Sends the load as plain RTP to `port`. */
  udpPublish(port: number): void;
  /** Subscribers start recording what arrives. */
  record(): void;
  /** The publisher's next indices: a measurement starts. */
  markStart(): void;
  /** The ranges sent since `markStart`. */
  markEnd(): SentRanges;
  /** What arrived of `ranges`; recording stops. */
  collect(ranges: SentRanges): Reception;
  /** Closes every peer, client and socket. */
  closeAll(): Promise<void>;
};

export type RelayMethods = {
  usage(collectGarbage: boolean): ProcessUsage;
  /** The UDP relay's port for the publisher, sending to `subscriberPorts` besides those already added. */
  udpRelay(subscriberPorts: number[]): Promise<number>;
  /** The bare werift forwarder's answers to a publisher's offer or to subscribers' offers. */
  weriftAnswer(role: 'publisher' | 'subscriber', offers: Offer[]): Promise<string[]>;
  /** How many of the bare forwarder's peer connections are in each connection state. */
  weriftStates(): Record<string, number>;
  closeAll(): Promise<void>;
};
