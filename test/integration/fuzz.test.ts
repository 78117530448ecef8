/**
 * A schema-driven fuzz of the whole HTTP API on the local cloud: for every operation of the OpenAPI
 * document (itself generated from the route catalogues' zod schemas) and every caller — each role, and
 * no token — malformed path parameters, query strings (forged and changed cursors among them), headers
 * and bodies. Every answer must be a 4xx in problem+json; nothing may be written to the table.
 *
 * Each request breaks at least one rule its schema states (a pattern, a type, a bound, a closed set of
 * properties, the media type), so none of them may succeed; the arranged world gives the handlers real
 * records to look up behind the ones they must refuse.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../functions/shared/auth.js';
import type { OpenApiDocument } from '../../functions/shared/openapi.js';
import type { LocalCloud } from '../../local/cloud.js';
import { startTestCloud } from '../support/cloud.js';

type JsonSchema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  parameters: { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: JsonSchema }[];
  body?: { type: string; schema: JsonSchema };
}
interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  why: string;
}

const SD = 'sd-fuzz';
const SEED = 20261203;

/** Values no path parameter of the API accepts: every id is a bounded slug, a thing name or a receipt. */
const badSegments = [
  'UPPER_case!',
  '%00',
  '..',
  '%2Fetc%2Fpasswd',
  'a'.repeat(700),
  '%E4%B8%AD%E6%96%87%F0%9F%98%80',
  "'%20OR%201=1--",
  '%zz',
  '-',
];

/** Query values that break `limit` or `cursor`, and a parameter no route declares. */
const badQueries = (cursorSeed: string) => [
  'limit=0',
  'limit=101',
  'limit=abc',
  'limit=1e400',
  'limit=-1',
  `cursor=${Buffer.from('{"pk":1}').toString('base64url')}`,
  `cursor=${Buffer.from('{"pk":"UNIT#sd-other#x","sk":"UNIT"}').toString('base64url')}.AAAA`,
  `cursor=${cursorSeed}`,
  `cursor=${'x'.repeat(3000)}`,
  'unknownParameter=1',
  'limit=10&limit=20&cursor=a.b.c',
];

/** Bodies that cannot satisfy a JSON body schema: not JSON, not an object, an extra property, wrong types. */
const badBodies = (schema: JsonSchema): { body: string; why: string }[] => {
  const required = (schema.required ?? []) as string[];
  const cases = [
    { body: '{"unterminated": ', why: 'malformed JSON' },
    { body: '[]', why: 'an array' },
    { body: '42', why: 'a number' },
    { body: 'null', why: 'null' },
    {
      body: JSON.stringify({ a: { b: { c: { d: { e: { f: { g: [[[[[[[1]]]]]]] } } } } } } }),
      why: 'deep nesting',
    },
  ];
  if (schema.additionalProperties === false)
    cases.push({ body: JSON.stringify({ fuzzUnknownProperty: true }), why: 'an undeclared property' });
  for (const name of required)
    cases.push({ body: JSON.stringify({ [name]: [[[]]] }), why: `${name} of the wrong type` });
  return cases;
};

const operationsOf = (document: OpenApiDocument): Operation[] =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => {
      const op = operation as JsonSchema;
      const content = op.requestBody?.content as Record<string, { schema: JsonSchema }> | undefined;
      const [type, media] = Object.entries(content ?? {})[0] ?? [];
      return {
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters ?? []) as Operation['parameters'],
        ...(type === undefined ? {} : { body: { type, schema: (media as { schema: JsonSchema }).schema } }),
      };
    }),
  );

/** A well-formed value for a path parameter (so that the other part of the request is the one at fault). */
const plausible = (name: string) => (name === 'receipt' ? 'a'.repeat(64) : `fz-${name.toLowerCase()}`);

const requestsFor = (operation: Operation, cursorSeed: string): FuzzRequest[] => {
  const pathVariables = operation.parameters.filter((parameter) => parameter.in === 'path');
  const fill = (override?: { name: string; value: string }) =>
    operation.path.replace(/\{([^}]+)\}/g, (_match, name: string) =>
      override?.name === name ? override.value : plausible(name),
    );
  const requests: FuzzRequest[] = [];
  const jsonHeaders = (operation.body?.type ?? 'application/json') === 'application/json';
  const goodBody =
    operation.body === undefined
      ? undefined
      : jsonHeaders
        ? JSON.stringify({ fuzzUnknownProperty: 1 })
        : 'a,b\n1,2';
  const bodyHeaders: Record<string, string> =
    operation.body === undefined ? {} : { 'content-type': operation.body.type };
  for (const variable of pathVariables)
    for (const value of badSegments)
      requests.push({
        method: operation.method,
        path: fill({ name: variable.name, value }),
        headers: bodyHeaders,
        body: goodBody,
        why: `path ${variable.name}=${value.slice(0, 20)}`,
      });
  const hasQuery = operation.parameters.some((parameter) => parameter.in === 'query');
  for (const query of badQueries(cursorSeed)) {
    // A route without query parameters ignores a query string, as API Gateway passes it on: only the
    // routes that declare some must refuse the bad ones.
    if (!hasQuery) break;
    requests.push({
      method: operation.method,
      path: `${fill()}?${query}`,
      headers: bodyHeaders,
      body: goodBody,
      why: `query ${query.slice(0, 40)}`,
    });
  }
  if (operation.body !== undefined) {
    if (jsonHeaders)
      for (const { body, why } of badBodies(operation.body.schema))
        requests.push({
          method: operation.method,
          path: fill(),
          headers: bodyHeaders,
          body,
          why: `body: ${why}`,
        });
    requests.push(
      { method: operation.method, path: fill(), headers: {}, body: goodBody, why: 'no content type' },
      {
        method: operation.method,
        path: fill(),
        headers: { 'content-type': 'application/xml' },
        body: '<ballot/>',
        why: 'a media type the route does not take',
      },
      { method: operation.method, path: fill(), headers: bodyHeaders, why: 'no body' },
    );
  }
  if (operation.parameters.some((parameter) => parameter.in === 'header' && parameter.name === 'If-Match'))
    requests.push({
      method: operation.method,
      path: fill(),
      headers: { ...bodyHeaders, 'if-match': 'W/"not-a-version"' },
      body: JSON.stringify({ fuzzUnknownProperty: 1 }),
      why: 'a malformed If-Match',
    });
  return requests;
};

describe('fuzz: every route × every caller × malformed input', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let document: OpenApiDocument;
  const tokens = new Map<string, string | undefined>();
  let dynamodb: DynamoDBClient;

  const send = async (request: FuzzRequest, token: string | undefined) => {
    const response = await fetch(`${cloud.endpoints.api}${request.path}`, {
      method: request.method,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...request.headers },
      body: request.body,
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text: await response.text(),
    };
  };

  /** Every item of the table: the fuzz must leave it exactly as it was. */
  const tableContents = async () => {
    const items: string[] = [];
    let ExclusiveStartKey: Record<string, any> | undefined;
    do {
      const page = await dynamodb.send(
        new ScanCommand({ TableName: cloud.tableName, ExclusiveStartKey, ConsistentRead: true }),
      );
      items.push(...(page.Items ?? []).map((item) => JSON.stringify(item)));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey !== undefined);
    return items.sort();
  };

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    dynamodb = new DynamoDBClient({
      endpoint: cloud.endpoints.dynamodb,
      region: cloud.sdkEnvironment.AWS_REGION,
      credentials: {
        accessKeyId: cloud.sdkEnvironment.AWS_ACCESS_KEY_ID as string,
        secretAccessKey: cloud.sdkEnvironment.AWS_SECRET_ACCESS_KEY as string,
      },
    });
    document = (await (await fetch(`${cloud.endpoints.api}/openapi.json`)).json()) as OpenApiDocument;
    const office = await cloud.token({ role: 'street-office', subDistrictId: SD });
    const call = (path: string, body: unknown, type = 'application/json') =>
      fetch(`${cloud.endpoints.api}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${office}`, 'content-type': type },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    // Real records behind the plausible ids, so that a handler reached by mistake would find something.
    await call('/compounds', { compoundId: 'fz-compoundid', name: 'fuzz' });
    await call('/compounds/fz-compoundid/areas', { areaId: 'fz-areaid', name: 'fuzz' });
    await call(
      '/areas/fz-areaid/roster',
      'building,room,area,owner\n1,101,80.00,甲\n1,102,90.00,乙',
      'text/csv',
    );
    for (const role of ROLES)
      tokens.set(
        role,
        await cloud.token({
          role,
          subDistrictId: SD,
          compoundIds: ['fz-compoundid'],
          areaIds: ['fz-areaid'],
          companyId: 'fz-companyid',
          ownerId: 'fz-ownerid',
        }),
      );
    tokens.set('no token', undefined);
  }, 180_000);
  afterAll(async () => {
    dynamodb?.destroy();
    await stop?.();
  });

  it('answers every malformed request with a 4xx problem+json and writes nothing', async () => {
    const operations = operationsOf(document);
    expect(operations.length).toBeGreaterThan(60);
    // Random cursors, each a different shape: base64 junk, a dot-joined pair, a sealed-looking one.
    const cursors = fc.sample(
      fc.oneof(
        fc.base64String({ minLength: 4, maxLength: 200 }),
        fc.tuple(fc.base64String(), fc.base64String()).map(([a, b]) => `${a}.${b}`),
        fc.json().map((json) => `${Buffer.from(json).toString('base64url')}.${'A'.repeat(43)}`),
      ),
      { numRuns: operations.length, seed: SEED },
    );
    const requests = operations.flatMap((operation, k) =>
      requestsFor(operation, encodeURIComponent(cursors[k] as string)),
    );
    const before = await tableContents();
    const failures: string[] = [];
    const callers = [...tokens.entries()];
    let next = 0;
    const jobs = requests.flatMap((request) => callers.map(([who, token]) => ({ request, who, token })));
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < jobs.length) {
          const { request, who, token } = jobs[next++] as (typeof jobs)[number];
          const answer = await send(request, token);
          // Without a token API Gateway's JWT authorizer answers itself, with its own JSON.
          const problem =
            answer.type === 'application/problem+json' ||
            (token === undefined && answer.status === 401 && answer.text === '{"message":"Unauthorized"}');
          if (answer.status >= 500 || answer.status < 400 || !problem)
            failures.push(
              `${who}: ${request.method} ${request.path.slice(0, 120)} (${request.why}) → ${answer.status} ${answer.type} ${answer.text.slice(0, 200)}`,
            );
        }
      }),
    );
    expect(failures, failures.slice(0, 40).join('\n')).toEqual([]);
    expect(jobs.length).toBeGreaterThan(3000);
    expect(await tableContents()).toEqual(before);
    // Still up: nothing crashed.
    expect((await fetch(`${cloud.endpoints.api}/openapi.json`)).status).toBe(200);
  });
});
