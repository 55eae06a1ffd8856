import type { Session } from './session.js';

/** The portal's side of a room's delivery log: the node is told what reached its participants here. */
export type ConfirmationSink = (node: string, room: string, upTo: number, away: Array<[string, number]>) => void;

interface Progress {
  room: string;
  /** The highest number this portal took from the node. */
  upTo: number;
  due: boolean;
}

/**
 * Cluster mode (SPEC §6): a node keeps each notification until the portal of every participant it
 * concerns confirms it, so that a participant whose portal dies resumes elsewhere with nothing
 * missing. Notifications reach a portal in the order the node numbered them, so one number per node
 * says what every connected participant here got; those away are listed with what they last got.
 * Confirmations go out once per turn of the event loop, whatever the number of notifications.
 */
export class Confirmations {
  private readonly progress = new Map<string, Progress>();

  constructor(
    private readonly sessionsOf: (node: string, room: string) => Session[],
    private readonly send: ConfirmationSink,
  ) {}

  /** `session` took the notification numbered `seq` from its node (sent, or pending while it is away). */
  took(session: Session, seq: number): void {
    const { node } = session.controller;
    const progress = this.progress.get(node);
    if (progress && progress.room === session.roomId) progress.upTo = Math.max(progress.upTo, seq);
    else this.progress.set(node, { room: session.roomId, upTo: seq, due: false });
    this.confirmSoon(session);
  }

  /** Something reached `session` outside a notification (its pending ones after a relogin). */
  confirmSoon(session: Session): void {
    const progress = this.progress.get(session.controller.node);
    if (!progress || progress.due) return;
    progress.due = true;
    setImmediate(() => this.flush(session.controller.node, progress));
  }

  /**
   * The session left this portal. With the last of its node's sessions the numbering is forgotten:
   * the node may host a new room, numbered afresh, by the time another session of it comes here.
   */
  left(session: Session): void {
    const { node } = session.controller;
    if (this.sessionsOf(node, session.roomId).length === 0) this.progress.delete(node);
  }

  private flush(node: string, progress: Progress): void {
    progress.due = false;
    if (this.progress.get(node) !== progress) return;
    const away: Array<[string, number]> = [];
    for (const session of this.sessionsOf(node, progress.room)) {
      if (!session.carrier.isConnected) away.push([session.participantId, session.outbox.lastDelivered]);
    }
    this.send(node, progress.room, progress.upTo, away);
  }
}
