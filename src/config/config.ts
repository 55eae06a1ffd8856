import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { strategyNames } from '../cluster/strategies/index.js';
import { defaults, type Config, type ConfigOverrides } from './defaults.js';

export { defaults, type Config, type ConfigOverrides } from './defaults.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}


const leafConstraints: Record<string, object> = {
  'log.level': { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
  'store.type': { enum: ['sqlite', 'postgres'] },
  'bus.type': { enum: ['in-process', 'amqp'] },
  'cluster.strategies.portal': { enum: strategyNames },
  'cluster.strategies.conference': { enum: strategyNames },
  'cluster.maxLoad': { exclusiveMinimum: 0, maximum: 1 },
  'cluster.loadMeter': { enum: ['auto', 'cpu', 'none'] },
  'agent.maxProcesses': { minimum: -1 },
  'agent.nodeCheckAliveCount': { minimum: 1 },
  'management.port': { minimum: 0, maximum: 65535 },
  'portal.port': { minimum: 0, maximum: 65535 },
  'portal.maxHttpBufferSize': { minimum: 1024 },
  'management.bodyLimit': { minimum: 1024 },
  'portal.maxConnectionsPerIp': { minimum: 1 },
  'portal.loginAttemptsPerIpPerMinute': { minimum: 1 },
  'portal.eventsPerSecond': { minimum: 1 },
  'portal.disconnectAfterExcessSeconds': { minimum: 1 },
  'conference.maxTextLength': { minimum: 1 },
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

function describe(error: ErrorObject): string {
  const key = error.instancePath.slice(1).replaceAll('/', '.');
  if (error.keyword === 'additionalProperties') {
    const unknown = (error.params as { additionalProperty: string }).additionalProperty;
    return `unknown configuration key "${key ? `${key}.` : ''}${unknown}"`;
  }
  return `configuration key "${key}" ${error.message}`;
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

function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('CONCLAVE_') || name === 'CONCLAVE_CONFIG' || raw === undefined) continue;
    const path = name
      .slice('CONCLAVE_'.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()))
      .join('.');
    setPath(overrides, path, parseScalar(path, raw));
  }
  return overrides;
}

export interface ParsedArguments {
  command: string | undefined;
  configFile: string | undefined;
  overrides: Record<string, unknown>;
}

/** `conclave [command] [--config file] [--dotted.key value | --dotted.key=value]...` */
export function parseArguments(argv: readonly string[]): ParsedArguments {
  const overrides: Record<string, unknown> = {};
  let command: string | undefined;
  let configFile: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
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
  return { command, configFile, overrides };
}

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, unknown> | ConfigOverrides;
}

/** Defaults, then the config file, then the environment, then flags/overrides; validated and frozen. */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? {};
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
  }
  merged = merge(merged, fromEnvironment(env));
  merged = merge(merged, (options.overrides ?? {}) as Record<string, unknown>);
  if (!validateConfig(merged)) {
    throw new ConfigError((validateConfig.errors ?? []).map(describe).join('; '));
  }
  return deepFreeze(merged as unknown as Config);
}
