/** What the admin page shows of a room's streams (SPEC-MEDIA M5), without the DOM so that it is tested in Node. */
import type { ParticipantPlacement } from '../src/protocol/rest.js';
import type { MediaFormat, StreamInfo } from '../src/protocol/socket.js';

export interface StreamRow {
  id: string;
  /** The owner's user name, or its participant id once it has left the list. */
  owner: string;
  /** Each track's kind and source, e.g. `video (camera), audio (mic)`. */
  tracks: string;
  codecs: string;
  /** `active`, `paused`, or which kinds are paused, e.g. `video paused`. */
  state: string;
  /** Names the stream in its Stop button and confirmation, e.g. `frank's video and audio stream`. */
  label: string;
}

function codecOf({ codec, sampleRate, channelNum, profile }: MediaFormat): string {
  const details = [profile, sampleRate === undefined ? undefined : `${sampleRate / 1000} kHz`, channelNum === 2 ? 'stereo' : undefined];
  const known = details.filter((detail) => detail !== undefined);
  return known.length > 0 ? `${codec} (${known.join(', ')})` : codec;
}

function stateOf(tracks: StreamInfo['media']['tracks']): string {
  const paused = tracks.filter((track) => track.status === 'inactive');
  if (paused.length === 0) return 'active';
  if (paused.length === tracks.length) return 'paused';
  return `${paused.map((track) => track.type).join(' and ')} paused`;
}

export function streamRows(streams: readonly StreamInfo[], participants: readonly ParticipantPlacement[]): StreamRow[] {
  const users = new Map(participants.map((participant) => [participant.id, participant.user]));
  return streams.map((stream) => {
    const { tracks } = stream.media;
    const owner = users.get(stream.info.owner) ?? stream.info.owner;
    return {
      id: stream.id,
      owner,
      tracks: tracks.map((track) => `${track.type} (${track.source})`).join(', '),
      codecs: tracks.map((track) => codecOf(track.format)).join(', '),
      state: stateOf(tracks),
      label: `${owner}'s ${tracks.map((track) => track.type).join(' and ')} stream`,
    };
  });
}
