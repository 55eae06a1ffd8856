import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StreamInfo } from '../../src/protocol/socket.js';
import { streamRows } from '../../web/stream-rows.js';

function stream(id: string, owner: string, tracks: Array<Pick<StreamInfo['media']['tracks'][number], 'type' | 'source' | 'format' | 'status'>>): StreamInfo {
  return {
    id,
    type: 'forward',
    media: { tracks: tracks.map((track, index) => ({ ...track, id: `${id}-${index}`, optional: {}, mid: String(index) })) },
    data: null,
    info: { owner, type: 'webrtc', inViews: [], attributes: {}, activeInput: 'unknown' },
  };
}

const vp8 = { type: 'video', source: 'camera', format: { codec: 'vp8' } } as const;
const opus = { type: 'audio', source: 'mic', format: { codec: 'opus', sampleRate: 48_000, channelNum: 2 } } as const;
const h264 = { type: 'video', source: 'screen-cast', format: { codec: 'h264', profile: 'CB' } } as const;
const frank = { id: 'p-frank', user: 'frank', role: 'presenter', portal: 'portal-1', connected: true };

test("the admin page's stream rows name the owner, each track with its source and codec, and the state", () => {
  const rows = streamRows(
    [
      stream('s1', 'p-frank', [{ ...vp8, status: 'active' }, { ...opus, status: 'active' }]),
      stream('s2', 'p-frank', [{ ...h264, status: 'inactive' }, { ...opus, status: 'active' }]),
      stream('s3', 'p-gone', [{ ...opus, status: 'inactive' }]),
    ],
    [frank],
  );
  assert.deepEqual(rows, [
    {
      id: 's1',
      owner: 'frank',
      tracks: 'video (camera), audio (mic)',
      codecs: 'vp8, opus (48 kHz, stereo)',
      state: 'active',
      label: "frank's video and audio stream",
    },
    {
      id: 's2',
      owner: 'frank',
      tracks: 'video (screen-cast), audio (mic)',
      codecs: 'h264 (CB), opus (48 kHz, stereo)',
      state: 'video paused',
      label: "frank's video and audio stream",
    },
    // An owner no longer among the participants is shown by its id.
    { id: 's3', owner: 'p-gone', tracks: 'audio (mic)', codecs: 'opus (48 kHz, stereo)', state: 'paused', label: "p-gone's audio stream" },
  ]);
});

test('a room without streams has no rows', () => {
  assert.deepEqual(streamRows([], [frank]), []);
});
