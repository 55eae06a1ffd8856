import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { TypedEmitter } from './emitter.js';

export type ClientProtocol = '1.0' | '1.1' | '1.2' | 'legacy';

export interface ConferenceClientOptions {
  /** Portal URL; a token's `host`/`secure` give it when omitted. */
  url?: string;
  protocol?: ClientProtocol;
  sdk?: { type: string; version: string };
  /** Re-log in with the reconnection ticket when the transport comes back (default true). */
  autoRelogin?: boolean;
  /** Refresh the ticket this long before it expires (default 60 s, like the OWT SDK). */
  refreshBeforeMs?: number;
  socket?: Partial<ManagerOptions & SocketOptions>;
}

export const ClientStates = {
  idle: 'idle',
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  resumed: 'resumed',
  dropped: 'dropped',
  left: 'left',
} as const;
export type ClientState = (typeof ClientStates)[keyof typeof ClientStates];

export interface Notification {
  event: string;
  data: unknown;
}

export class ConferenceRequestError extends Error {
  override name = 'ConferenceRequestError';
}

interface TicketBody {
  notAfter: number;
}

function decodeTicket(ticket: string): TicketBody | undefined {
  try {
    const parsed = JSON.parse(atob(ticket)) as TicketBody;
    return Number.isFinite(parsed.notAfter) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

const lifecycleEvents = new Set(['connect', 'disconnect', 'connect_error']);

export interface ConferenceClientEvents extends Record<string, unknown> {
  notification: Notification;
  state: ClientState;
  'relogin-failed': Error;
}

/**
 * A typed client of the portal protocol (SPEC §4–§7) for Node and browsers: logs in with a token,
 * keeps its reconnection ticket fresh, re-logs in after a transport drop and hands every
 * notification to `notification` listeners exactly once and in order.
 *
 * Events: `notification` (Notification), `state` (ClientState), `relogin-failed` (Error).
 */
export class ConferenceClient extends TypedEmitter<ConferenceClientEvents> {
  readonly socket: Socket;
  private ticket: string | undefined;
  private lastSeq = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private current: ClientState = ClientStates.idle;
  private loggedIn = false;
  private readonly options: Required<Omit<ConferenceClientOptions, 'url' | 'socket'>>;

  constructor(url: string, options: ConferenceClientOptions = {}) {
    super();
    this.options = {
      protocol: options.protocol ?? '1.2',
      sdk: options.sdk ?? { type: 'JavaScript', version: '5.1' },
      autoRelogin: options.autoRelogin ?? true,
      refreshBeforeMs: options.refreshBeforeMs ?? 60_000,
    };
    this.socket = io(url, { autoConnect: false, reconnectionDelay: 100, reconnectionDelayMax: 1_000, ...options.socket });
    this.socket.onAny((event: string, data: unknown, seq?: unknown) => this.onIncoming(event, data, seq));
    this.socket.on('connect', () => {
      if (this.loggedIn && this.options.autoRelogin && this.ticket) void this.relogin();
    });
    this.socket.on('disconnect', () => {
      if (this.loggedIn && this.current !== ClientStates.dropped) this.setState(ClientStates.reconnecting);
    });
  }

  get state(): ClientState {
    return this.current;
  }

  get reconnectionTicket(): string | undefined {
    return this.ticket;
  }

  /** Connects and logs in; resolves with the login result (legacy or versioned shape). */
  async join(token: string): Promise<Record<string, unknown>> {
    this.setState(ClientStates.connecting);
    if (!this.socket.connected) {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => {
          this.socket.off('connect', onConnect);
          reject(error);
        };
        const onConnect = () => {
          this.socket.off('connect_error', onError);
          resolve();
        };
        this.socket.once('connect', onConnect);
        this.socket.once('connect_error', onError);
        this.socket.connect();
      });
    }
    const payload: Record<string, unknown> = { token, userAgent: { sdk: this.options.sdk } };
    if (this.options.protocol !== 'legacy') payload['protocol'] = this.options.protocol;
    const result = (await this.request('login', payload)) as Record<string, unknown>;
    this.loggedIn = true;
    this.lastSeq = 0;
    if (typeof result['reconnectionTicket'] === 'string') this.adoptTicket(result['reconnectionTicket']);
    this.setState(ClientStates.connected);
    return result;
  }

  /** Sends text to one participant id or to 'all'. */
  async send(to: string, message: string): Promise<void> {
    if (this.options.protocol === 'legacy') await this.request('customMessage', { type: 'data', receiver: to, data: message });
    else await this.request('text', { to, message });
  }

  /** Logs out and closes the socket. */
  async leave(): Promise<void> {
    this.loggedIn = false;
    clearTimeout(this.refreshTimer);
    try {
      if (this.socket.connected) await this.request('logout', undefined);
    } finally {
      this.setState(ClientStates.left);
      this.socket.disconnect();
    }
  }

  /** Closes the socket without logging out, as a crashed or unplugged client would. */
  close(): void {
    this.loggedIn = false;
    clearTimeout(this.refreshTimer);
    this.socket.disconnect();
  }

  /**
   * Emits an event and resolves with the ack's data, or rejects with the ack's error message.
   * `accept` takes the data inside the ack itself, before events read along with it are dispatched.
   */
  request(event: string, payload: unknown, accept?: (data: unknown) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const ack = (status: unknown, data?: unknown) => {
        if (status !== 'ok' && status !== 'success') {
          reject(new ConferenceRequestError(typeof data === 'string' ? data : JSON.stringify(data)));
          return;
        }
        try {
          accept?.(data);
          resolve(data);
        } catch (error) {
          reject(error instanceof Error ? error : new ConferenceRequestError(String(error)));
        }
      };
      if (payload === undefined) this.socket.emit(event, ack);
      else this.socket.emit(event, payload, ack);
    });
  }

  async refreshTicket(): Promise<string> {
    const ticket = (await this.request('refreshReconnectionTicket', undefined)) as string;
    this.adoptTicket(ticket);
    return ticket;
  }

  private async relogin(): Promise<void> {
    try {
      // A live notification can arrive in the same read as the answer; replaying the buffer after
      // an await would let its sequence number hide older buffered messages.
      await this.request('relogin', this.ticket, (answer) => {
        if (typeof answer === 'string') {
          this.adoptTicket(answer);
          return;
        }
        const { ticket, messages } = answer as { ticket: string; messages: Array<{ event: string; data: unknown; seq: number }> };
        this.adoptTicket(ticket);
        for (const message of messages) this.onIncoming(message.event, message.data, message.seq);
      });
      this.setState(ClientStates.resumed);
    } catch (error) {
      this.loggedIn = false;
      clearTimeout(this.refreshTimer);
      this.setState(ClientStates.dropped);
      this.emit('relogin-failed', error instanceof Error ? error : new ConferenceRequestError(String(error)));
    }
  }

  private adoptTicket(ticket: string): void {
    this.ticket = ticket;
    clearTimeout(this.refreshTimer);
    const body = decodeTicket(ticket);
    if (!body) return;
    const lifetime = body.notAfter - Date.now();
    const wait = Math.max(lifetime - Math.min(this.options.refreshBeforeMs, lifetime / 2), 0);
    this.refreshTimer = setTimeout(() => {
      if (this.socket.connected && this.loggedIn) this.refreshTicket().catch(() => undefined);
    }, wait);
    // In Node the refresh must not keep the process alive; browser timers are plain numbers.
    if (typeof this.refreshTimer === 'object') this.refreshTimer.unref();
  }

  private onIncoming(event: string, data: unknown, seq: unknown): void {
    if (lifecycleEvents.has(event)) return;
    if (typeof seq === 'number') {
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
    }
    if (event === 'drop') {
      this.loggedIn = false;
      clearTimeout(this.refreshTimer);
      this.setState(ClientStates.dropped);
    }
    this.emit('notification', { event, data } satisfies Notification);
  }

  private setState(state: ClientState): void {
    if (this.current === state) return;
    this.current = state;
    this.emit('state', state);
  }
}
