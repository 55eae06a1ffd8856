/**
 * The part of the OWT JavaScript SDK (`sdk/export.js`, plain JavaScript, served at /owt/) that the
 * harness page uses; tsconfig maps `/owt/export.js` here.
 */
export type TrackKind = 'audio' | 'video' | 'av';
/** The SDK's events: `streamadded` carries a stream, `error` an error, `mute`/`unmute` a kind. */
export interface OwtEvent {
  type: string;
  stream?: Base.RemoteStream;
  error?: Error;
  kind?: TrackKind;
}

declare class EventDispatcher {
  addEventListener(type: string, listener: (event: OwtEvent) => void): void;
}

export declare namespace Base {
  class AudioTrackConstraints {
    constructor(source: 'mic');
  }
  class VideoTrackConstraints {
    constructor(source: 'camera');
  }
  class StreamConstraints {
    constructor(audio: AudioTrackConstraints | false, video: VideoTrackConstraints | false);
  }
  class MediaStreamFactory {
    static createMediaStream(constraints: StreamConstraints): Promise<MediaStream>;
  }
  class StreamSourceInfo {
    constructor(audio: string | undefined, video: string | undefined);
  }
  class LocalStream extends EventDispatcher {
    constructor(stream: MediaStream, source: StreamSourceInfo, attributes?: Record<string, unknown>);
    readonly mediaStream: MediaStream;
  }
  class RemoteStream extends EventDispatcher {
    readonly id: string;
    readonly origin: string;
    readonly source: { audio?: string; video?: string };
    settings: { audio?: unknown[]; video?: unknown[] };
  }
  class Publication extends EventDispatcher {
    readonly id: string;
    stop(): void;
    mute(kind: TrackKind): Promise<void>;
    unmute(kind: TrackKind): Promise<void>;
  }
}

export declare namespace Conference {
  class Subscription extends EventDispatcher {
    readonly id: string;
    stream: MediaStream;
    stop(): void;
  }
  interface ConferenceInfo {
    id: string;
    self: { id: string };
    remoteStreams: Base.RemoteStream[];
  }
  class ConferenceClient extends EventDispatcher {
    constructor(config?: { rtcConfiguration?: RTCConfiguration });
    readonly peerConnection: RTCPeerConnection | undefined;
    readonly info: ConferenceInfo | null;
    join(token: string): Promise<ConferenceInfo>;
    publish(stream: Base.LocalStream): Promise<Base.Publication>;
    subscribe(stream: Base.RemoteStream): Promise<Subscription>;
    send(message: string, participantId?: string): Promise<void>;
    leave(): Promise<void>;
  }
}
