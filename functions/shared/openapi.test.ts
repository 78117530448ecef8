import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { deviceRoutes, registryRoutes, rosterRoutes } from '../registry/routes.js';
import { violationsRoutes } from '../violations/routes.js';
import { CATALOGUES } from './catalogues.js';
import {
  buildOpenApiDocument,
  OpenApiCatalogueError,
  type OpenApiDocument,
  type OpenApiOperation,
  pathVariables,
} from './openapi.js';
import { defineRoute, type RouteDefinition } from './routes.js';

const INFO = { title: 'civic-cell API', version: 'test' };
const ALL_ROUTES = CATALOGUES.flatMap((catalogue) => Object.values(catalogue) as RouteDefinition[]);

const operations = (document: OpenApiDocument) =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );

/** Every `$ref` in the document, to check each points at something the document defines. */
const refsIn = (value: unknown): string[] => {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === '$ref' && typeof inner === 'string' ? [inner] : refsIn(inner),
  );
};

const resolve = (document: OpenApiDocument, ref: string): unknown =>
  ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], document);

describe('buildOpenApiDocument', () => {
  const document = buildOpenApiDocument(CATALOGUES, INFO);

  it('is an OpenAPI 3.1 document with info, paths, the Problem schema and the cognito scheme', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toEqual(INFO);
    expect(document.components.schemas.Problem).toMatchObject({
      type: 'object',
      required: expect.arrayContaining(['type', 'title', 'status']),
      properties: {
        errors: { type: 'array', items: { required: ['pointer', 'detail'] } },
      },
    });
    expect(document.components.securitySchemes.cognito).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect(JSON.parse(JSON.stringify(document))).toEqual(document);
  });

  it('covers the registry, roster, device and violations catalogues', () => {
    expect(CATALOGUES).toContain(registryRoutes);
    expect(CATALOGUES).toContain(rosterRoutes);
    expect(CATALOGUES).toContain(deviceRoutes);
    expect(CATALOGUES).toContain(violationsRoutes);
  });

  it('has every catalogue route exactly once, under its method and path, named by its handler', () => {
    const found = operations(document);
    expect(found).toHaveLength(ALL_ROUTES.length);
    for (const route of ALL_ROUTES) {
      const [method = '', path = ''] = route.routeKey.split(' ');
      const matches = found.filter((entry) => entry.method === method && entry.path === path);
      expect(matches, route.routeKey).toHaveLength(1);
      expect(matches[0]?.operation).toMatchObject({
        operationId: route.handler,
        summary: route.summary,
        tags: [route.entry.split('/')[0]],
      });
    }
    const ids = found.map((entry) => entry.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(ALL_ROUTES.map((route) => [route.routeKey, route] as const))(
    '%s: path parameters match the path, query and body have schemas, responses are complete',
    (routeKey, route) => {
      const [method = '', path = ''] = routeKey.split(' ');
      const operation = document.paths[path]?.[method.toLowerCase()] as OpenApiOperation;
      const parameters = operation.parameters ?? [];

      const pathParameters = parameters.filter((parameter) => parameter.in === 'path');
      expect(pathParameters.map((parameter) => parameter.name).sort()).toEqual(pathVariables(path).sort());
      for (const parameter of pathParameters) {
        expect(parameter.required).toBe(true);
        expect(parameter.schema.type).toBe('string');
      }

      const queryNames = parameters.filter((parameter) => parameter.in === 'query').map((p) => p.name);
      const queryShape =
        route.query && 'shape' in route.query ? Object.keys((route.query as { shape: object }).shape) : [];
      expect(queryNames.sort()).toEqual([...queryShape].sort());

      if (route.body) {
        expect(operation.requestBody?.required).toBe(true);
        expect(operation.requestBody?.content['application/json']?.schema).toMatchObject({
          type: 'object',
          properties: expect.any(Object),
        });
      } else if (route.textBody) {
        expect(Object.keys(operation.requestBody?.content ?? {})).toEqual(route.textBody.contentTypes);
        for (const media of Object.values(operation.requestBody?.content ?? {}))
          expect(media.schema).toMatchObject({ type: 'string' });
      } else {
        expect(operation.requestBody).toBeUndefined();
      }

      const statuses = Object.keys(operation.responses);
      expect(statuses).toContain(String(route.successStatus ?? 200));
      expect(statuses).toEqual(expect.arrayContaining(['400', '401', '403', '404']));
      if (method === 'PATCH') {
        expect(statuses).toContain('412');
        expect(parameters).toContainEqual(expect.objectContaining({ name: 'If-Match', in: 'header' }));
      }
      if (method === 'POST' && route.successStatus === 201) expect(statuses).toContain('409');
      if (route.body || route.textBody) expect(statuses).toEqual(expect.arrayContaining(['413', '415']));
      expect(operation.security).toEqual([{ cognito: [] }]);
    },
  );

  it('resolves every $ref inside the document, and every problem response is problem+json', () => {
    const refs = refsIn(document);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) expect(resolve(document, ref), ref).toBeDefined();
    for (const response of Object.values(document.components.responses)) {
      expect(response.content['application/problem+json']?.schema).toEqual({
        $ref: '#/components/schemas/Problem',
      });
    }
  });

  it('describes what a client sends: defaulted fields are optional, nested schemas carry no $schema', () => {
    const list = document.paths['/compounds']?.get as OpenApiOperation;
    expect(list.parameters).toContainEqual(
      expect.objectContaining({ name: 'limit', in: 'query', required: false }),
    );
    expect(JSON.stringify(document.paths)).not.toContain('$schema');
  });
});

describe('buildOpenApiDocument with unusual catalogues', () => {
  it('survives transforms, refinements and types JSON Schema cannot express', () => {
    const odd = {
      probe: defineRoute({
        routeKey: 'POST /probes/{probeId}',
        entry: 'probe/api.handler.ts',
        handler: 'probe',
        summary: 'A probe',
        roles: [],
        params: z.object({ probeId: z.string().transform((value) => value.toUpperCase()) }),
        body: z
          .object({ when: z.date(), big: z.bigint(), count: z.number() })
          .refine((value) => value.count > 0),
        response: z.object({ at: z.string().transform((value) => new Date(value)) }),
        tableAccess: 'none',
      }),
    };
    const document = buildOpenApiDocument([odd], INFO);
    const operation = document.paths['/probes/{probeId}']?.post as OpenApiOperation;
    expect(operation.requestBody?.content['application/json']?.schema).toMatchObject({
      type: 'object',
      properties: { when: {}, big: {}, count: { type: 'number' } },
    });
    expect(operation.security).toEqual([]);
    expect(Object.keys(operation.responses)).not.toContain('401');
    expect(operation.responses['200']).toMatchObject({ content: { 'application/json': expect.any(Object) } });
  });

  it('refuses a route declared twice and params that do not match the path', () => {
    const route = registryRoutes.getCompound;
    expect(() => buildOpenApiDocument([{ a: route }, { b: { ...route, handler: 'other' } }], INFO)).toThrow(
      OpenApiCatalogueError,
    );
    expect(() => buildOpenApiDocument([{ a: { ...route, routeKey: 'GET /compounds/{id}' } }], INFO)).toThrow(
      /params declare \[compoundId\] but the path binds \[id\]/,
    );
  });
});
