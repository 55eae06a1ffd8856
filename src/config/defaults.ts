// SPEC §10 defaults. Durations are milliseconds.
export const defaults = {
  dataDir: 'data',
  /** After a stop signal the process exits within this, whatever is still closing (and says what). */
  shutdownTimeout: 10_000,
  /** `json`: one JSON object a line, for collectors; `pretty`: readable text, for people. */
  log: { level: 'info', format: 'json' as 'json' | 'pretty' },
  store: { type: 'sqlite' as 'sqlite' | 'postgres', postgresUrl: 'postgres://postgres@127.0.0.1:5432/test', postgresSchema: 'public' },
  bus: {
    type: 'in-process' as 'in-process' | 'amqp',
    amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
    exchange: 'conclave',
    reconnectDelay: 100,
    maxReconnectDelay: 5_000,
    heartbeat: 10_000,
  },
  tokens: { lifetime: 180_000 },
  /** `GET /metrics`: on the management API's port (`port` 0), on a listener of its own in every process, or off. */
  metrics: { enabled: true, host: '127.0.0.1', port: 0 },
  management: {
    port: 3000,
    host: '0.0.0.0',
    replayWindow: 300_000,
    /** Refuse OWT's MAuth signature, which covers no request, and take only HMAC_SHA256_REQUEST. */
    requireRequestSignature: false,
    bodyLimit: 65_536,
    tls: { cert: '', key: '' },
    /** A TCP connection that has not completed a request by then is closed. */
    firstRequestTimeout: 10_000,
    /** Open connections in all; 0: a tenth of the open-file limit. */
    maxSockets: 0,
    /** Open connections per client address; 0: a quarter of maxSockets, at most 2,000. */
    maxSocketsPerIp: 0,
    /** Upper bound of the random delay before a 401 for an unknown service or a bad signature. */
    authFailureDelay: 1_000,
    rpcTimeout: 3_000,
    /** Lets `/metrics` answer callers beyond this host that send `Authorization: Bearer <it>`. */
    metricsToken: '',
    /** Serves `POST /demo/token`: join tokens for anyone who asks. For demos only, never in production. */
    demo: false,
    demoTokensPerIpPerMinute: 20,
    /** Names of the super service's rooms the demo also gives tokens for, besides the sample room. */
    demoRooms: [] as string[],
  },
  portal: {
    port: 8080,
    host: '0.0.0.0',
    hostname: '',
    ip: '127.0.0.1',
    viaHost: '',
    tls: { cert: '', key: '' },
    cors: ['*'],
    loginTimeout: 180_000,
    reconnectionTicketLifetime: 600_000,
    reconnectionTimeout: 60_000,
    pingInterval: 25_000,
    pingTimeout: 20_000,
    messageBufferSize: 1_000,
    joinTimeout: 6_000,
    textTimeout: 4_000,
    rpcTimeout: 4_000,
    tokenKeyReload: 6_000,
    maxHttpBufferSize: 65_536,
    /** A TCP connection that has not completed a request or WebSocket handshake by then is closed. */
    firstRequestTimeout: 10_000,
    /** Open TCP connections in all; 0: 70% of the open-file limit. */
    maxSockets: 0,
    /** Open TCP connections per client address; 0: a quarter of maxSockets, at most 2,000. */
    maxSocketsPerIp: 0,
    /** Socket.IO connections per client address, checked at the handshake. */
    maxConnectionsPerIp: 1_000,
    loginAttemptsPerIpPerMinute: 6_000,
    eventsPerSecond: 50,
    /** A connection over `eventsPerSecond` this many seconds in a row is disconnected. */
    disconnectAfterExcessSeconds: 3,
    maxParticipants: 20_000,
    isps: [] as string[],
    regions: [] as string[],
  },
  cluster: {
    keepAlivePeriod: 800,
    checkPeriod: 1_000,
    checkAliveCount: 10,
    initialTime: 10_000,
    maxLoad: 0.85,
    joinRetries: 60,
    joinRetryInterval: 800,
    rpcTimeout: 3_000,
    loadReportPeriod: 1_000,
    loadMeter: 'auto',
    conferenceReserve: 30_000,
    /** A standby cluster manager retries this often when it cannot reach the store's lock. */
    leadershipRetryInterval: 1_000,
    strategies: { portal: 'last-used', conference: 'last-used', webrtc: 'last-used' },
  },
  agent: {
    prerunProcesses: 2,
    maxProcesses: -1,
    nodeReadyTimeout: 1_500,
    nodeCheckPeriod: 1_000,
    /** A node process that misses this many checks in a row is killed and reported lost. */
    nodeCheckAliveCount: 3,
    /** A node process asked to stop is killed if it has not exited after this long. */
    nodeStopTimeout: 2_000,
  },
  conference: {
    idleRoomTimeout: 30_000,
    maxTextLength: 2_048,
  },
  /** The media plane (SPEC-MEDIA M2, M6). */
  webrtc: {
    /**
     * The media library: datachannel (libdatachannel's C++ through node-datachannel), which forwards
     * a packet for less than half werift's CPU, or werift (pure TypeScript).
     */
    engine: 'datachannel' as 'werift' | 'datachannel',
    /** What UDP sockets bind; `0.0.0.0` needs `announcedIp`. */
    listenIp: '127.0.0.1',
    /** What candidates announce (a public address behind NAT); empty: the listen address. */
    announcedIp: '',
    /** `min-max`, or empty for any port the system gives. */
    portRange: '',
    /** `stun:`/`turn:` URLs the server gathers candidates with; none, so nothing outside is contacted. */
    iceServers: [] as string[],
    iceUsername: '',
    iceCredential: '',
    /** Bits per second a publication's video is capped at (REMB to the publisher); 0 for no cap. */
    maxBitrate: 2_000_000,
    /** How long the room's controller waits for the webrtc node's answer to an offer (the SDK waits 10 s). */
    negotiationTimeout: 5_000,
    /** A transport not connected (ICE and DTLS) this long after its answer has failed. */
    connectTimeout: 30_000,
    /** A publisher is asked for a keyframe at most this often, however many subscribers ask. */
    keyframeInterval: 500,
    maxPublicationsPerParticipant: 4,
    maxSubscriptionsPerParticipant: 100,
    maxTracksPerPublication: 2,
    maxTransportsPerNode: 1_000,
    /**
     * Packets a second one transport may receive (RTP and RTCP of all its m-lines; 30 Mbit/s of
     * video is about 3,000): a client sending more is cut off before it fills the node's memory. 0: no limit.
     */
    maxPacketRate: 5_000,
    /** What this webrtc agent serves: a room's media goes to an agent matching its first user's token `preference`. */
    isps: [] as string[],
    regions: [] as string[],
  },
};

export type Config = typeof defaults;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type ConfigOverrides = DeepPartial<Config>;
