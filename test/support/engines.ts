/** The media engines (`webrtc.engine`) the media tests run on, each in turn. */
export const mediaEngines = ['werift', 'datachannel'] as const;
