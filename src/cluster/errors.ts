import { ConclaveError, errorMaker } from '../protocol/errors.js';

export { ClusterErrors, WorkerErrors } from '../protocol/errors.js';

/** A refusal of the cluster manager, its schedulers or a cluster worker. */
export class ClusterError extends ConclaveError {
  override name = 'ClusterError';
}

export const clusterError = errorMaker('cluster', ClusterError);
export const workerError = errorMaker('worker', ClusterError);
