import { ConclaveError, errorMaker } from '../protocol/errors.js';

export { ConferenceErrors, MediaErrors } from '../protocol/errors.js';

/** A refusal of a conference node. */
export class ConferenceError extends ConclaveError {
  override name = 'ConferenceError';
}

export const conferenceError = errorMaker('conference', ConferenceError);

/** A refusal of a room's media controller (SPEC-MEDIA M4). */
export const mediaError = errorMaker('media', ConferenceError);
