import type { ClaimResult, SessionRecord } from './store.js';

export interface SessionRow {
  tickets: string;
  retired: number | boolean;
  expires_at: number | string;
  document: string;
}

/** The claim rule both backends apply inside their transaction; `ok` means: spend the tickets, move the session. */
export function judgeClaim(row: SessionRow | undefined, ticketId: string, now: number): ClaimResult {
  if (!row || Number(row.expires_at) < now) return { status: 'missing' };
  if (Number(row.retired)) return { status: 'retired' };
  if (!(JSON.parse(row.tickets) as string[]).includes(ticketId)) return { status: 'ticket-used' };
  return { status: 'ok', session: JSON.parse(row.document) as SessionRecord };
}
