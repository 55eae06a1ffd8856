/**
 * The join page's media: shares the camera and microphone as one publication (each switched off and
 * on with stream-control pause/play) and shows every other participant's streams in a grid.
 */
import { messageOf } from '../src/protocol/errors.js';
import type { ConferenceClient, MediaKind, Publication, StreamInfo, StreamNotice } from '../src/client/conference-client.js';
import { element, show } from './page.js';

export interface RoomMediaView {
  grid: HTMLUListElement;
  status: HTMLElement;
  toggles: Record<MediaKind, HTMLButtonElement>;
}

interface Tile {
  item: HTMLLIElement;
  video: HTMLVideoElement;
}

const kindNames: Record<MediaKind, string> = { audio: 'microphone', video: 'camera' };

/** The camera and microphone, or as many of them as the browser gives, with what went wrong. */
async function capture(): Promise<{ stream?: MediaStream; problem?: string }> {
  if (!navigator.mediaDevices) return { problem: 'this page needs HTTPS (or localhost) to reach a camera or microphone' };
  let problem = '';
  for (const constraints of [{ audio: true, video: true }, { video: true }, { audio: true }]) {
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(constraints), problem };
    } catch (error) {
      problem ||= messageOf(error);
    }
  }
  return { problem };
}

/** Each kind's status on the tile: `active`, `inactive` (switched off) or `none` (not in the stream). */
function mark(tile: Tile, statuses: Partial<Record<MediaKind, string>>): void {
  for (const kind of ['audio', 'video'] as const) tile.item.dataset[kind] = statuses[kind] ?? 'none';
}

export class RoomMedia {
  private local: MediaStream | undefined;
  private publication: Publication | undefined;
  private readonly tiles = new Map<string, Tile>();
  /** Stream id by subscription id. */
  private readonly subscribed = new Map<string, string>();
  private ownTile: Tile | undefined;
  private closed = false;

  constructor(
    private readonly client: ConferenceClient,
    private readonly selfId: string,
    private readonly nameOf: (participantId: string) => string,
    private readonly view: RoomMediaView,
  ) {
    for (const kind of ['audio', 'video'] as const) {
      view.toggles[kind].onclick = () => void this.toggle(kind);
    }
  }

  /** Publishes what the devices give, then shows the streams already in the room. */
  async start(): Promise<void> {
    this.report('Starting your camera and microphone…');
    for (const stream of this.client.streams.values()) void this.show(stream);
    const { stream, problem } = await capture();
    if (this.closed) {
      stream?.getTracks().forEach((track) => track.stop());
      return;
    }
    if (!stream) {
      this.report(`Not sharing a camera or microphone: ${problem}.`);
      return;
    }
    this.local = stream;
    this.ownTile = this.addTile('self', `${this.nameOf(this.selfId)} (you)`);
    this.ownTile.item.dataset['self'] = 'true';
    this.ownTile.video.muted = true;
    this.play(this.ownTile, stream);
    const audio = stream.getAudioTracks()[0];
    const video = stream.getVideoTracks()[0];
    mark(this.ownTile, { ...(audio && { audio: 'active' }), ...(video && { video: 'active' }) });
    try {
      this.publication = await this.client.publish({ ...(audio && { audio }), ...(video && { video }) });
    } catch (error) {
      this.stopLocal();
      this.report(`Your camera and microphone are not shared: ${messageOf(error)}.`);
      return;
    }
    for (const kind of ['audio', 'video'] as const) this.setToggle(kind, Boolean(this.track(kind)), true);
    const missing = (['video', 'audio'] as const).filter((kind) => !this.track(kind)).map((kind) => kindNames[kind]);
    this.report(missing.length > 0 ? `No ${missing.join(' or ')} here (${problem}).` : '');
  }

  onStream(notification: StreamNotice): void {
    if (notification.status === 'add') {
      void this.show(notification.data);
    } else if (notification.status === 'remove') {
      this.tiles.get(notification.id)?.item.remove();
      this.tiles.delete(notification.id);
    } else {
      const tile = this.tiles.get(notification.id);
      const { field, value } = notification.data;
      if (tile) tile.item.dataset[field === 'audio.status' ? 'audio' : 'video'] = value;
    }
  }

  /** The portal ended the publication or a subscription (e.g. the transport failed). */
  onEnded({ id, reason }: { id: string; reason: string }): void {
    if (id === this.publication?.id) {
      this.stopLocal();
      this.report(`Your camera and microphone stopped: ${reason}.`);
      return;
    }
    const streamId = this.subscribed.get(id);
    this.subscribed.delete(id);
    const tile = streamId === undefined ? undefined : this.tiles.get(streamId);
    tile?.item.append(element('p', `Lost: ${reason}`, { class: 'tile-error' }));
  }

  /** Stops the devices and empties the grid; the client closes the peer connection itself. */
  close(): void {
    this.closed = true;
    this.stopLocal();
    this.tiles.clear();
    this.view.grid.replaceChildren();
    this.report('');
  }

  private async show(stream: StreamInfo): Promise<void> {
    if (stream.info.owner === this.selfId || this.tiles.has(stream.id)) return;
    const tile = this.addTile(stream.id, this.nameOf(stream.info.owner));
    mark(tile, Object.fromEntries(stream.media.tracks.map((track) => [track.type, track.status])));
    this.tiles.set(stream.id, tile);
    try {
      const subscription = await this.client.subscribe(stream.id);
      if (this.tiles.get(stream.id) !== tile) {
        await this.client.unsubscribe(subscription.id).catch(() => undefined);
        return;
      }
      this.subscribed.set(subscription.id, stream.id);
      this.play(tile, new MediaStream(Object.values(subscription.tracks) as MediaStreamTrack[]));
    } catch (error) {
      if (this.tiles.get(stream.id) === tile) tile.item.append(element('p', `Not received: ${messageOf(error)}`, { class: 'tile-error' }));
    }
  }

  private addTile(id: string, name: string): Tile {
    const video = element('video', '', { playsinline: '', 'aria-label': `Video of ${name}` });
    const item = element('li', '', { class: 'tile', 'data-stream-id': id });
    item.append(video, element('p', name, { class: 'tile-name' }), element('p', 'camera off', { class: 'tile-off' }));
    if (id === 'self') this.view.grid.prepend(item);
    else this.view.grid.append(item);
    return { item, video };
  }

  private play(tile: Tile, stream: MediaStream): void {
    tile.video.srcObject = stream;
    tile.item.dataset['playing'] = 'true';
    // Joining was a click, so sound may play; if the browser still says no, show the picture muted.
    tile.video.play().catch(() => {
      tile.video.muted = true;
      void tile.video.play().catch(() => undefined);
    });
  }

  private track(kind: MediaKind): MediaStreamTrack | undefined {
    return kind === 'audio' ? this.local?.getAudioTracks()[0] : this.local?.getVideoTracks()[0];
  }

  /** Off at once on this side; on only once the server forwards it again. */
  private async toggle(kind: MediaKind): Promise<void> {
    const track = this.track(kind);
    const publication = this.publication;
    if (!track || !publication) return;
    const on = !track.enabled;
    if (!on) track.enabled = false;
    this.setToggle(kind, on, false);
    try {
      await this.client.controlStream(publication.id, on ? 'play' : 'pause', kind);
      track.enabled = on;
      this.report('');
    } catch (error) {
      this.report(`Could not switch your ${kindNames[kind]} ${on ? 'on' : 'off'}: ${messageOf(error)}.`);
    }
    this.setToggle(kind, track.enabled, true);
  }

  private setToggle(kind: MediaKind, on: boolean, enabled: boolean): void {
    const button = this.view.toggles[kind];
    button.setAttribute('aria-pressed', String(on));
    button.disabled = !enabled;
    if (this.ownTile) this.ownTile.item.dataset[kind] = on ? 'active' : 'inactive';
  }

  private stopLocal(): void {
    this.local?.getTracks().forEach((track) => track.stop());
    this.local = undefined;
    this.publication = undefined;
    this.ownTile?.item.remove();
    this.ownTile = undefined;
    for (const kind of ['audio', 'video'] as const) this.setToggle(kind, false, false);
  }

  private report(message: string): void {
    this.view.status.textContent = message;
    show(this.view.status, message !== '');
  }
}
