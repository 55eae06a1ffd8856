import { ConclaveError, errorMaker } from '../protocol/errors.js';

export { PortalErrors } from '../protocol/errors.js';

/** A refusal of the portal; its message is the SPEC string the client's ack carries. */
export class PortalError extends ConclaveError {
  override name = 'PortalError';
}

export const portalError = errorMaker('portal', PortalError);
