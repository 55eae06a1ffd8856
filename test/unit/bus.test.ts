import { InProcessBus } from '../../src/bus/in-process.js';
import { busConformance } from '../support/bus-conformance.js';

busConformance('in-process', async () => {
  const bus = new InProcessBus();
  return [bus, bus];
});
