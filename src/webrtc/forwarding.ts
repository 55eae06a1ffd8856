/**
 * What every engine's tracks share: a publisher's track feeds the subscribers' tracks that forward
 * it, and a subscriber's track switches between sources keeping its stream continuous.
 */
import type { Codec, MediaKind, ReceiveTrack, SendTrack } from './media.js';
import { Continuity } from './rtp.js';

export abstract class SourceTrack<Sink extends SinkTrack<SourceTrack<Sink>>> implements ReceiveTrack {
  /** An array rather than a set: it is walked for every packet and changes only on (un)subscription. */
  protected sinks: Sink[] = [];
  receiving = false;
  private readonly firstPacketListeners: Array<() => void> = [];

  constructor(
    readonly kind: MediaKind,
    readonly codec: Codec,
  ) {}

  abstract requestKeyframe(): void;

  onFirstPacket(listener: () => void): void {
    if (this.receiving) queueMicrotask(listener);
    else this.firstPacketListeners.push(listener);
  }

  addSink(sink: Sink): void {
    if (!this.sinks.includes(sink)) this.sinks = [...this.sinks, sink];
  }

  removeSink(sink: Sink): void {
    this.sinks = this.sinks.filter((existing) => existing !== sink);
  }

  stop(): void {
    this.firstPacketListeners.length = 0;
    for (const sink of [...this.sinks]) sink.forward(null);
  }

  /** Notes that a packet arrived: the first one runs the first-packet listeners. */
  protected arrived(): void {
    if (this.receiving) return;
    this.receiving = true;
    for (const listener of this.firstPacketListeners.splice(0)) listener();
  }
}

export abstract class SinkTrack<Source extends SourceTrack<SinkTrack<Source>>> implements SendTrack {
  private source: Source | null = null;
  private readonly keyframeListeners: Array<() => void> = [];
  protected readonly continuity: Continuity;

  constructor(
    readonly kind: MediaKind,
    readonly codec: Codec,
  ) {
    this.continuity = new Continuity(codec.clockRate);
  }

  /** Whether `track` is a track of this engine, the only ones it forwards. */
  protected abstract forwards(track: ReceiveTrack): track is Source;

  forward(source: ReceiveTrack | null): void {
    if (source !== null && !this.forwards(source)) throw new TypeError('a track forwards only the tracks of its own media engine');
    if (source === this.source) return;
    this.source?.removeSink(this);
    this.source = source;
    source?.addSink(this);
    this.continuity.restart();
  }

  onKeyframeRequest(listener: () => void): void {
    this.keyframeListeners.push(listener);
  }

  keyframeRequested(): void {
    for (const listener of this.keyframeListeners) listener();
  }

  stop(): void {
    this.forward(null);
    this.keyframeListeners.length = 0;
  }
}
