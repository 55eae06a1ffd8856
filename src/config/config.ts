import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { strategyNames } from '../cluster/strategies/index.js';
import { defaults, type Config, type ConfigOverrides } from './defaults.js';

export { defaults, type Config, type ConfigOverrides } from './defaults.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Components in separate processes (SPEC §1): each may die alone, so sessions move between portals
 * and a host's CPU load matters for scheduling. Embedded, everything lives and dies together.
 */
export function isClusterMode(config: Config): boolean {
  return config.bus.type !== 'in-process';
}


const ipv4 = '^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$';

const leafConstraints: Record<string, object> = {
  'log.level': { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
  'log.format': { enum: ['json', 'pretty'] },
  shutdownTimeout: { minimum: 1 },
  'store.type': { enum: ['sqlite', 'postgres'] },
  'bus.type': { enum: ['in-process', 'amqp'] },
  'cluster.strategies.portal': { enum: strategyNames },
  'cluster.strategies.conference': { enum: strategyNames },
  'cluster.strategies.webrtc': { enum: strategyNames },
  'cluster.maxLoad': { exclusiveMinimum: 0, maximum: 1 },
  'cluster.loadMeter': { enum: ['auto', 'cpu', 'none'] },
  'agent.maxProcesses': { minimum: -1 },
  'agent.nodeCheckAliveCount': { minimum: 1 },
  'management.port': { minimum: 0, maximum: 65535 },
  'portal.port': { minimum: 0, maximum: 65535 },
  'metrics.port': { minimum: 0, maximum: 65535 },
  'portal.maxHttpBufferSize': { minimum: 1024 },
  'management.bodyLimit': { minimum: 1024 },
  'portal.maxConnectionsPerIp': { minimum: 1 },
  'portal.firstRequestTimeout': { minimum: 1 },
  'management.firstRequestTimeout': { minimum: 1 },
  'portal.loginAttemptsPerIpPerMinute': { minimum: 1 },
  'portal.eventsPerSecond': { minimum: 1 },
  'portal.disconnectAfterExcessSeconds': { minimum: 1 },
  'conference.maxTextLength': { minimum: 1 },
  'webrtc.engine': { enum: ['werift', 'datachannel'] },
  'webrtc.listenIp': { pattern: ipv4 },
  'webrtc.announcedIp': { pattern: `^$|${ipv4}` },
  'webrtc.portRange': { pattern: '^$|^[0-9]{1,5}-[0-9]{1,5}$' },
  'webrtc.iceServers': { items: { type: 'string', pattern: '^(stun|stuns|turn|turns):' } },
  'webrtc.connectTimeout': { minimum: 1 },
  'webrtc.maxPublicationsPerParticipant': { minimum: 1 },
  'webrtc.maxSubscriptionsPerParticipant': { minimum: 1 },
  'webrtc.maxTracksPerPublication': { minimum: 1 },
  'webrtc.maxTransportsPerNode': { minimum: 1 },
};

function schemaOf(value: unknown, path: string): object {
  const extra = leafConstraints[path] ?? {};
  if (Array.isArray(value)) return { type: 'array', items: { type: 'string' }, ...extra };
  if (typeof value === 'number') {
    return { type: Number.isInteger(value) ? 'integer' : 'number', minimum: 0, ...extra };
  }
  if (typeof value === 'boolean') return { type: 'boolean', ...extra };
  if (typeof value === 'string') return { type: 'string', ...extra };
  const properties: Record<string, object> = {};
  for (const [key, child] of Object.entries(value as object)) {
    properties[key] = schemaOf(child, path ? `${path}.${key}` : key);
  }
  return { type: 'object', properties, additionalProperties: false, required: Object.keys(properties) };
}

const validateConfig = new Ajv({ allErrors: true }).compile<Config>(schemaOf(defaults, ''));

/** Every dotted key of the configuration, to suggest the one a typo meant. */
function keysOf(value: unknown, prefix = ''): string[] {
  if (!isPlainObject(value)) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => keysOf(child, prefix ? `${prefix}.${key}` : key));
}

const knownKeys = keysOf(defaults);

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known key closest to `key`, when it is close enough to be a typo of it. */
function nearestKey(key: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const known of knownKeys) {
    const distance = editDistance(key.toLowerCase(), known.toLowerCase());
    if (!best || distance < best.distance) best = { key: known, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 4)) ? best.key : undefined;
}

/** Where a key's value came from, for keys that the file or the environment set: "x (from CONCLAVE_X)". */
type Sources = ReadonlyMap<string, string>;

function describe(error: ErrorObject, sources: Sources): string {
  const key = error.instancePath.slice(1).replaceAll('/', '.');
  if (error.keyword === 'additionalProperties') {
    const unknown = `${key ? `${key}.` : ''}${(error.params as { additionalProperty: string }).additionalProperty}`;
    const source = sources.get(unknown);
    const suggestion = nearestKey(unknown);
    return `unknown configuration key "${unknown}"${source ? ` (from ${source})` : ''}${suggestion ? `; did you mean "${suggestion}"?` : ''}`;
  }
  const source = sources.get(key);
  const allowed = error.keyword === 'enum' ? `: ${(error.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ')}` : '';
  return `configuration key "${key}"${source ? ` (from ${source})` : ''} ${error.message}${allowed}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    result[key] = isPlainObject(value) && isPlainObject(base[key])
      ? merge(base[key] as Record<string, unknown>, value)
      : value;
  }
  return result;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Reads a dotted key's default to know how to parse a string from the environment or a flag. */
function parseScalar(path: string, raw: string): unknown {
  let template: unknown = defaults;
  for (const part of path.split('.')) {
    template = isPlainObject(template) ? template[part] : undefined;
  }
  if (typeof template === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (typeof template === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (Array.isArray(template)) return raw === '' ? [] : raw.split(',').map((item) => item.trim());
  return raw;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function fromEnvironment(env: NodeJS.ProcessEnv, sources: Map<string, string>): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('CONCLAVE_') || name === 'CONCLAVE_CONFIG' || raw === undefined) continue;
    const path = name
      .slice('CONCLAVE_'.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()))
      .join('.');
    setPath(overrides, path, parseScalar(path, raw));
    sources.set(path, name);
  }
  return overrides;
}

/**
 * A client cannot refresh its reconnection ticket while it is away: a ticket that ends before the
 * reconnection window does would refuse the relogin the window waits for.
 */
function portalProblems({ portal }: Config): string[] {
  if (portal.reconnectionTicketLifetime > portal.reconnectionTimeout) return [];
  return [
    `configuration key "portal.reconnectionTicketLifetime" (${portal.reconnectionTicketLifetime} ms) must be longer than "portal.reconnectionTimeout" (${portal.reconnectionTimeout} ms): a client away cannot refresh its ticket, so its relogin would be refused before the window it is waited for ends`,
  ];
}

/** What a schema cannot say about the media plane's addresses and ports. */
function webrtcProblems({ webrtc }: Config): string[] {
  const problems: string[] = [];
  if (webrtc.listenIp === '0.0.0.0' && webrtc.announcedIp === '') {
    problems.push('configuration key "webrtc.announcedIp" must be set when "webrtc.listenIp" is 0.0.0.0');
  }
  const range = portRangeOf(webrtc.portRange);
  if (webrtc.portRange !== '' && (!range || range[0] < 1 || range[1] > 65_535 || range[1] - range[0] < 1)) {
    problems.push('configuration key "webrtc.portRange" must be "min-max" with 1 <= min < max <= 65535');
  }
  return problems;
}

/** `20000-20999` as its bounds; undefined when empty. */
export function portRangeOf(text: string): [number, number] | undefined {
  const match = /^(\d+)-(\d+)$/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

export interface ParsedArguments {
  command: string | undefined;
  /** `--help`/`-h` or `--version`: print that and do nothing else. */
  request: 'help' | 'version' | undefined;
  configFile: string | undefined;
  overrides: Record<string, unknown>;
}

const requestFlags: Readonly<Record<string, ParsedArguments['request']>> = { '--help': 'help', '-h': 'help', '--version': 'version' };

/** `conclave [command] [--config file] [--dotted.key value | --dotted.key=value]... [--help | -h | --version]` */
export function parseArguments(argv: readonly string[]): ParsedArguments {
  const overrides: Record<string, unknown> = {};
  let command: string | undefined;
  let configFile: string | undefined;
  let request: ParsedArguments['request'];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (requestFlags[argument]) {
      request ??= requestFlags[argument];
      continue;
    }
    if (!argument.startsWith('--')) {
      if (command !== undefined) throw new ConfigError(`unexpected argument "${argument}"`);
      command = argument;
      continue;
    }
    const equals = argument.indexOf('=');
    const key = argument.slice(2, equals === -1 ? undefined : equals);
    let value: string | undefined = equals === -1 ? undefined : argument.slice(equals + 1);
    if (value === undefined) {
      value = argv[index + 1];
      if (value === undefined) throw new ConfigError(`flag "--${key}" needs a value`);
      index++;
    }
    if (key === 'config') configFile = value;
    else setPath(overrides, key, parseScalar(key, value));
  }
  return { command, request, configFile, overrides };
}

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, unknown> | ConfigOverrides;
}

/** Defaults, then the config file, then the environment, then flags/overrides; validated and frozen. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? {};
  const sources = new Map<string, string>();
  let merged: Record<string, unknown> = structuredClone(defaults) as unknown as Record<string, unknown>;
  const file = options.file ?? env['CONCLAVE_CONFIG'];
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`cannot read configuration file "${file}": ${(error as Error).message}`);
    }
    if (!isPlainObject(parsed)) throw new ConfigError(`configuration file "${file}" must hold a JSON object`);
    merged = merge(merged, parsed);
    for (const key of keysOf(parsed)) sources.set(key, `file "${file}"`);
  }
  merged = merge(merged, fromEnvironment(env, sources));
  const overrides = (options.overrides ?? {}) as Record<string, unknown>;
  // Flags and overrides come last, so a key they set did not come from the file or the environment.
  for (const key of keysOf(overrides)) sources.delete(key);
  merged = merge(merged, overrides);
  if (!validateConfig(merged)) {
    throw new ConfigError((validateConfig.errors ?? []).map((error) => describe(error, sources)).join('; '));
  }
  const problems = [...portalProblems(merged as unknown as Config), ...webrtcProblems(merged as unknown as Config)];
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return deepFreeze(merged as unknown as Config);
}
