import type { Config } from '../config/config.js';
import type { Bus } from './bus.js';
import { InProcessBus } from './in-process.js';

export * from './bus.js';

/** The one place that picks the bus backend. */
export async function createBus(config: Config): Promise<Bus> {
  switch (config.bus.type) {
    case 'in-process':
      return new InProcessBus();
    case 'amqp': {
      const { AmqpBus } = await import('./amqp.js');
      const { amqpUrl, exchange, reconnectDelay, maxReconnectDelay, heartbeat } = config.bus;
      return AmqpBus.connect(amqpUrl, exchange, { reconnectDelay, maxReconnectDelay, heartbeat });
    }
  }
}
