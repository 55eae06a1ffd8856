import type { RoomOptions } from '../protocol/rest.js';
import { RequestFailures } from './errors.js';
import { createBodyValidator, describeValidationError } from './validation.js';

export type { CreateRoomBody, RoomOptions, UpdateRoomBody } from '../protocol/rest.js';

/** SPEC §2 default roles. */
const defaultRoles = [
  { role: 'presenter', publish: { audio: true, video: true }, subscribe: { audio: true, video: true } },
  { role: 'viewer', publish: { audio: false, video: false }, subscribe: { audio: true, video: true } },
  { role: 'audio_only_presenter', publish: { audio: true, video: false }, subscribe: { audio: true, video: false } },
  { role: 'video_only_viewer', publish: { audio: false, video: false }, subscribe: { audio: false, video: true } },
  { role: 'sip', publish: { audio: true, video: true }, subscribe: { audio: true, video: true } },
];

// OWT's media defaults, kept so that existing applications reading a room see what they expect.
const defaultAudioIn = [
  { codec: 'opus', sampleRate: 48000, channelNum: 2 },
  { codec: 'isac', sampleRate: 16000 },
  { codec: 'isac', sampleRate: 32000 },
  { codec: 'g722', sampleRate: 16000, channelNum: 1 },
  { codec: 'pcma' },
  { codec: 'pcmu' },
  { codec: 'aac' },
  { codec: 'ac3' },
  { codec: 'nellymoser' },
  { codec: 'ilbc' },
];
const defaultAudioOut = defaultAudioIn.map((format) =>
  format.codec === 'aac' ? { codec: 'aac', sampleRate: 48000, channelNum: 2 } : format,
);
const defaultVideoIn = [{ codec: 'h264' }, { codec: 'vp8' }, { codec: 'vp9' }];
const defaultVideoOut = [
  { codec: 'vp8' },
  { codec: 'h264', profile: 'CB' },
  { codec: 'h264', profile: 'B' },
  { codec: 'vp9' },
];
const defaultVideoParameters = {
  resolution: ['x3/4', 'x2/3', 'x1/2', 'x1/3', 'x1/4', 'hd1080p', 'hd720p', 'svga', 'vga', 'qvga', 'cif'],
  framerate: [6, 12, 15, 24, 30, 48, 60],
  bitrate: ['x0.8', 'x0.6', 'x0.4', 'x0.2'],
  keyFrameInterval: [100, 30, 5, 2, 1],
};

const flag = (value: boolean) => ({ type: 'boolean', default: value });
const text = { type: 'string', minLength: 1, maxLength: 256 };
const positive = { type: 'number', exclusiveMinimum: 0 };
const limit = { type: 'integer', minimum: -1, default: -1 };
const color = { type: 'integer', minimum: 0, maximum: 255, default: 0 };
/** A number or a fraction like `1/3`, as OWT layout regions are written. */
const ratio = { type: 'string', pattern: '^(\\d+(\\.\\d+)?|\\d+/[1-9]\\d*)$' };

function object(properties: Record<string, object>, extra: Record<string, unknown> = {}): object {
  return { type: 'object', additionalProperties: false, properties, ...extra };
}

/** An object with defaults filled in, or `false` to switch the feature off. */
function objectOrFalse(properties: Record<string, object>, defaultValue: unknown): object {
  return {
    type: ['object', 'boolean'],
    if: { type: 'boolean' },
    then: { const: false },
    additionalProperties: false,
    properties,
    default: defaultValue,
  };
}

const count = { type: 'integer', minimum: 1 };
const audioFormat = object({ codec: text, sampleRate: count, channelNum: count }, { required: ['codec'] });
const videoFormat = object({ codec: text, profile: text }, { required: ['codec'] });
const mediaFlags = object({ audio: flag(false), video: flag(false) }, { default: {} });

const role = object(
  { role: { ...text, maxLength: 64 }, publish: mediaFlags, subscribe: mediaFlags },
  { required: ['role'] },
);

const region = object(
  {
    id: text,
    shape: { enum: ['rectangle'], default: 'rectangle' },
    area: object({ left: ratio, top: ratio, width: ratio, height: ratio }, { required: ['left', 'top', 'width', 'height'] }),
  },
  { required: ['id', 'area'] },
);

const view = object({
  label: { ...text, default: 'common' },
  audio: objectOrFalse(
    {
      format: { ...audioFormat, default: { codec: 'opus', sampleRate: 48000, channelNum: 2 } },
      vad: flag(true),
    },
    {},
  ),
  video: objectOrFalse(
    {
      format: { ...videoFormat, default: { codec: 'h264', profile: 'CB' } },
      parameters: object(
        {
          resolution: object(
            { width: { type: 'integer', minimum: 1, default: 640 }, height: { type: 'integer', minimum: 1, default: 480 } },
            { default: {} },
          ),
          framerate: { ...positive, default: 24 },
          bitrate: positive,
          keyFrameInterval: { ...positive, default: 100 },
        },
        { default: {} },
      ),
      maxInput: { type: 'integer', minimum: 1, maximum: 256, default: 16 },
      motionFactor: { type: 'number', minimum: 0, default: 0.8 },
      bgColor: object({ r: color, g: color, b: color }, { default: {} }),
      keepActiveInputPrimary: flag(false),
      layout: object(
        {
          fitPolicy: { enum: ['letterbox', 'crop'], default: 'letterbox' },
          setRegionEffect: { type: 'string' },
          templates: object(
            {
              base: { enum: ['fluid', 'lecture', 'void'], default: 'fluid' },
              custom: {
                type: 'array',
                maxItems: 256,
                default: [],
                items: object(
                  { primary: text, region: { type: 'array', maxItems: 256, items: region } },
                  { required: ['region'] },
                ),
              },
            },
            { default: {} },
          ),
        },
        { default: {} },
      ),
    },
    {},
  ),
});

const videoParameterLists = object(
  {
    resolution: { type: 'array', items: text, default: defaultVideoParameters.resolution },
    framerate: { type: 'array', items: positive, default: defaultVideoParameters.framerate },
    bitrate: { type: 'array', items: text, default: defaultVideoParameters.bitrate },
    keyFrameInterval: { type: 'array', items: positive, default: defaultVideoParameters.keyFrameInterval },
  },
  { default: {} },
);

const transcodingParameters = object(
  { resolution: flag(true), framerate: flag(true), bitrate: flag(true), keyFrameInterval: flag(true) },
  { default: {} },
);

const roomOptionProperties = {
  participantLimit: limit,
  inputLimit: limit,
  roles: { type: 'array', maxItems: 64, items: role, default: defaultRoles },
  views: { type: 'array', maxItems: 64, items: view, default: [{}] },
  mediaIn: object(
    {
      audio: { type: 'array', items: audioFormat, default: defaultAudioIn },
      video: { type: 'array', items: videoFormat, default: defaultVideoIn },
    },
    { default: {} },
  ),
  mediaOut: object(
    {
      audio: { type: 'array', items: audioFormat, default: defaultAudioOut },
      video: object(
        { format: { type: 'array', items: videoFormat, default: defaultVideoOut }, parameters: videoParameterLists },
        { default: {} },
      ),
    },
    { default: {} },
  ),
  transcoding: object(
    { audio: flag(true), video: object({ format: flag(true), parameters: transcodingParameters }, { default: {} }) },
    { default: {} },
  ),
  notifying: object({ participantActivities: flag(true), streamChange: flag(true) }, { default: {} }),
  selectActiveAudio: flag(false),
  sip: objectOrFalse({ sipServer: { type: 'string' }, username: { type: 'string' }, password: { type: 'string' } }, false),
};

/** `POST /v1/rooms` body: `{name, options}`; missing options take every default. */
export const createRoomBodySchema = object(
  { name: text, options: object(roomOptionProperties, { default: {} }) },
  { required: ['name'] },
);

/** `PUT /v1/rooms/{room}` body: the room's new options (and optionally a new name). */
export const updateRoomBodySchema = object({ name: text, ...roomOptionProperties });

/** What the schemas cannot say: role names and view labels are unique within a room. */
export function uniquenessViolation(options: RoomOptions): string | undefined {
  const roles = new Set<string>();
  for (const { role } of options.roles) {
    if (roles.has(role)) return RequestFailures.duplicateRole(role);
    roles.add(role);
  }
  const labels = new Set<string>();
  for (const { label } of options.views) {
    if (labels.has(label)) return RequestFailures.duplicateView(label);
    labels.add(label);
  }
  return undefined;
}

const fillOptions = createBodyValidator().compile<RoomOptions>(object(roomOptionProperties));

/** Every option at its default: what a room created without options gets. */
export function defaultRoomOptions(): RoomOptions {
  const options = {};
  if (!fillOptions(options)) {
    throw new Error(describeValidationError(fillOptions.errors ?? [], 'defaults'));
  }
  return options as RoomOptions;
}
