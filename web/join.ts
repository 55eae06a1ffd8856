/**
 * The join page: a demo token for a room and a name, then the room's people and their video, your
 * camera and microphone, a chat and the connection.
 */
import { messageOf, RestCodes } from '../src/protocol/errors.js';
import {
  ClientStates,
  ConferenceClient,
  type ClientState,
  type Notification,
  type StreamNotice,
} from '../src/client/conference-client.js';
import { byId, element, report, show } from './page.js';
import { RoomMedia } from './room-media.js';

interface Person {
  id: string;
  user: string;
  role: string;
}

interface LoginResult {
  id: string;
  user: string;
  role: string;
  room: { id: string; participants: Person[] };
}

interface TextMessage {
  from: string;
  to: string;
  message: string;
}

type ParticipantActivity = { action: 'join'; data: Person } | { action: 'leave'; data: string };

const stateLabels: Record<ClientState, string> = {
  [ClientStates.idle]: 'idle',
  [ClientStates.connecting]: 'connecting…',
  [ClientStates.connected]: 'connected',
  [ClientStates.reconnecting]: 'reconnecting…',
  [ClientStates.resumed]: 'resumed',
  [ClientStates.dropped]: 'dropped',
  [ClientStates.left]: 'left',
};


const joinSection = byId('join-section');
const joinForm = byId<HTMLFormElement>('join-form');
const joinButton = byId<HTMLButtonElement>('join-button');
const userInput = byId<HTMLInputElement>('user');
const roomInput = byId<HTMLInputElement>('room');
const joinError = byId('join-error');
const roomSection = byId('room-section');
const roomHeading = byId('room-heading');
const connection = byId('connection');
const leaveButton = byId<HTMLButtonElement>('leave-button');
const participantList = byId<HTMLUListElement>('participants');
const participantCount = byId('participant-count');
const messages = byId<HTMLOListElement>('messages');
const chatForm = byId<HTMLFormElement>('chat-form');
const messageInput = byId<HTMLInputElement>('message');
const sendButton = byId<HTMLButtonElement>('send-button');
const chatError = byId('chat-error');
const mediaView = {
  grid: byId<HTMLUListElement>('videos'),
  status: byId('media-status'),
  toggles: { audio: byId<HTMLButtonElement>('microphone-toggle'), video: byId<HTMLButtonElement>('camera-toggle') },
};

let client: ConferenceClient | undefined;
/** The portal `client` is connected to. */
let portalUrl = '';
let media: RoomMedia | undefined;
let selfId = '';
const participants = new Map<string, Person>();
/** Names outlive departures, so a message from someone who left still says who wrote it. */
const names = new Map<string, string>();

/** A demo token, and the name of the room it is for (sent beside it, as the login answer names no room). */
async function requestToken(user: string, room: string): Promise<{ token: string; roomName: string | undefined }> {
  const response = await fetch('/demo/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(room ? { user, room } : { user }),
  });
  const text = await response.text();
  if (response.ok) {
    const name = response.headers.get('x-room-name');
    return { token: text, roomName: name === null ? undefined : decodeURIComponent(name) };
  }
  let failure: { code?: number; message?: string } = {};
  try {
    failure = (JSON.parse(text) as { error?: typeof failure }).error ?? {};
  } catch {
    // not the API's error body: the status says enough
  }
  if (failure.code === RestCodes.notFound) {
    throw new Error('This server hands out no demo tokens. Start it with --management.demo true to use this page.');
  }
  if (failure.code === RestCodes.roomNotFound) throw new Error('There is no such room, or it is not open to demo tokens.');
  if (response.status === 429) throw new Error('Too many joins from here; wait a minute and try again.');
  throw new Error(failure.message ?? `The server answered ${response.status}.`);
}

/** Where the token says the portal is (SPEC §3: base64 JSON with `host` and `secure`). */
function portalUrlOf(token: string): string {
  const { host, secure } = JSON.parse(atob(token)) as { host: string; secure: boolean };
  return `${secure ? 'https' : 'http'}://${host}`;
}

function renderParticipants(): void {
  const items = [...participants.values()].map((person) => {
    const you = person.id === selfId ? ' (you)' : '';
    const item = element('li', '', { 'data-participant-id': person.id });
    item.append(
      element('span', `${person.user}${you}`, { class: 'name' }),
      element('span', person.role, { class: 'role' }),
    );
    return item;
  });
  participantList.replaceChildren(...items);
  participantCount.textContent = `(${participants.size})`;
}

function addLine(text: string, kind: 'message' | 'note'): void {
  messages.append(element('li', text, { class: kind }));
  messages.scrollTop = messages.scrollHeight;
}

function showState(state: ClientState): void {
  connection.textContent = stateLabels[state];
  connection.dataset['state'] = state;
  const live = state === ClientStates.connected || state === ClientStates.resumed;
  messageInput.disabled = !live;
  sendButton.disabled = !live;
}

function onNotification({ event, data }: Notification): void {
  if (event === 'participant') {
    const activity = data as ParticipantActivity;
    if (activity.action === 'join') {
      participants.set(activity.data.id, activity.data);
      names.set(activity.data.id, activity.data.user);
      addLine(`${activity.data.user} joined`, 'note');
    } else {
      const name = names.get(activity.data) ?? activity.data;
      participants.delete(activity.data);
      addLine(`${name} left`, 'note');
    }
    renderParticipants();
  } else if (event === 'text') {
    const text = data as TextMessage;
    const to = text.to === 'me' ? ' (to you)' : '';
    addLine(`${names.get(text.from) ?? text.from}${to}: ${text.message}`, 'message');
  } else if (event === 'stream') {
    media?.onStream(data as StreamNotice);
  } else if (event === 'drop') {
    addLine('You were dropped from the room.', 'note');
    backToJoinForm('You were dropped from the room by an operator.');
  }
}

function backToJoinForm(reason: string): void {
  client?.close();
  client = undefined;
  media?.close();
  media = undefined;
  show(roomSection, false);
  show(joinSection, true);
  report(joinError, reason);
  joinButton.disabled = false;
}

async function join(user: string, room: string): Promise<void> {
  const { token, roomName } = await requestToken(user, room);
  portalUrl = portalUrlOf(token);
  const joining = new ConferenceClient(portalUrl);
  joining.on('state', showState);
  joining.on('notification', onNotification);
  joining.on('media-ended', (end) => media?.onEnded(end));
  joining.on('relogin-failed', (error) => backToJoinForm(`The connection could not be resumed: ${error.message}`));
  client = joining;
  try {
    const result = (await joining.join(token)) as unknown as LoginResult;
    selfId = result.id;
    participants.clear();
    for (const person of [...result.room.participants, { id: result.id, user: result.user, role: result.role }]) {
      participants.set(person.id, person);
      names.set(person.id, person.user);
    }
    roomHeading.textContent = roomName ?? `Room ${result.room.id}`;
    media = new RoomMedia(joining, result.id, (id) => names.get(id) ?? id, mediaView);
  } catch (error) {
    joining.close();
    client = undefined;
    throw error;
  }
}

joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const user = userInput.value.trim();
  if (!user) {
    report(joinError, 'Please enter your name.');
    userInput.focus();
    return;
  }
  report(joinError, '');
  joinButton.disabled = true;
  messages.replaceChildren();
  join(user, roomInput.value.trim()).then(
    () => {
      renderParticipants();
      show(joinSection, false);
      show(roomSection, true);
      roomHeading.focus();
      void media?.start();
    },
    (error: unknown) => {
      report(joinError, messageOf(error));
      joinButton.disabled = false;
    },
  );
});

chatForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = messageInput.value;
  if (!client || text.trim() === '') return;
  report(chatError, '');
  client.send('all', text).then(
    () => {
      if (messageInput.value === text) messageInput.value = '';
    },
    (error: unknown) => report(chatError, `Not sent: ${messageOf(error)}`),
  );
});

leaveButton.addEventListener('click', () => {
  const leaving = client;
  client = undefined;
  void leaving?.leave().catch(() => undefined);
  media?.close();
  media = undefined;
  show(roomSection, false);
  show(joinSection, true);
  joinButton.disabled = false;
  userInput.focus();
});

// Closing or reloading the page leaves the room now, where a lost connection would keep a reloaded
// page's old self in the room until the reconnection timeout: a beacon (which outlives the page)
// hands the portal the reconnection ticket to leave with, and the socket says goodbye as it closes.
window.addEventListener('pagehide', () => {
  const ticket = client?.reconnectionTicket;
  if (ticket && portalUrl) navigator.sendBeacon(`${portalUrl}/leave`, ticket);
  client?.close();
});
// Back from the browser's page cache, the connection closed on the way out is gone.
window.addEventListener('pageshow', (event) => {
  if (event.persisted && roomSection.hidden === false) backToJoinForm('You left the room when you left the page. Join again to come back.');
});

roomInput.value = new URLSearchParams(location.search).get('room') ?? '';
