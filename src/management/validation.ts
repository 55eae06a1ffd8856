import { Ajv, type Options } from 'ajv';
import type { FastifySchemaCompiler, RouteOptions } from 'fastify';

const strictOptions: Options = {
  allErrors: false,
  // Defaults in the schemas fill a room's options the way OWT's model did.
  useDefaults: true,
  // Unknown fields are an error, never silently dropped.
  removeAdditional: false,
  allowUnionTypes: true,
  strict: true,
};

/** Bodies keep their JSON types; a string where a number belongs is a bad request. */
export function createBodyValidator(): Ajv {
  return new Ajv({ ...strictOptions, coerceTypes: false });
}

/** Query strings and path parameters only ever arrive as text, so they are coerced. */
function createQueryValidator(): Ajv {
  return new Ajv({ ...strictOptions, coerceTypes: true });
}

export function createSchemaCompiler(): FastifySchemaCompiler<object> {
  const body = createBodyValidator();
  const query = createQueryValidator();
  return ({ schema, httpPart }) => (httpPart === 'body' ? body : query).compile(schema);
}

/** Deeper than any body the API takes; a deeper one is refused before anything walks it recursively. */
export const MAX_BODY_DEPTH = 32;

/** Whether a parsed JSON value nests arrays and objects more than `max` levels deep; walked without recursion. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Services, rooms and participants are named by ids of this shape only. */
const idSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' };

/**
 * Completes a route's schema with what its module left undescribed: every path parameter is an
 * id, and a route that takes no query string takes no query fields.
 */
export function completeRouteSchema(route: RouteOptions): void {
  const schema = (route.schema ??= {});
  const names = [...route.url.matchAll(/:(\w+)/g)].map((match) => match[1]!);
  schema.params ??= {
    type: 'object',
    additionalProperties: false,
    required: names,
    properties: Object.fromEntries(names.map((name) => [name, idSchema])),
  };
  schema.querystring ??= { type: 'object', additionalProperties: false };
}

/** The part of an Ajv error (as fastify passes it on) that a message is made of. */
export interface SchemaViolation {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string | undefined;
}

/** One readable sentence for the first schema violation, e.g. `body/options/foo is not allowed`. */
export function describeValidationError(errors: readonly SchemaViolation[], part: string): string {
  const error = errors[0];
  if (!error) return `Invalid ${part}`;
  const path = `${part}${error.instancePath}`;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${path}/${(error.params as { additionalProperty: string }).additionalProperty} is not allowed`;
    case 'required':
      return `${path}/${(error.params as { missingProperty: string }).missingProperty} is required`;
    case 'const':
      // `if boolean then const false`: an optional feature given as an object, or `false` for off.
      if (error.schemaPath.endsWith('/then/const')) return `${path} must be an object or false`;
      return `${path} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
    default:
      return `${path} ${error.message ?? 'is invalid'}`;
  }
}
