import { RestCodes } from '../protocol/errors.js';
import { MAuthSigner } from '../protocol/mauth.js';
import type {
  Participant,
  ParticipantPlacement,
  PermissionUpdate,
  Preference,
  Room,
  RoomOptions,
  RoomSummary,
  Service,
  ServiceSummary,
  StreamUpdate,
  WorkerView,
} from '../protocol/rest.js';
import type { StreamInfo } from '../protocol/socket.js';

export type { Participant, ServiceSummary, StreamUpdate } from '../protocol/rest.js';
export type { StreamInfo } from '../protocol/socket.js';

export interface ManagementClientOptions {
  /** Base URL of the management API, e.g. `http://127.0.0.1:3000`. */
  url: string;
  serviceId: string;
  key: string;
}

/** A refused request: the HTTP status and the API's `{code, message}` (SPEC §3). */
export class ManagementApiError extends Error {
  override name = 'ManagementApiError';

  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

async function failureOf(response: Response): Promise<ManagementApiError> {
  const text = await response.text();
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof error?.code === 'number' && typeof error.message === 'string') {
      return new ManagementApiError(response.status, error.code, error.message);
    }
  } catch {
    // not the API's error body; reported below as it came
  }
  // The code of an answer that did not come with the API's error body (e.g. a proxy's).
  return new ManagementApiError(response.status, RestCodes.unexpected, text || response.statusText);
}

/** A typed client of the management API that signs every request with MAuth (WebCrypto: Node and browsers). */
export class ManagementClient {
  private readonly base: string;
  private signer: Promise<MAuthSigner> | undefined;

  constructor(private readonly options: ManagementClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  createService(name: string): Promise<Service> {
    return this.json('POST', '/services', { name });
  }

  getServices(): Promise<ServiceSummary[]> {
    return this.json('GET', '/services');
  }

  getService(serviceId: string): Promise<ServiceSummary> {
    return this.json('GET', `/services/${encodeURIComponent(serviceId)}`);
  }

  deleteService(serviceId: string): Promise<void> {
    return this.discard('DELETE', `/services/${encodeURIComponent(serviceId)}`);
  }

  createRoom(name: string, options?: Partial<RoomOptions>): Promise<Room> {
    return this.json('POST', '/v1/rooms', options === undefined ? { name } : { name, options });
  }

  /** `page` is 1-based; without arguments, every room of the service. */
  getRooms(page?: { page?: number; perPage?: number }): Promise<Room[]> {
    const query = new URLSearchParams();
    if (page?.page !== undefined) query.set('page', String(page.page));
    if (page?.perPage !== undefined) query.set('per_page', String(page.perPage));
    const search = query.size > 0 ? `?${query}` : '';
    return this.json('GET', `/v1/rooms${search}`);
  }

  getRoom(roomId: string): Promise<Room> {
    return this.json('GET', this.roomPath(roomId));
  }

  /** Replaces the room's options; those left out return to their defaults. */
  updateRoom(roomId: string, options: Partial<RoomOptions> & { name?: string }): Promise<Room> {
    return this.json('PUT', this.roomPath(roomId), options);
  }

  deleteRoom(roomId: string): Promise<void> {
    return this.discard('DELETE', this.roomPath(roomId));
  }

  /** The join token, as the text a client passes to `login`. */
  async createToken(roomId: string, user: string, role: string, preference?: Preference): Promise<string> {
    const body = preference === undefined ? { user, role } : { user, role, preference };
    return (await this.request('POST', `${this.roomPath(roomId)}/tokens`, body)).text();
  }

  getParticipants(roomId: string): Promise<Participant[]> {
    return this.json('GET', `${this.roomPath(roomId)}/participants`);
  }

  getParticipant(roomId: string, participantId: string): Promise<Participant> {
    return this.json('GET', this.participantPath(roomId, participantId));
  }

  updateParticipant(roomId: string, participantId: string, updates: PermissionUpdate[]): Promise<Participant> {
    return this.json('PATCH', this.participantPath(roomId, participantId), updates);
  }

  dropParticipant(roomId: string, participantId: string): Promise<void> {
    return this.discard('DELETE', this.participantPath(roomId, participantId));
  }

  /** The room's published streams (those past their `ready`); none while nobody is in the room. */
  getStreams(roomId: string): Promise<StreamInfo[]> {
    return this.json('GET', `${this.roomPath(roomId)}/streams`);
  }

  getStream(roomId: string, streamId: string): Promise<StreamInfo> {
    return this.json('GET', this.streamPath(roomId, streamId));
  }

  /** Pauses or plays a stream's tracks (`/media/audio/status`, `/media/video/status`): everyone sees the update. */
  updateStream(roomId: string, streamId: string, updates: StreamUpdate[]): Promise<StreamInfo> {
    return this.json('PATCH', this.streamPath(roomId, streamId), updates);
  }

  /** Stops the stream: its subscriptions end and everyone sees it removed. */
  deleteStream(roomId: string, streamId: string): Promise<void> {
    return this.discard('DELETE', this.streamPath(roomId, streamId));
  }

  /** Super service only: the cluster's workers with their load, state and task counts. */
  getWorkers(): Promise<WorkerView[]> {
    return this.json('GET', '/v1/cluster/workers');
  }

  /** Super service only: every service's rooms with how many participants each has now. */
  getClusterRooms(): Promise<RoomSummary[]> {
    return this.json('GET', '/v1/cluster/rooms');
  }

  /** Super service only: who is in any service's room, and on which portal. */
  getClusterParticipants(roomId: string): Promise<ParticipantPlacement[]> {
    return this.json('GET', this.clusterParticipantsPath(roomId));
  }

  /** Super service only: drops a participant from any service's room. */
  dropClusterParticipant(roomId: string, participantId: string): Promise<void> {
    return this.discard('DELETE', `${this.clusterParticipantsPath(roomId)}/${encodeURIComponent(participantId)}`);
  }

  /** Super service only: the streams of any service's room. */
  getClusterStreams(roomId: string): Promise<StreamInfo[]> {
    return this.json('GET', this.clusterStreamsPath(roomId));
  }

  /** Super service only: stops a stream in any service's room. */
  deleteClusterStream(roomId: string, streamId: string): Promise<void> {
    return this.discard('DELETE', `${this.clusterStreamsPath(roomId)}/${encodeURIComponent(streamId)}`);
  }

  private clusterStreamsPath(roomId: string): string {
    return `/v1/cluster/rooms/${encodeURIComponent(roomId)}/streams`;
  }

  private clusterParticipantsPath(roomId: string): string {
    return `/v1/cluster/rooms/${encodeURIComponent(roomId)}/participants`;
  }

  private roomPath(roomId: string): string {
    return `/v1/rooms/${encodeURIComponent(roomId)}`;
  }

  private participantPath(roomId: string, participantId: string): string {
    return `${this.roomPath(roomId)}/participants/${encodeURIComponent(participantId)}`;
  }

  private streamPath(roomId: string, streamId: string): string {
    return `${this.roomPath(roomId)}/streams/${encodeURIComponent(streamId)}`;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.request(method, path, body)).json()) as T;
  }

  /** For answers that carry nothing of use; reading them frees the connection for reuse. */
  private async discard(method: string, path: string): Promise<void> {
    await (await this.request(method, path)).arrayBuffer();
  }

  /** Signed with MAuth's request method: the header is good for this method, path and body only. */
  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    this.signer ??= MAuthSigner.create(this.options.serviceId, this.options.key);
    const url = new URL(`${this.base}${path}`);
    const text = body === undefined ? undefined : JSON.stringify(body);
    const request = { method, path: `${url.pathname}${url.search}`, body: text };
    const headers: Record<string, string> = { authorization: await (await this.signer).header({ request }) };
    if (text !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, body: text ?? null });
    if (!response.ok) throw await failureOf(response);
    return response;
  }
}
