import { randomBytes } from 'node:crypto';
import { chmod, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import { openDataDirectory, type Store } from '../store/index.js';
import { newId, newServiceKey } from './ids.js';
import { tokenKeyOf } from '../store/index.js';
import { defaultRoomOptions } from './room-options.js';

/** Store secrets that remember what the first start created, so later starts reuse it. */
const SUPER_SERVICE_MARKER = 'super-service';
const SAMPLE_ROOM_MARKER = 'sample-room';
const CREDENTIALS_FILE = 'super-service.json';
const SUPER_SERVICE_NAME = 'superService';
const SAMPLE_ROOM_NAME = 'sampleRoom';

export interface Bootstrap {
  superServiceId: string;
  /** Where the super service's `{id, key}` was written, readable by the owner only. */
  credentialsFile: string;
  sampleRoomId: string;
  /** True when this start created the super service (and printed its key). */
  createdNow: boolean;
}

export interface BootstrapOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface BootstrapDeps {
  config: Config;
  store: Store;
  logger: Logger;
  /**
   * Where the new super service is announced: stderr unless a test captures it. Its key is shown
   * only when that is an interactive terminal; otherwise (a log collector, a file) only the path
   * of the credentials file is.
   */
  output?: BootstrapOutput;
}

/** The super service's id; every process agrees on it through the store. */
export function superServiceIdOf(store: Store): Promise<string> {
  return store.getOrCreateKey(SUPER_SERVICE_MARKER, newId);
}

async function writeCredentials(file: string, credentials: { id: string; key: string }): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(temporary, 0o600); // exactly 0600, whatever the umask made of it
  await rename(temporary, file);
}

/** Creates the service itself; false when another process created it first. */
async function createSuperService(store: Store, id: string, key: string): Promise<boolean> {
  try {
    await store.createService({ _id: id, name: SUPER_SERVICE_NAME, key });
    return true;
  } catch (error) {
    if (await store.getService(id)) return false;
    throw error;
  }
}

/**
 * First start: the token key, the super service (credentials printed once and written to a 0600
 * file) and one sample room. Later starts, in any process sharing the store, reuse all of them.
 */
export async function bootstrap(deps: BootstrapDeps): Promise<Bootstrap> {
  const { config, store, logger } = deps;
  const credentialsFile = join(config.dataDir, CREDENTIALS_FILE);
  await tokenKeyOf(store);

  const superServiceId = await superServiceIdOf(store);
  let createdNow = false;
  if (!(await store.getService(superServiceId))) {
    // Before the key exists: it is shown once and written there, so the place must be fit for it.
    openDataDirectory(config.dataDir);
    const key = newServiceKey();
    createdNow = await createSuperService(store, superServiceId, key);
    if (createdNow) {
      await writeCredentials(credentialsFile, { id: superServiceId, key });
      const output = deps.output ?? process.stderr;
      output.write(
        output.isTTY
          ? `Super service created (shown once; also in ${credentialsFile})\n  id:  ${superServiceId}\n  key: ${key}\n`
          : `Super service created: id ${superServiceId}, key in ${credentialsFile} (readable by its owner only)\n`,
      );
      logger.info({ superServiceId, credentialsFile }, 'super service created');
    }
  }

  const candidateRoomId = newId();
  const sampleRoomId = await store.getOrCreateKey(SAMPLE_ROOM_MARKER, () => candidateRoomId);
  if (sampleRoomId === candidateRoomId) {
    await store.createRoom(superServiceId, { _id: sampleRoomId, name: SAMPLE_ROOM_NAME, ...defaultRoomOptions() });
    logger.info({ sampleRoomId }, 'sample room created');
  }
  return { superServiceId, credentialsFile, sampleRoomId, createdNow };
}
