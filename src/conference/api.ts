/** The conference agent's and conference node's bus surfaces (SPEC §8, §9.5). */
import type { Preference } from '../cluster/api.js';

export interface Permission {
  publish: { audio: boolean; video: boolean } | false;
  subscribe: { audio: boolean; video: boolean } | false;
}

export interface ParticipantInfo {
  id: string;
  user: string;
  role: string;
  portal: string;
  origin: Preference;
}

export interface ParticipantSummary {
  id: string;
  user: string;
  role: string;
}

export interface ParticipantDetail extends ParticipantSummary {
  permission: Permission;
  portal: string;
  origin: Preference;
}

export interface JoinResult {
  permission: Permission;
  room: { id: string; views: string[]; participants: ParticipantSummary[]; streams: unknown[] };
}

export interface PermissionUpdate {
  op: string;
  path: string;
  value: unknown;
}

export type AgentRpc = {
  /** Returns the bus address of the node that hosts (or will host) the room. */
  getNode(task: { room: string; task: string }): string;
  /** The node that hosts the task now, or null. */
  queryNode(task: string): string | null;
  recycleNode(node: string, task: { room: string; task: string }): void;
};

/** A notification the node kept for a participant while its portal was gone. */
export interface HeldNotification {
  event: string;
  data: unknown;
}

export type NodeRpc = {
  join(room: string, participant: ParticipantInfo): JoinResult;
  /** With `portal`, a leave from a portal that no longer holds the participant is ignored (it moved). */
  leave(participantId: string, portal?: string): void;
  /** The participant now lives on `portal`; answers what was held for it while it had no portal. */
  resume(participantId: string, portal: string): HeldNotification[];
  text(from: string, to: string, message: string): void;
  getParticipants(room: string): ParticipantDetail[];
  getParticipant(room: string, participantId: string): ParticipantDetail;
  controlParticipant(room: string, participantId: string, updates: PermissionUpdate[]): ParticipantDetail;
  dropParticipant(room: string, participantId: string): ParticipantDetail;
  /** The room was deleted: drop everyone in it and let it go. */
  destroyRoom(room: string): void;
};

export const ConferenceErrors = {
  roomFull: 'Room is full',
  invalidRole: 'Invalid role',
  roomClash: 'room id clash',
  roomNotFound: 'Room not found',
  notJoined: 'Participant has not joined',
  alreadyJoined: 'Participant has already joined',
  participantNotFound: 'Participant does NOT exist',
  targetNotFound: (id: string) => `Target participant does NOT exist: ${id}`,
  textTooLong: 'Text is too long',
  noTextPermission: 'Permission denied',
  invalidPath: 'Invalid json path',
  invalidOp: 'Invalid json op',
  invalidValue: 'Invalid json value',
  nodeNotReady: 'node not ready',
  invalidArgument: (name: string, expected: string) => `Invalid argument: ${name} must be ${expected}`,
} as const;
