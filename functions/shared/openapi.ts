/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the route catalogues and their zod schemas,
 * so the published contract is the one the handlers validate against. Pure: no I/O, no AWS import.
 */
import * as z from 'zod';
import type { RouteDefinition } from './routes.js';

type JsonSchema = Record<string, unknown>;

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  operationId: string;
  summary: string;
  tags: string[];
  parameters?: OpenApiParameter[];
  requestBody?: { required: true; content: Record<string, { schema: JsonSchema }> };
  responses: Record<
    string,
    { description: string; content?: Record<string, { schema: JsonSchema }> } | { $ref: string }
  >;
  security: Record<string, string[]>[];
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: OpenApiInfo;
  tags: { name: string }[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, { description: string; content: Record<string, { schema: JsonSchema }> }>;
    securitySchemes: Record<string, JsonSchema>;
  };
}

/** RFC 9457 problem details as every route answers errors, with the field errors of a 400. */
export const problemSchema = z
  .object({
    type: z
      .string()
      .describe('A URI reference naming the problem type; `about:blank` for plain HTTP statuses'),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    detail: z.string().optional(),
    instance: z.string().optional().describe('The request path'),
    errors: z
      .array(
        z.object({
          pointer: z.string().describe('RFC 6901 pointer into the request part, e.g. /body/name'),
          detail: z.string(),
        }),
      )
      .optional()
      .describe('Which fields failed validation (400 only)'),
  })
  .describe('Problem details (RFC 9457)');

const PROBLEMS = {
  400: ['BadRequest', 'The request is malformed or fails validation; `errors` points at each field'],
  401: ['Unauthorized', 'No valid token'],
  403: ['Forbidden', "The caller's role may not call this route"],
  404: ['NotFound', 'No such resource, or it lies outside the caller’s tenancy (existence is not revealed)'],
  409: ['Conflict', 'A resource with that id already exists'],
  412: ['PreconditionFailed', 'If-Match does not name the current version (ETag)'],
  413: ['PayloadTooLarge', 'The request body is too large'],
  415: ['UnsupportedMediaType', 'The body is not application/json'],
} as const satisfies Record<number, readonly [string, string]>;
type ProblemStatus = keyof typeof PROBLEMS;

/**
 * A zod schema as a JSON Schema 2020-12 (OpenAPI 3.1's dialect), of what a client sends (`io: 'input'`:
 * defaults are optional, coerced query numbers stay numbers). Refinements and transforms have no JSON
 * Schema form and become `{}` rather than failing the whole document.
 */
export const jsonSchemaOf = (schema: z.ZodType): JsonSchema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
};

/** The `{name}` variables of a route path, in order. */
export const pathVariables = (path: string): string[] =>
  [...path.matchAll(/\{([^}+]+)\+?\}/g)].map((match) => match[1] as string);

/** The feature a route belongs to: the folder of its handler module (`registry/api.handler.ts` → registry). */
const featureOf = (route: RouteDefinition) => route.entry.split('/')[0] ?? 'api';

const propertiesOf = (schema: JsonSchema) => ({
  properties: (schema.properties ?? {}) as Record<string, JsonSchema>,
  required: new Set((schema.required ?? []) as string[]),
});

const pick = (schema: JsonSchema, keys: readonly string[]) =>
  Object.fromEntries(keys.filter((key) => schema[key] !== undefined).map((key) => [key, schema[key]]));

const parametersOf = (route: RouteDefinition, path: string): OpenApiParameter[] => {
  const parameters: OpenApiParameter[] = [];
  const params = route.params ? propertiesOf(jsonSchemaOf(route.params)) : undefined;
  for (const name of pathVariables(path)) {
    const schema = params?.properties[name] ?? { type: 'string' };
    parameters.push({ name, in: 'path', required: true, ...pick(schema, ['description']), schema });
  }
  if (route.query) {
    const query = propertiesOf(jsonSchemaOf(route.query));
    for (const [name, schema] of Object.entries(query.properties)) {
      parameters.push({
        name,
        in: 'query',
        required: query.required.has(name),
        ...pick(schema, ['description']),
        schema,
      });
    }
  }
  if (route.routeKey.startsWith('PATCH ')) {
    parameters.push({
      name: 'If-Match',
      in: 'header',
      required: true,
      description: 'The ETag of the version you read (`"3"`), or `*`',
      schema: { type: 'string' },
    });
  }
  return parameters;
};

const problemsOf = (route: RouteDefinition, method: string): ProblemStatus[] => {
  const statuses: ProblemStatus[] = [400];
  if (route.roles.length > 0) statuses.push(401, 403);
  statuses.push(404);
  if (method === 'post' && (route.successStatus ?? 200) === 201) statuses.push(409);
  if (method === 'patch') statuses.push(412);
  if (route.body || route.textBody) statuses.push(413, 415);
  return statuses;
};

/** A JSON body from its zod schema, or a text body (e.g. a CSV upload) of the route's media types. */
const requestBodyOf = (route: RouteDefinition): Pick<OpenApiOperation, 'requestBody'> => {
  if (route.body) {
    return {
      requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(route.body) } } },
    };
  }
  if (route.textBody) {
    const text: JsonSchema = {
      type: 'string',
      ...(route.maxBodyBytes ? { description: `At most ${route.maxBodyBytes} bytes` } : {}),
    };
    return {
      requestBody: {
        required: true,
        content: Object.fromEntries(route.textBody.contentTypes.map((type) => [type, { schema: text }])),
      },
    };
  }
  return {};
};

const operationOf = (route: RouteDefinition, method: string, path: string): OpenApiOperation => {
  const success = route.successStatus ?? 200;
  const parameters = parametersOf(route, path);
  return {
    operationId: route.handler,
    summary: route.summary,
    tags: [featureOf(route)],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...requestBodyOf(route),
    responses: {
      [String(success)]: {
        description: success === 201 ? 'Created' : 'OK',
        ...(route.response
          ? { content: { 'application/json': { schema: jsonSchemaOf(route.response) } } }
          : {}),
      },
      ...Object.fromEntries(
        problemsOf(route, method).map((status) => [
          String(status),
          { $ref: `#/components/responses/${PROBLEMS[status][0]}` },
        ]),
      ),
    },
    security: route.roles.length > 0 ? [{ cognito: [] }] : [],
  };
};

/** A catalogue or document that breaks the contract (duplicate route or operation id, unbound path variable). */
export class OpenApiCatalogueError extends Error {}

/**
 * Builds the OpenAPI 3.1 document of every route in the catalogues: one operation per route, its path,
 * query and If-Match parameters, its JSON body, its success response and the problem+json responses it
 * can give. Routes are secured by `cognito`, declared as HTTP bearer JWT: the API's authorizer accepts
 * the user pool's tokens in `Authorization: Bearer`, and the issuer's discovery URL depends on the
 * deployment's region and pool, which this document does not know.
 */
export const buildOpenApiDocument = (
  catalogues: Record<string, RouteDefinition>[],
  info: OpenApiInfo,
): OpenApiDocument => {
  const paths: OpenApiDocument['paths'] = {};
  const operationIds = new Set<string>();
  const tags = new Set<string>();
  for (const route of catalogues.flatMap((catalogue) => Object.values(catalogue))) {
    const [method = '', path = ''] = route.routeKey.split(' ');
    const verb = method.toLowerCase();
    const item = paths[path] ?? {};
    if (item[verb] !== undefined) throw new OpenApiCatalogueError(`${route.routeKey} is declared twice`);
    if (operationIds.has(route.handler)) {
      throw new OpenApiCatalogueError(`operationId ${route.handler} is used twice (${route.routeKey})`);
    }
    if (route.params) {
      const declared = Object.keys(propertiesOf(jsonSchemaOf(route.params)).properties).sort();
      const bound = pathVariables(path).sort();
      if (declared.join() !== bound.join()) {
        throw new OpenApiCatalogueError(
          `${route.routeKey}: params declare [${declared}] but the path binds [${bound}]`,
        );
      }
    }
    operationIds.add(route.handler);
    tags.add(featureOf(route));
    item[verb] = operationOf(route, verb, path);
    paths[path] = item;
  }
  const problem = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
  return {
    openapi: '3.1.0',
    info,
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
    components: {
      schemas: { Problem: jsonSchemaOf(problemSchema) },
      responses: Object.fromEntries(
        Object.values(PROBLEMS).map(([name, description]) => [name, { description, content: problem }]),
      ),
      securitySchemes: {
        cognito: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "An ID token of the Cognito user pool; its groups are the caller's roles and its custom attributes the tenancy.",
        },
      },
    },
  };
};
