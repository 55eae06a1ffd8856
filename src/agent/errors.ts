import { ConclaveError, errorMaker } from '../protocol/errors.js';

export { NodeManagerErrors } from '../protocol/errors.js';

/** A refusal of an agent's node manager. */
export class AgentError extends ConclaveError {
  override name = 'AgentError';
}

export const nodeManagerError = errorMaker('agent', AgentError);
