import type { Config } from '../config/config.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export * from './store.js';
export { openDataDirectory } from './data-directory.js';

/** The one place that picks the store backend. */
export async function createStore(config: Config): Promise<Store> {
  switch (config.store.type) {
    case 'sqlite':
      return SqliteStore.open(config.dataDir);
    case 'postgres': {
      const { PostgresStore } = await import('./postgres.js');
      return PostgresStore.connect(config.store.postgresUrl, config.store.postgresSchema);
    }
  }
}
export { reconnectionKeyOf, tokenKeyOf, TOKEN_KEY_NAME } from './keys.js';
