import { ConclaveError, errorMaker } from '../protocol/errors.js';

export { WebrtcErrors } from '../protocol/errors.js';

/** A refusal of a webrtc node. */
export class WebrtcError extends ConclaveError {
  override name = 'WebrtcError';
}

export const webrtcError = errorMaker('webrtc', WebrtcError);
