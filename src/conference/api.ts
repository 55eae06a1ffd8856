/** The conference node's bus surface (SPEC §8), with the media controller's (SPEC-MEDIA M4). */
import type { Preference } from '../cluster/api.js';
import type { PermissionUpdate, StreamUpdate } from '../protocol/rest.js';
import type {
  MediaSessionResult,
  ParticipantSummary,
  Permission,
  PublishRequest,
  RoomInfo,
  SoacRequest,
  StreamControlRequest,
  StreamInfo,
  SubscribeRequest,
  SubscriptionControlRequest,
} from '../protocol/socket.js';
import type { MediaControllerRpc } from '../webrtc/api.js';

export type { Permission, ParticipantSummary, StreamInfo } from '../protocol/socket.js';
export type { PermissionUpdate, StreamUpdate } from '../protocol/rest.js';
export { ConferenceErrors, MediaErrors } from '../protocol/errors.js';

export interface ParticipantInfo {
  id: string;
  user: string;
  role: string;
  portal: string;
  origin: Preference;
}

export interface ParticipantDetail extends ParticipantSummary {
  permission: Permission;
  portal: string;
  origin: Preference;
}

export interface JoinResult {
  permission: Permission;
  /** No mixed streams (SPEC-MEDIA M1): `views` is empty; `streams` lists every stream past its `ready`. */
  room: RoomInfo;
}

/**
 * A notification of a participant resuming on another portal, under the room's sequence number:
 * `confirmed` when its previous portal confirmed it emitted it (a 1.2 client may still replay it).
 */
export interface HandedOver {
  event: string;
  data: unknown;
  seq: number;
  confirmed: boolean;
}

export type NodeRpc = MediaControllerRpc & {
  join(room: string, participant: ParticipantInfo): JoinResult;
  /** With `portal`, a leave from a portal that no longer holds the participant is ignored (it moved). */
  leave(participantId: string, portal?: string): void;
  /** The participant now lives on `portal`; answers what its previous portal may not have delivered. */
  resume(participantId: string, portal: string): HandedOver[];
  /**
   * From `portal` (cluster mode): every notification of `room` numbered up to `upTo` reached its
   * participants there, except those listed in `away` with the last number each was sent.
   */
  confirm(room: string, portal: string, upTo: number, away: Array<[string, number]>): void;
  text(from: string, to: string, message: string): void;
  getParticipants(room: string): ParticipantDetail[];
  getParticipant(room: string, participantId: string): ParticipantDetail;
  controlParticipant(room: string, participantId: string, updates: PermissionUpdate[]): ParticipantDetail;
  dropParticipant(room: string, participantId: string): ParticipantDetail;
  /** The management API's view of the room's streams (SPEC-MEDIA M7): those past their `ready`. */
  getStreams(room: string): StreamInfo[];
  getStream(room: string, streamId: string): StreamInfo;
  controlStream(room: string, streamId: string, updates: StreamUpdate[]): StreamInfo;
  removeStream(room: string, streamId: string): void;
  /** The room was deleted: drop everyone in it and let it go. */
  destroyRoom(room: string): void;
  /** Media requests (SPEC-MEDIA M4); the portal names the new session (`streamId`, `subscriptionId`). */
  publish(participantId: string, streamId: string, request: PublishRequest): MediaSessionResult;
  unpublish(participantId: string, streamId: string): void;
  subscribe(participantId: string, subscriptionId: string, request: SubscribeRequest): MediaSessionResult;
  unsubscribe(participantId: string, subscriptionId: string): void;
  soac(participantId: string, request: SoacRequest): void;
  streamControl(participantId: string, request: StreamControlRequest): void;
  subscriptionControl(participantId: string, request: SubscriptionControlRequest): void;
};
