// SPEC §10 defaults. Durations are milliseconds.
export const defaults = {
  dataDir: 'data',
  log: { level: 'info' },
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
  management: {
    port: 3000,
    host: '0.0.0.0',
    replayWindow: 300_000,
    bodyLimit: 65_536,
    tls: { cert: '', key: '' },
    /** Upper bound of the random delay before a 401 for an unknown service or a bad signature. */
    authFailureDelay: 1_000,
    rpcTimeout: 3_000,
    /** Serves `POST /demo/token`: join tokens for anyone who asks. For demos only, never in production. */
    demo: false,
    demoTokensPerIpPerMinute: 20,
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
    strategies: { portal: 'last-used', conference: 'last-used' },
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
};

export type Config = typeof defaults;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type ConfigOverrides = DeepPartial<Config>;
