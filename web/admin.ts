/** The admin page: the super service's view of rooms, participants, streams and workers, refreshed every second. */
import { messageOf, type RestErrorBody } from '../src/protocol/errors.js';
import { MAuthSigner } from '../src/protocol/mauth.js';
import { WORKER_STATE_AVAILABLE, type ParticipantPlacement, type RoomSummary, type WorkerView } from '../src/protocol/rest.js';
import type { StreamInfo } from '../src/protocol/socket.js';
import { byId, element, report, show } from './page.js';
import { streamRows } from './stream-rows.js';

const REFRESH_MS = 1_000;

const signInSection = byId('sign-in-section');
const signInForm = byId<HTMLFormElement>('sign-in-form');
const signInButton = byId<HTMLButtonElement>('sign-in-button');
const serviceIdInput = byId<HTMLInputElement>('service-id');
const serviceKeyInput = byId<HTMLInputElement>('service-key');
const adminError = byId('admin-error');
const dashboard = byId('dashboard');
const dashboardHeading = byId('dashboard-heading');
const updated = byId('updated');
const signOutButton = byId<HTMLButtonElement>('sign-out-button');
const roomRows = byId<HTMLTableElement>('rooms').tBodies[0]!;
const selectedRoomLabel = byId('selected-room');
const participantsEmpty = byId('participants-empty');
const participantTable = byId<HTMLTableElement>('room-participants');
const participantRows = participantTable.tBodies[0]!;
const dropStatus = byId('drop-status');
const participantsHeading = byId('participants-heading');
const streamsRoomLabel = byId('streams-room');
const streamsEmpty = byId('streams-empty');
const streamTable = byId<HTMLTableElement>('room-streams');
const streamTableRows = streamTable.tBodies[0]!;
const stopStatus = byId('stop-status');
const streamsHeading = byId('streams-heading');
const workerRows = byId<HTMLTableElement>('workers').tBodies[0]!;

let signer: MAuthSigner | undefined;
let selectedRoomId: string | undefined;
let rooms: RoomSummary[] = [];
let refreshTimer: ReturnType<typeof setTimeout> | undefined;

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function api<T>(method: string, path: string): Promise<T> {
  if (!signer) throw new Error('Not signed in');
  // Signed for this very request (MAuth's request method), so a header seen on its way authorises nothing else.
  const url = new URL(path, location.href);
  const authorization = await signer.header({ request: { method, path: `${url.pathname}${url.search}` } });
  const response = await fetch(url, { method, headers: { authorization } });
  const text = await response.text();
  if (!response.ok) {
    let message = `The server answered ${response.status}.`;
    try {
      message = (JSON.parse(text) as RestErrorBody).error.message;
    } catch {
      // not the API's error body
    }
    throw new RequestError(response.status, message);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

function cell(text: string, className = ''): HTMLTableCellElement {
  return element('td', text, className ? { class: className } : {});
}

/**
 * Replaces a table body's rows only when they changed, so screen readers hear only changes; a
 * focused button keeps the focus in its new row.
 */
function replaceRows(body: HTMLTableSectionElement, rows: HTMLTableRowElement[]): void {
  const before = [...body.rows].map((row) => row.outerHTML).join('');
  const after = rows.map((row) => row.outerHTML).join('');
  if (before === after) return;
  const focusedKey = body.contains(document.activeElement) ? document.activeElement?.getAttribute('data-key') : null;
  body.replaceChildren(...rows);
  if (!focusedKey) return;
  [...body.querySelectorAll<HTMLElement>('[data-key]')].find((each) => each.dataset['key'] === focusedKey)?.focus();
}

function workerState(worker: WorkerView): string {
  if (worker.state !== WORKER_STATE_AVAILABLE) return `state ${worker.state}`;
  return worker.load >= worker.maxLoad ? 'full load' : 'available';
}

function renderWorkers(workers: WorkerView[]): void {
  const rows = [...workers]
    .sort((a, b) => a.purpose.localeCompare(b.purpose) || a.id.localeCompare(b.id))
    .map((worker) => {
      const row = element('tr', '', { 'data-worker-id': worker.id });
      row.append(
        cell(worker.id, 'id'),
        cell(worker.purpose),
        cell(worker.address),
        cell(workerState(worker)),
        cell(`${Math.round(worker.load * 100)} %`, 'number'),
        cell(String(worker.tasks), 'number'),
        cell(String(worker.reservations), 'number'),
      );
      return row;
    });
  replaceRows(workerRows, rows);
}

function selectedRoom(): RoomSummary | undefined {
  return rooms.find((room) => room._id === selectedRoomId);
}

function renderRooms(): void {
  const rows = rooms.map((room) => {
    const row = element('tr', '', { 'data-room-id': room._id });
    if (room._id === selectedRoomId) row.setAttribute('aria-selected', 'true');
    const view = element('button', 'Show participants', {
      type: 'button',
      class: 'secondary',
      'data-action': 'select-room',
      'data-key': `select-room:${room._id}`,
      'data-room-id': room._id,
      'aria-label': `Show participants of ${room.name}`,
    });
    const actions = cell('');
    actions.append(view);
    row.append(
      cell(room.name),
      cell(room._id, 'id'),
      cell(room.service.name),
      cell(String(room.participants), 'number'),
      actions,
    );
    return row;
  });
  replaceRows(roomRows, rows);
}

function renderParticipants(participants: ParticipantPlacement[]): void {
  const rows = participants.map((participant) => {
    const row = element('tr', '', { 'data-participant-id': participant.id });
    const drop = element('button', 'Drop', {
      type: 'button',
      class: 'danger',
      'data-action': 'drop',
      'data-key': `drop:${participant.id}`,
      'data-participant-id': participant.id,
      'data-user': participant.user,
      'aria-label': `Drop ${participant.user}`,
    });
    const actions = cell('');
    actions.append(drop);
    row.append(
      cell(participant.user),
      cell(participant.role),
      cell(participant.id, 'id'),
      cell(participant.portal, 'id'),
      cell(participant.connected ? 'connected' : 'reconnecting…', participant.connected ? '' : 'away'),
      actions,
    );
    return row;
  });
  replaceRows(participantRows, rows);
  const room = selectedRoom();
  selectedRoomLabel.textContent = room ? `in ${room.name}` : '';
  show(participantTable, room !== undefined);
  const empty = participants.length === 0 ? 'Nobody is in this room.' : '';
  participantsEmpty.textContent = room ? empty : 'Choose a room to see who is in it.';
  show(participantsEmpty, participantsEmpty.textContent !== '');
}

function renderStreams(streams: StreamInfo[], participants: ParticipantPlacement[]): void {
  const rows = streamRows(streams, participants).map((stream) => {
    const row = element('tr', '', { 'data-stream-id': stream.id });
    const stop = element('button', 'Stop', {
      type: 'button',
      class: 'danger',
      'data-action': 'stop',
      'data-key': `stop:${stream.id}`,
      'data-stream-id': stream.id,
      'data-label': stream.label,
      'aria-label': `Stop ${stream.label}`,
    });
    const actions = cell('');
    actions.append(stop);
    row.append(cell(stream.owner), cell(stream.tracks), cell(stream.codecs), cell(stream.state), cell(stream.id, 'id'), actions);
    return row;
  });
  replaceRows(streamTableRows, rows);
  const room = selectedRoom();
  streamsRoomLabel.textContent = room ? `in ${room.name}` : '';
  show(streamTable, room !== undefined);
  const empty = streams.length === 0 ? 'No stream is published in this room.' : '';
  streamsEmpty.textContent = room ? empty : 'Choose a room to see its streams.';
  show(streamsEmpty, streamsEmpty.textContent !== '');
}

function participantsPath(roomId: string): string {
  return `/v1/cluster/rooms/${encodeURIComponent(roomId)}/participants`;
}

function streamsPath(roomId: string): string {
  return `/v1/cluster/rooms/${encodeURIComponent(roomId)}/streams`;
}

async function refresh(): Promise<void> {
  const roomId = selectedRoomId;
  const [workers, latestRooms, participants, streams] = await Promise.all([
    api<WorkerView[]>('GET', '/v1/cluster/workers'),
    api<RoomSummary[]>('GET', '/v1/cluster/rooms'),
    roomId ? api<ParticipantPlacement[]>('GET', participantsPath(roomId)) : [],
    roomId ? api<StreamInfo[]>('GET', streamsPath(roomId)) : [],
  ]);
  // Signed out, or another room chosen, while the answers were on their way.
  if (!signer || roomId !== selectedRoomId) return;
  rooms = latestRooms;
  renderWorkers(workers);
  renderRooms();
  renderParticipants(participants);
  renderStreams(streams, participants);
  updated.textContent = new Date().toLocaleTimeString();
}

/** At most one refresh is waiting; a failure is shown and the next refresh tries again. */
function scheduleRefresh(delayMs = REFRESH_MS): void {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refresh().then(
      () => report(adminError, ''),
      (error: unknown) => {
        if (error instanceof RequestError && error.status === 401) return signOut(`Signed out: ${error.message}`);
        report(adminError, `Could not refresh: ${messageOf(error)}`);
      },
    ).finally(() => {
      if (signer) scheduleRefresh();
    });
  }, delayMs);
}

function signOut(reason = ''): void {
  signer = undefined;
  selectedRoomId = undefined;
  clearTimeout(refreshTimer);
  show(dashboard, false);
  show(signInSection, true);
  report(adminError, reason);
  signInButton.disabled = false;
  serviceKeyInput.focus();
}

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const serviceId = serviceIdInput.value.trim();
  const key = serviceKeyInput.value.trim();
  if (!serviceId || !key) {
    report(adminError, 'Please enter the service id and key.');
    return;
  }
  signInButton.disabled = true;
  report(adminError, '');
  MAuthSigner.create(serviceId, key)
    .then(async (created) => {
      signer = created;
      await refresh();
      serviceKeyInput.value = '';
      show(signInSection, false);
      show(dashboard, true);
      dashboardHeading.focus();
      scheduleRefresh();
    })
    .catch((error: unknown) => {
      signer = undefined;
      report(adminError, `Sign-in failed: ${messageOf(error)}`);
      signInButton.disabled = false;
    });
});

signOutButton.addEventListener('click', () => signOut());

roomRows.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action="select-room"]');
  if (!button) return;
  selectedRoomId = button.dataset['roomId'];
  renderRooms();
  renderParticipants([]);
  renderStreams([], []);
  scheduleRefresh(0);
});

participantRows.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action="drop"]');
  if (!button || !selectedRoomId) return;
  const { participantId, user } = button.dataset;
  const room = selectedRoom();
  if (!window.confirm(`Drop ${user} from ${room?.name ?? 'the room'}? They leave the room at once and cannot resume.`)) return;
  button.disabled = true;
  api<void>('DELETE', `${participantsPath(selectedRoomId)}/${encodeURIComponent(participantId!)}`).then(
    () => {
      dropStatus.textContent = `${user} was dropped.`;
      // The row and its button go away; the list's heading keeps the keyboard user's place.
      participantsHeading.focus();
      scheduleRefresh(0);
    },
    (error: unknown) => {
      button.disabled = false;
      report(adminError, `Could not drop ${user}: ${messageOf(error)}`);
    },
  );
});

streamTableRows.addEventListener('click', (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action="stop"]');
  if (!button || !selectedRoomId) return;
  const { streamId, label } = button.dataset;
  // Stopping cannot be undone: the owner must publish again.
  if (!confirm(`Stop ${label}? Its subscribers lose it and everyone in the room sees it removed.`)) return;
  button.disabled = true;
  api<void>('DELETE', `${streamsPath(selectedRoomId)}/${encodeURIComponent(streamId!)}`).then(
    () => {
      stopStatus.textContent = `${label} was stopped.`;
      streamsHeading.focus();
      scheduleRefresh(0);
    },
    (error: unknown) => {
      button.disabled = false;
      report(adminError, `Could not stop ${label}: ${messageOf(error)}`);
    },
  );
});
