/**
 * What every engine shares around its transports: tracks by mid, the transport's state, one
 * negotiation at a time, a close that runs once; and the engine's count of open transports.
 */
import {
  emptyMediaCounters,
  TransportStates,
  type IceCandidate,
  type MediaCounters,
  type MediaEngine,
  type MediaTransport,
  type MLinePlan,
  type Negotiation,
  type ReceiveTrack,
  type SendTrack,
  type TransportState,
} from './media.js';
import { WebrtcErrors } from './errors.js';

/** For promises and callbacks whose outcome does not matter. */
export const ignore = (): void => undefined;

interface Stoppable {
  stop(): void;
}

export abstract class TransportBase<Receive extends ReceiveTrack & Stoppable, Send extends SendTrack & Stoppable> implements MediaTransport {
  protected readonly receiveTracks = new Map<string, Receive>();
  protected readonly sendTracks = new Map<string, Send>();
  private readonly listeners: Array<(state: TransportState) => void> = [];
  protected negotiations: Promise<unknown> = Promise.resolve();
  protected current: TransportState = TransportStates.new;
  protected closing: Promise<void> | undefined;
  private failedWith: string | undefined;
  private packetWindowStart = 0;
  private packetsInWindow = 0;

  constructor(
    private readonly onClosed: () => void,
    private readonly maxPacketRate: number,
  ) {}

  /** Answers one offer; negotiations never overlap. */
  protected abstract answer(offer: string, plan: ReadonlyMap<string, MLinePlan>): Promise<Negotiation>;
  /** Frees the library's connection, once, after the tracks have stopped. */
  protected abstract release(): Promise<void>;
  abstract addCandidate(candidate: IceCandidate): Promise<void>;

  get state(): TransportState {
    return this.current;
  }

  get failure(): string | undefined {
    return this.failedWith;
  }

  onStateChange(listener: (state: TransportState) => void): void {
    this.listeners.push(listener);
  }

  negotiate(offer: string, plan: ReadonlyMap<string, MLinePlan>): Promise<Negotiation> {
    const negotiation = this.negotiations.then(() => this.answer(offer, plan));
    this.negotiations = negotiation.catch(ignore);
    return negotiation;
  }

  receiveTrack(mid: string): ReceiveTrack | undefined {
    return this.receiveTracks.get(mid);
  }

  sendTrack(mid: string): SendTrack | undefined {
    return this.sendTracks.get(mid);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const track of this.receiveTracks.values()) track.stop();
      for (const track of this.sendTracks.values()) track.stop();
      this.receiveTracks.clear();
      this.sendTracks.clear();
      await this.release();
      this.setState(TransportStates.closed);
      this.onClosed();
    })();
    return this.closing;
  }

  /** Forgets the tracks of an m-line no longer used. */
  protected drop(mid: string): void {
    this.receiveTracks.get(mid)?.stop();
    this.receiveTracks.delete(mid);
    this.sendTracks.get(mid)?.stop();
    this.sendTracks.delete(mid);
  }

  /** Counts a packet from the client: false once it sent more than `maxPacketRate` within a second, and the transport fails. */
  protected admit(now = performance.now()): boolean {
    if (this.maxPacketRate <= 0) return true;
    if (this.failedWith) return false;
    if (now - this.packetWindowStart >= 1_000) {
      this.packetWindowStart = now;
      this.packetsInWindow = 0;
    }
    if (++this.packetsInWindow <= this.maxPacketRate) return true;
    this.failedWith = WebrtcErrors.tooManyPackets;
    this.setState(TransportStates.failed);
    return false;
  }

  protected setState(state: TransportState): void {
    if (this.current === state || this.current === TransportStates.closed) return;
    this.current = state;
    for (const listener of this.listeners) listener(state);
  }
}

/**
 * An engine of the transports `open` makes: it counts them and their packets, and closing it
 * closes them, then runs `release` once.
 */
export function engineOf(open: (counters: MediaCounters, onClosed: () => void) => MediaTransport, release: () => void = ignore): MediaEngine {
  const transports = new Set<MediaTransport>();
  const counters = emptyMediaCounters();
  let closed = false;
  return {
    counters,
    createTransport() {
      const transport = open(counters, () => transports.delete(transport));
      transports.add(transport);
      return transport;
    },
    get transports() {
      return transports.size;
    },
    async close() {
      await Promise.all([...transports].map((transport) => transport.close()));
      if (closed) return;
      closed = true;
      release();
    },
  };
}
