/**
 * One schema for each media request of protocol 1.2 (and 1.1), SPEC-MEDIA M4, whose payload types
 * are in src/protocol. The portal answers a payload that fails with an `error` ack; the conference
 * node checks the same schemas on what reaches it over the bus.
 */
import { Ajv } from 'ajv';
import type {
  MediaKind,
  PublishRequest,
  SoacRequest,
  StreamControlRequest,
  SubscribeRequest,
  SubscriptionControlRequest,
  TrackSelector,
} from '../protocol/socket.js';

const ajv = new Ajv({ allErrors: false });

const id = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' };
const kind = { enum: ['audio', 'video'] };
/** A media identifier of the SDP (RFC 8843: a token; browsers use small numbers). */
const mid = { type: 'string', pattern: '^[A-Za-z0-9_.+-]{1,32}$' };
/** A stream id or a track id (`${transportId}-${mid}`, `…:${rid}` for a simulcast layer). */
const source = { type: 'string', pattern: '^[A-Za-z0-9_.:+-]{1,200}$' };
const transport = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: { id: { anyOf: [id, { type: 'null' }] }, type: { const: 'webrtc' } },
};
const format = {
  type: 'object',
  required: ['codec'],
  additionalProperties: false,
  properties: {
    codec: { type: 'string', minLength: 1, maxLength: 32 },
    sampleRate: { type: 'integer', minimum: 1 },
    channelNum: { type: 'integer', minimum: 1 },
    profile: { type: 'string', minLength: 1, maxLength: 32 },
  },
};
const resolution = {
  type: 'object',
  required: ['width', 'height'],
  additionalProperties: false,
  properties: { width: { type: 'integer', minimum: 1 }, height: { type: 'integer', minimum: 1 } },
};
/** What a subscriber may ask of a video track (OWT's names); all but the source's own resolution need a transcoder. */
const videoParameters = {
  type: 'object',
  additionalProperties: false,
  properties: {
    resolution,
    framerate: { type: 'number', exclusiveMinimum: 0 },
    bitrate: { anyOf: [{ type: 'string', maxLength: 16 }, { type: 'number', exclusiveMinimum: 0 }] },
    keyFrameInterval: { type: 'number', exclusiveMinimum: 0 },
  },
};
const avKinds = { enum: ['audio', 'video', 'av'] };
/** OWT attributes are the application's own; bounded in size by the portal's buffer limit. */
const attributes = { anyOf: [{ type: 'object', maxProperties: 64 }, { type: 'null' }] };

/** A request's `media`: one to 16 tracks, each with exactly the given fields. */
function mediaOfTracks(required: string[], trackProperties: Record<string, unknown>) {
  return {
    type: 'object',
    required: ['tracks'],
    additionalProperties: false,
    properties: {
      tracks: {
        type: 'array',
        minItems: 1,
        maxItems: 16,
        items: { type: 'object', required, additionalProperties: false, properties: trackProperties },
      },
    },
  };
}

export const isPublishRequest = ajv.compile<PublishRequest>({
  type: 'object',
  required: ['media', 'transport'],
  additionalProperties: false,
  properties: {
    media: mediaOfTracks(['type', 'mid', 'source'], { type: kind, mid, source: { type: 'string', pattern: '^[a-z][a-z-]{0,31}$' } }),
    attributes,
    transport,
  },
});

export const isSubscribeRequest = ajv.compile<SubscribeRequest>({
  type: 'object',
  required: ['media', 'transport'],
  additionalProperties: false,
  properties: {
    media: mediaOfTracks(['type', 'mid', 'from'], { type: kind, mid, from: source, parameters: videoParameters, format }),
    transport,
  },
});

export const isSessionRequest = ajv.compile<{ id: string }>({
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id },
});

export const isSoacRequest = ajv.compile<SoacRequest>({
  type: 'object',
  required: ['id', 'signaling'],
  additionalProperties: false,
  properties: {
    id,
    signaling: {
      oneOf: [
        {
          type: 'object',
          required: ['type', 'sdp'],
          additionalProperties: false,
          properties: { type: { const: 'offer' }, sdp: { type: 'string', minLength: 1, maxLength: 60_000 } },
        },
        {
          type: 'object',
          required: ['type', 'candidate'],
          additionalProperties: false,
          properties: {
            type: { const: 'candidate' },
            candidate: {
              type: 'object',
              required: ['candidate'],
              additionalProperties: false,
              properties: {
                candidate: { type: 'string', minLength: 1, maxLength: 1_024 },
                sdpMid: { anyOf: [{ type: 'string', maxLength: 32 }, { type: 'null' }] },
                sdpMLineIndex: { anyOf: [{ type: 'integer', minimum: 0, maximum: 1_024 }, { type: 'null' }] },
              },
            },
          },
        },
      ],
    },
  },
});

export const isStreamControlRequest = ajv.compile<StreamControlRequest>({
  type: 'object',
  required: ['id', 'operation'],
  additionalProperties: false,
  properties: {
    id,
    operation: { enum: ['pause', 'play', 'mix', 'unmix', 'set-region', 'get-region'] },
    data: {},
  },
  if: { properties: { operation: { enum: ['pause', 'play'] } } },
  then: { required: ['data'], properties: { data: avKinds } },
});

export const isSubscriptionControlRequest = ajv.compile<SubscriptionControlRequest>({
  type: 'object',
  required: ['id', 'operation', 'data'],
  additionalProperties: false,
  properties: {
    id,
    operation: { enum: ['pause', 'play', 'update'] },
    data: {},
  },
  if: { properties: { operation: { const: 'update' } } },
  then: {
    properties: {
      data: {
        type: 'object',
        minProperties: 1,
        additionalProperties: false,
        properties: {
          audio: { type: 'object', required: ['from'], additionalProperties: false, properties: { from: source } },
          video: {
            type: 'object',
            minProperties: 1,
            additionalProperties: false,
            properties: { from: source, parameters: videoParameters },
          },
        },
      },
    },
  },
  else: { properties: { data: avKinds } },
});

/** The kinds `audio`, `video` or `av` name. */
export function kindsOf(data: TrackSelector): MediaKind[] {
  return data === 'av' ? ['audio', 'video'] : [data];
}
