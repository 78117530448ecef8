import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { httpRoute, json, routeDispatcher } from './http.js';
import { defineRoute } from './routes.js';

const context = {
  functionName: 'test',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 1000,
} as unknown as Context;

const eventWith = (overrides: {
  groups?: string;
  body?: string;
  contentType?: string;
  pathParameters?: Record<string, string>;
}): APIGatewayProxyEventV2WithJWTAuthorizer =>
  ({
    version: '2.0',
    routeKey: 'POST /things/{id}',
    rawPath: '/things/t-1',
    rawQueryString: '',
    headers: overrides.contentType ? { 'Content-Type': overrides.contentType } : {},
    pathParameters: overrides.pathParameters ?? { id: 't-1' },
    body: overrides.body,
    isBase64Encoded: false,
    requestContext: {
      http: { method: 'POST', path: '/things/t-1' },
      authorizer:
        overrides.groups === undefined
          ? undefined
          : { jwt: { claims: { sub: 'u-1', 'cognito:groups': overrides.groups }, scopes: null } },
    },
  }) as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;

const route = httpRoute(
  {
    roles: ['street-office'],
    body: z.object({ name: z.string().min(1), area: z.string().regex(/^\d+(\.\d+)?$/) }).strict(),
    params: z.object({ id: z.string() }),
  },
  async ({ body, params, caller }) => json(200, { id: params.id, name: body.name, by: caller.sub }),
);

const call = async (event: APIGatewayProxyEventV2WithJWTAuthorizer) => {
  const response = (await route(event, context)) as {
    statusCode: number;
    headers: Record<string, string>;
    body: string;
  };
  return { ...response, json: JSON.parse(response.body) };
};

describe('httpRoute', () => {
  it('hands typed, validated input to the handler', async () => {
    const response = await call(
      eventWith({
        groups: '[street-office]',
        contentType: 'application/json',
        body: '{"name":"a","area":"89.37"}',
      }),
    );
    expect(response.statusCode).toBe(200);
    expect(response.json).toEqual({ id: 't-1', name: 'a', by: 'u-1' });
  });

  it.each([
    ['no token claims', { contentType: 'application/json', body: '{}' }, 401],
    ['a role without the function', { groups: '[owner]', contentType: 'application/json', body: '{}' }, 403],
    ['no body', { groups: '[street-office]', contentType: 'application/json' }, 400],
    [
      'a body that is not JSON',
      { groups: '[street-office]', contentType: 'application/json', body: '{"name":' },
      400,
    ],
    ['a body sent as text', { groups: '[street-office]', contentType: 'text/plain', body: '{}' }, 415],
    [
      'a decimal written with a comma',
      { groups: '[street-office]', contentType: 'application/json', body: '{"name":"a","area":"89,37"}' },
      400,
    ],
    [
      'an unknown field',
      { groups: '[street-office]', contentType: 'application/json', body: '{"name":"a","area":"1","x":1}' },
      400,
    ],
  ])('answers %s with %i problem+json', async (_name, overrides, status) => {
    const response = await call(eventWith(overrides));
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(response.json).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
  });

  it('names the failing field as a JSON pointer', async () => {
    const response = await call(
      eventWith({
        groups: '[street-office]',
        contentType: 'application/json',
        body: '{"name":"","area":"-1"}',
      }),
    );
    expect(response.json.errors.map((error: { pointer: string }) => error.pointer).sort()).toEqual([
      '/body/area',
      '/body/name',
    ]);
  });

  it('hides the details of unexpected errors behind a 500', async () => {
    const failing = httpRoute({ roles: [] }, async () => {
      throw new Error('secret connection string');
    });
    const response = (await failing(eventWith({}), context)) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('secret');
  });
});

const ENTRY = 'things/api.handler.ts';

describe('routeDispatcher', () => {
  const catalogue = {
    createThing: defineRoute({
      routeKey: 'POST /things/{id}',
      entry: 'things/api.handler.ts',
      handler: 'createThing',
      summary: 'Create a thing',
      roles: ['street-office'],
      tableAccess: 'write',
    }),
    listThings: defineRoute({
      routeKey: 'GET /things',
      entry: 'things/api.handler.ts',
      handler: 'listThings',
      summary: 'List things',
      roles: ['street-office'],
      tableAccess: 'read',
    }),
  };
  const listThings = async () => json(200, { items: [] });

  it('hands each event to the handler of the route API Gateway matched', async () => {
    const dispatch = routeDispatcher(catalogue, ENTRY, { createThing: route, listThings });
    const created = await dispatch(
      eventWith({
        groups: '[street-office]',
        contentType: 'application/json',
        body: '{"name":"a","area":"1"}',
      }),
      context,
    );
    const listed = await dispatch({ ...eventWith({}), routeKey: 'GET /things' }, context);
    expect(JSON.parse(created.body as string)).toEqual({ id: 't-1', name: 'a', by: 'u-1' });
    expect(JSON.parse(listed.body as string)).toEqual({ items: [] });
  });

  it('answers 404 problem+json for a route it does not serve', async () => {
    const dispatch = routeDispatcher(catalogue, ENTRY, { createThing: route, listThings });
    const response = await dispatch({ ...eventWith({}), routeKey: 'DELETE /things/{id}' }, context);
    expect(response.statusCode).toBe(404);
    expect(response.headers?.['content-type']).toBe('application/problem+json');
  });

  it('fails at once when a catalogue route has no handler in the module', () => {
    expect(() => routeDispatcher(catalogue, ENTRY, { createThing: route })).toThrow(
      /GET \/things.*listThings/,
    );
  });
});
