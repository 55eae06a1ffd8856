import type { Session } from './session.js';

export interface TaskHolder {
  addTask(task: string): void;
  removeTask(task: string): void;
}

/**
 * The portal's participants: sessions by participant id and by room, and the token codes its
 * cluster worker holds as tasks (one per logged-in client).
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly rooms = new Map<string, Set<Session>>();
  private readonly ticketOwners = new Map<string, string>();
  /** Participants that may not resume (logged out, dropped), until their last ticket expires. */
  private readonly retired = new Map<string, number>();

  constructor(
    private readonly tasks: TaskHolder,
    private readonly onRemoved: (session: Session) => void = () => undefined,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  get(participantId: string): Session | undefined {
    return this.sessions.get(participantId);
  }

  all(): Session[] {
    return [...this.sessions.values()];
  }

  inRoom(roomId: string): Iterable<Session> {
    return this.rooms.get(roomId) ?? [];
  }

  add(session: Session): void {
    this.sessions.set(session.participantId, session);
    let members = this.rooms.get(session.roomId);
    if (!members) this.rooms.set(session.roomId, (members = new Set()));
    members.add(session);
    this.tasks.addTask(session.tokenCode);
  }

  /** Removes the session; true when it was registered (so callers leave the room only once). */
  remove(session: Session): boolean {
    if (this.sessions.get(session.participantId) !== session) return false;
    this.sessions.delete(session.participantId);
    const members = this.rooms.get(session.roomId);
    members?.delete(session);
    if (members?.size === 0) this.rooms.delete(session.roomId);
    this.forgetTickets(session);
    this.tasks.removeTask(session.tokenCode);
    this.onRemoved(session);
    return true;
  }

  recordTicket(session: Session, ticketId: string): void {
    session.validTickets.add(ticketId);
    this.ticketOwners.set(ticketId, session.participantId);
  }

  ticketOwner(ticketId: string): string | undefined {
    return this.ticketOwners.get(ticketId);
  }

  forgetTickets(session: Session): void {
    for (const ticketId of session.validTickets) this.ticketOwners.delete(ticketId);
    session.validTickets.clear();
  }

  retire(participantId: string, until: number, now = Date.now()): void {
    for (const [id, expiry] of this.retired) {
      if (expiry > now) break;
      this.retired.delete(id);
    }
    this.retired.delete(participantId);
    this.retired.set(participantId, until);
  }

  isRetired(participantId: string, now = Date.now()): boolean {
    const until = this.retired.get(participantId);
    return until !== undefined && until > now;
  }
}
