/** The management REST API's request and response views (SPEC §2–§3), as clients see them. */
import type { Permission } from './socket.js';

export interface MediaRole {
  role: string;
  publish: { audio: boolean; video: boolean };
  subscribe: { audio: boolean; video: boolean };
}

/** A room as the management API returns it (SPEC §2); `_id` is assigned by the server. */
export interface Room {
  _id: string;
  name: string;
  participantLimit: number;
  inputLimit: number;
  roles: MediaRole[];
  views: Array<Record<string, unknown> & { label: string }>;
  mediaIn: Record<string, unknown>;
  mediaOut: Record<string, unknown>;
  transcoding: Record<string, unknown>;
  notifying: { participantActivities: boolean; streamChange: boolean };
  selectActiveAudio: boolean;
  sip: Record<string, unknown> | false;
}

/** A room as a caller describes it: everything but the server-assigned `_id` and the name. */
export type RoomOptions = Omit<Room, '_id' | 'name'>;

/** `POST /v1/rooms` body. */
export interface CreateRoomBody {
  name: string;
  options: RoomOptions;
}

/** `PUT /v1/rooms/{room}` body: the room's new options (and optionally a new name). */
export type UpdateRoomBody = RoomOptions & { name?: string };

export interface Service {
  _id: string;
  name: string;
  key: string;
  rooms: string[];
}

/** A service as listed: its key is shown only once, when it is created. */
export type ServiceSummary = Omit<Service, 'key'>;

/** Where a client would like to be served (SPEC §3 token `preference`, §9.4 matcher). */
export interface Preference {
  isp?: string | undefined;
  region?: string | undefined;
}

/** `POST /v1/rooms/{room}/tokens` body. */
export interface CreateTokenBody {
  user?: string;
  role?: string;
  preference?: Preference;
}

/** A participant as `/v1/rooms/{room}/participants` shows it. */
export interface Participant {
  id: string;
  user: string;
  role: string;
  permission: Permission;
}

/** One element of the `PATCH /v1/rooms/{room}/participants/{id}` body (SPEC §3). */
export interface PermissionUpdate {
  op: string;
  path: string;
  value: unknown;
}

/** One element of the `PATCH /v1/rooms/{room}/streams/{stream}` body (SPEC-MEDIA M7). */
export interface StreamUpdate {
  op: string;
  path: string;
  value?: unknown;
}

/** What a cluster worker does (SPEC §9). */
export type WorkerPurpose = 'portal' | 'conference' | 'webrtc';

/** The worker state in which it takes new tasks (SPEC §9.1, §9.3); a worker reporting none counts too. */
export const WORKER_STATE_AVAILABLE = 2;

/** `GET /v1/cluster/workers`, one element. */
export interface WorkerView {
  id: string;
  purpose: WorkerPurpose;
  state: number;
  load: number;
  maxLoad: number;
  /** Where the worker says it is reached: `host:port`, or the host alone for a worker with no port. */
  address: string;
  /** Counts only: a portal's tasks are token codes, which stay inside the cluster. */
  tasks: number;
  reservations: number;
}

/** `GET /v1/cluster/rooms`, one element. */
export interface RoomSummary {
  _id: string;
  name: string;
  service: { _id: string; name: string };
  participants: number;
}

/** `GET /v1/cluster/rooms/{room}/participants`, one element: who, on which portal, and whether it is connected now. */
export interface ParticipantPlacement {
  id: string;
  user: string;
  role: string;
  portal: string;
  /** False while its portal waits for it to reconnect (its transport was lost), until `portal.reconnectionTimeout`. */
  connected: boolean;
}

/** What a portal tells the management API about its participants' connections. */
export type PortalPresenceRpc = {
  /** Of `participantIds`, those this portal holds while it waits for them to reconnect. */
  awayOf(participantIds: string[]): string[];
};
