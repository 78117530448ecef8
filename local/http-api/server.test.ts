import { request as httpRequest } from 'node:http';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { decodeJwt, type JSONWebKeySet } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalIssuer, type LocalIssuer } from './issuer.js';
import {
  type HttpApiEvent,
  type HttpApiOptions,
  type HttpApiServer,
  MAX_BODY_BYTES,
  startHttpApi,
} from './server.js';

const ISSUER = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_local';
const CLIENT_ID = 'civic-app-client';

let issuer: LocalIssuer;
let foreign: LocalIssuer;

beforeAll(async () => {
  issuer = await createLocalIssuer({ issuer: ISSUER, defaultClientId: CLIENT_ID });
  foreign = await createLocalIssuer({
    issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other',
  });
});

interface Harness {
  api: HttpApiServer;
  events: HttpApiEvent[];
  logs: string[];
}

const servers: HttpApiServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Starts an API whose functions echo the event, unless `reply` says otherwise. */
async function start(
  overrides: Partial<HttpApiOptions> = {},
  reply: (event: HttpApiEvent) => unknown = (event) => ({ statusCode: 200, body: JSON.stringify(event) }),
): Promise<Harness> {
  const events: HttpApiEvent[] = [];
  const logs: string[] = [];
  const api = await startHttpApi({
    port: 0,
    apiId: 'localapi',
    routes: [{ routeKey: '$default', target: 'DefaultFn' }],
    jwksFor: (iss) => (iss === ISSUER ? issuer.jwks : iss === foreign.issuer ? foreign.jwks : undefined),
    invoke: async (_target, event) => {
      events.push(event);
      return reply(event);
    },
    log: (line) => logs.push(line),
    ...overrides,
  });
  servers.push(api);
  return { api, events, logs };
}

const lastEvent = (harness: Harness): HttpApiEvent => {
  const event = harness.events.at(-1);
  if (!event) throw new Error('the function was not invoked');
  return event;
};

describe('routing', () => {
  const routes = [
    'GET /pets/dog/1',
    'GET /pets/dog/{id}',
    'GET /pets/{proxy+}',
    'ANY /{proxy+}',
    '$default',
  ].map((routeKey) => ({ routeKey, target: `fn:${routeKey}` }));

  it.each([
    ['GET', '/pets/dog/1', 'GET /pets/dog/1'],
    ['GET', '/pets/dog/2', 'GET /pets/dog/{id}'],
    ['GET', '/pets/cat/1', 'GET /pets/{proxy+}'],
    ['POST', '/test/5', 'ANY /{proxy+}'],
    ['GET', '/', '$default'],
  ])('sends %s %s to %s', async (method, path, routeKey) => {
    const harness = await start({ routes });

    const response = await fetch(`${harness.api.url}${path}`, { method });

    expect(response.status).toBe(200);
    expect(lastEvent(harness).routeKey).toBe(routeKey);
    expect(lastEvent(harness).requestContext.routeKey).toBe(routeKey);
  });

  it('invokes the target of the selected route', async () => {
    const targets: string[] = [];
    const harness = await start({
      routes,
      invoke: async (target) => {
        targets.push(target);
        return 'ok';
      },
    });

    await fetch(`${harness.api.url}/pets/dog/2`);

    expect(targets).toEqual(['fn:GET /pets/dog/{id}']);
  });

  it('answers an unmatched request with API Gateway 404 body', async () => {
    const harness = await start({ routes: [{ routeKey: 'GET /compounds', target: 'fn' }] });

    const response = await fetch(`${harness.api.url}/nowhere`);

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ message: 'Not Found' });
    expect(response.headers.get('apigw-requestid')).toBeTruthy();
    expect(harness.events).toHaveLength(0);
  });

  it('decodes path parameters, one segment at a time', async () => {
    const harness = await start({
      routes: [{ routeKey: 'GET /compounds/{compoundId}/units/{unitId}', target: 'fn' }],
    });

    await fetch(`${harness.api.url}/compounds/%E9%BE%99%E5%8D%8E%20%E5%B0%8F%E5%8C%BA/units/3%2F101`);

    const event = lastEvent(harness);
    expect(event.pathParameters).toEqual({ compoundId: '龙华 小区', unitId: '3/101' });
    expect(event.rawPath).toBe('/compounds/龙华 小区/units/3/101');
    expect(event.requestContext.http.path).toBe(event.rawPath);
  });

  it('serves a named stage under its own path', async () => {
    const harness = await start({ stage: 'dev', routes: [{ routeKey: 'GET /ping', target: 'fn' }] });

    const served = await fetch(`${harness.api.url}/ping`);
    const unstaged = await fetch(`${harness.api.url.replace(/\/dev$/, '')}/ping`);

    expect(harness.api.url).toMatch(/\/dev$/);
    expect(served.status).toBe(200);
    expect(lastEvent(harness).requestContext.stage).toBe('dev');
    expect(unstaged.status).toBe(404);
  });
});

describe('event (payload format 2.0)', () => {
  it('carries the request as API Gateway shapes it', async () => {
    const harness = await start({
      routes: [{ routeKey: 'POST /meetings/{meetingId}/ballots', target: 'fn' }],
    });

    // fetch folds repeated headers into one line; node:http sends each value on its own line.
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        `${harness.api.url}/meetings/m-1/ballots?choice=yes&choice=no&note=a%20b%2Bc&flag`,
        {
          method: 'POST',
        },
      );
      req.setHeader('Content-Type', 'application/json');
      req.setHeader('X-Custom', ['one', 'two']);
      req.setHeader('Cookie', 'session=abc; theme=dark');
      req.setHeader('User-Agent', 'vitest');
      req.on('response', (res) => res.resume().on('end', resolve));
      req.on('error', reject);
      req.end(JSON.stringify({ vote: 'yes' }));
    });

    const event = lastEvent(harness);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /meetings/{meetingId}/ballots',
      rawPath: '/meetings/m-1/ballots',
      rawQueryString: 'choice=yes&choice=no&note=a%20b%2Bc&flag',
      cookies: ['session=abc', 'theme=dark'],
      queryStringParameters: { choice: 'yes,no', note: 'a b+c', flag: '' },
      pathParameters: { meetingId: 'm-1' },
      body: '{"vote":"yes"}',
      isBase64Encoded: false,
    });
    expect(event.headers).toMatchObject({
      'content-type': 'application/json',
      'x-custom': 'one,two',
      'user-agent': 'vitest',
      'content-length': '14',
      'x-forwarded-proto': 'http',
      'x-forwarded-for': '127.0.0.1',
    });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.headers.connection).toBeUndefined();
    expect(event.stageVariables).toBeUndefined();
    expect(event.requestContext).toMatchObject({
      accountId: '000000000000',
      apiId: 'localapi',
      domainName: `127.0.0.1:${harness.api.port}`,
      http: { method: 'POST', path: '/meetings/m-1/ballots', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
      stage: '$default',
    });
    expect(event.requestContext.http.userAgent).toBe('vitest');
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(typeof event.requestContext.timeEpoch).toBe('number');
    expect(event.requestContext.requestId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect('authorizer' in event.requestContext).toBe(false);
  });

  it('leaves out what the request does not have', async () => {
    const harness = await start();

    await fetch(`${harness.api.url}/plain`);

    const event = lastEvent(harness);
    expect(event.rawQueryString).toBe('');
    for (const absent of ['cookies', 'queryStringParameters', 'pathParameters', 'body', 'stageVariables']) {
      expect(event).not.toHaveProperty(absent);
    }
    expect(event.isBase64Encoded).toBe(false);
  });

  it.each([
    ['application/octet-stream', true],
    ['image/png', true],
    ['application/x-www-form-urlencoded', true],
    ['multipart/form-data; boundary=x', true],
    ['text/plain; charset=utf-8', false],
    ['application/json; charset=utf-8', false],
    ['application/xml', false],
  ])('base64-encodes a %s body: %s', async (contentType, base64) => {
    const harness = await start();
    const bytes = Buffer.from([0x00, 0xff, 0x10, 0x41, 0x42]);
    const payload = base64 ? bytes : Buffer.from('{"a":"ü"}');

    await fetch(harness.api.url, { method: 'POST', headers: { 'content-type': contentType }, body: payload });

    const event = lastEvent(harness);
    expect(event.isBase64Encoded).toBe(base64);
    expect(event.body).toBe(base64 ? bytes.toString('base64') : '{"a":"ü"}');
  });
});

describe('JWT authorizer', () => {
  const protectedRoute = {
    routeKey: 'GET /compounds/{compoundId}',
    target: 'CompoundFn',
    authorizer: { issuer: ISSUER, audience: [CLIENT_ID] },
  };
  const scopedRoute = {
    routeKey: 'POST /violations',
    target: 'ViolationFn',
    authorizer: { issuer: ISSUER, audience: [CLIENT_ID], scopes: ['civic/write', 'civic/admin'] },
  };

  async function call(harness: Harness, token: string | undefined, path = '/compounds/c-1', method = 'GET') {
    return fetch(`${harness.api.url}${path}`, {
      method,
      headers: token === undefined ? {} : { authorization: token },
    });
  }

  it('passes the claims to the function as API Gateway flattens them', async () => {
    const harness = await start({ routes: [protectedRoute] });
    const token = await issuer.mint({
      sub: 'u-1',
      username: 'owner-1',
      groups: ['owner', 'committee'],
      scopes: ['civic/read', 'civic/write'],
      claims: { 'custom:subDistrictId': 'sd-9', 'custom:compoundIds': 'c-1,c-2' },
    });
    const minted = decodeJwt(token);

    const response = await call(harness, `Bearer ${token}`);

    expect(response.status).toBe(200);
    const event = lastEvent(harness) as APIGatewayProxyEventV2WithJWTAuthorizer;
    expect(event.requestContext.authorizer).toEqual({
      jwt: {
        claims: {
          sub: 'u-1',
          'cognito:groups': '[owner committee]',
          iss: ISSUER,
          version: '2',
          client_id: CLIENT_ID,
          origin_jti: minted.origin_jti,
          event_id: minted.event_id,
          token_use: 'access',
          scope: 'civic/read civic/write',
          auth_time: String(minted.iat),
          exp: String(minted.exp),
          iat: String(minted.iat),
          jti: minted.jti,
          username: 'owner-1',
          'custom:subDistrictId': 'sd-9',
          'custom:compoundIds': 'c-1,c-2',
        },
        scopes: null,
      },
    });
  });

  it('accepts the token without the Bearer prefix', async () => {
    const harness = await start({ routes: [protectedRoute] });

    const response = await call(harness, await issuer.mint({ username: 'owner-1' }));

    expect(response.status).toBe(200);
  });

  it('accepts an id token whose aud is an allowed audience', async () => {
    const harness = await start({ routes: [protectedRoute] });

    const response = await call(harness, `Bearer ${await issuer.mint({ username: 'u', tokenUse: 'id' })}`);

    expect(response.status).toBe(200);
    const event = lastEvent(harness) as APIGatewayProxyEventV2WithJWTAuthorizer;
    expect(event.requestContext.authorizer.jwt.claims.aud).toBe(CLIENT_ID);
  });

  it("lists the token's scopes when the route requires scopes", async () => {
    const harness = await start({ routes: [scopedRoute] });
    const token = await issuer.mint({ username: 'guard-1', scopes: ['civic/read', 'civic/write'] });

    const response = await call(harness, `Bearer ${token}`, '/violations', 'POST');

    expect(response.status).toBe(200);
    const event = lastEvent(harness) as APIGatewayProxyEventV2WithJWTAuthorizer;
    expect(event.requestContext.authorizer.jwt.scopes).toEqual(['civic/read', 'civic/write']);
  });

  it('forbids a valid token that has none of the route scopes', async () => {
    const harness = await start({ routes: [scopedRoute] });
    const token = await issuer.mint({ username: 'owner-1', scopes: ['civic/read'] });

    const response = await call(harness, `Bearer ${token}`, '/violations', 'POST');

    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
    expect(response.headers.get('www-authenticate')).toMatch(
      /^Bearer scope="civic\/write civic\/admin" error="insufficient_scope" error_description=".+"$/,
    );
    expect(harness.events).toHaveLength(0);
  });

  const tamper = (token: string): string => {
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    claims['cognito:groups'] = ['district-admin'];
    return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
  };

  it.each<[string, () => Promise<string | undefined>, RegExp, ((jwks: JSONWebKeySet) => JSONWebKeySet)?]>([
    ['no Authorization header', async () => undefined, /missing/],
    ['an empty Bearer token', async () => 'Bearer ', /missing/],
    ['a token that is not a JWT', async () => 'Bearer not.a.jwt', /malformed/],
    [
      'a tampered payload (bad signature)',
      async () => `Bearer ${tamper(await issuer.mint({ username: 'u' }))}`,
      /signature/,
    ],
    [
      'a token from another issuer with another key',
      async () => `Bearer ${await foreign.mint({ username: 'u', clientId: CLIENT_ID })}`,
      /issuer/,
    ],
    [
      'an expired token',
      async () => `Bearer ${await issuer.mint({ username: 'u', expiresInSeconds: -60 })}`,
      /expired/,
    ],
    [
      'a token that is not valid yet',
      async () => `Bearer ${await issuer.mint({ username: 'u', notBeforeInSeconds: 600 })}`,
      /not valid yet/,
    ],
    [
      'an access token for another app client',
      async () => `Bearer ${await issuer.mint({ username: 'u', clientId: 'someone-else' })}`,
      /the token does not have a valid audience/,
    ],
    [
      'an id token for another app client',
      async () => `Bearer ${await issuer.mint({ username: 'u', clientId: 'someone-else', tokenUse: 'id' })}`,
      /the token does not have a valid audience/,
    ],
  ])('rejects %s with 401 and never invokes the function', async (_case, token, description) => {
    const harness = await start({ routes: [protectedRoute] });

    const response = await call(harness, await token());

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer scope="" error="invalid_token" error_description="[^"]+"$/);
    expect(challenge).toMatch(description);
    expect(harness.events).toHaveLength(0);
  });

  it('rejects a token signed by a key the issuer does not publish', async () => {
    const impostor = await createLocalIssuer({ issuer: ISSUER, defaultClientId: CLIENT_ID });
    const harness = await start({ routes: [protectedRoute] });

    const response = await call(harness, `Bearer ${await impostor.mint({ username: 'u' })}`);

    expect(response.status).toBe(401);
    expect(harness.events).toHaveLength(0);
  });

  it('rejects every token when the issuer has no JWKS', async () => {
    const harness = await start({ routes: [protectedRoute], jwksFor: () => undefined });

    const response = await call(harness, `Bearer ${await issuer.mint({ username: 'u' })}`);

    expect(response.status).toBe(401);
    expect(harness.events).toHaveLength(0);
  });

  it('leaves routes without an authorizer open', async () => {
    const harness = await start({
      routes: [protectedRoute, { routeKey: 'GET /health', target: 'HealthFn' }],
    });

    const response = await call(harness, undefined, '/health');

    expect(response.status).toBe(200);
  });
});

describe('response mapping (payload format 2.0)', () => {
  it('maps a structured result to status, headers, cookies and body', async () => {
    const harness = await start({}, () => ({
      statusCode: 201,
      headers: { 'Content-Type': 'application/problem+json', 'x-count': 3, 'x-flag': true },
      cookies: ['a=1; Path=/', 'b=2; HttpOnly'],
      body: '{"type":"about:blank"}',
    }));

    const response = await fetch(harness.api.url);

    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('x-count')).toBe('3');
    expect(response.headers.get('x-flag')).toBe('true');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(await response.text()).toBe('{"type":"about:blank"}');
  });

  it('sends no body with a 204', async () => {
    const harness = await start({}, () => ({ statusCode: 204 }));

    const response = await fetch(harness.api.url, { method: 'DELETE' });

    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it('decodes a base64 body', async () => {
    const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);
    const harness = await start({}, () => ({
      statusCode: 200,
      headers: { 'content-type': 'image/png' },
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    }));

    const response = await fetch(harness.api.url);

    expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes);
  });

  it.each([
    ['an object without statusCode', { message: 'Hello from Lambda!' }, '{"message":"Hello from Lambda!"}'],
    ['a string', 'Hello from Lambda!', 'Hello from Lambda!'],
    ['an array', [1, 2], '[1,2]'],
  ])('infers a 200 JSON response from %s', async (_case, result, body) => {
    const harness = await start({}, () => result);

    const response = await fetch(harness.api.url);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe(body);
  });

  it('answers 500 when the function throws, and logs why', async () => {
    const harness = await start({}, () => {
      throw new Error('boom');
    });

    const response = await fetch(harness.api.url);

    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
    expect(harness.logs.some((line) => line.includes('DefaultFn') && line.includes('boom'))).toBe(true);
  });

  it.each([
    ['a statusCode that is no HTTP status', { statusCode: 42 }],
    ['a body that is not a string', { statusCode: 200, body: { a: 1 } }],
    ['headers with an object value', { statusCode: 200, headers: { 'x-a': { b: 1 } } }],
  ])('answers 500 for %s', async (_case, result) => {
    const harness = await start({}, () => result);

    const response = await fetch(harness.api.url);

    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
    expect(harness.logs.some((line) => line.includes('malformed Lambda proxy response'))).toBe(true);
  });
});

describe('payload limit', () => {
  it('rejects a body over the limit with 413 before invoking', async () => {
    const harness = await start({ maxBodyBytes: 1024 });

    const response = await fetch(harness.api.url, { method: 'POST', body: Buffer.alloc(2048) });

    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ message: 'Request Entity Too Large' });
    expect(harness.events).toHaveLength(0);
  });

  it("defaults to API Gateway's 10 MB limit", async () => {
    const harness = await start();

    const response = await fetch(harness.api.url, { method: 'POST', body: Buffer.alloc(MAX_BODY_BYTES + 1) });

    expect(MAX_BODY_BYTES).toBe(10 * 1024 * 1024);
    expect(response.status).toBe(413);
    expect(harness.events).toHaveLength(0);
  });

  it('rejects a chunked body that grows over the limit', async () => {
    const harness = await start({ maxBodyBytes: 1024 });

    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${harness.api.url}/`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let index = 0; index < 4; index++) req.write(Buffer.alloc(512));
      req.end();
    });

    expect(status).toBe(413);
    expect(harness.events).toHaveLength(0);
  });

  it('accepts a body at the limit', async () => {
    const harness = await start({ maxBodyBytes: 1024 });

    const response = await fetch(harness.api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(1024),
    });

    expect(response.status).toBe(200);
  });
});

describe('CORS', () => {
  const cors = {
    allowOrigins: ['http://localhost:5173'],
    allowMethods: ['GET', 'POST'],
    allowHeaders: ['authorization', 'content-type'],
    exposeHeaders: ['x-request-id'],
    maxAge: 600,
  };

  it('answers preflight itself, even on a protected route', async () => {
    const harness = await start({
      cors,
      routes: [{ routeKey: 'POST /x', target: 'fn', authorizer: { issuer: ISSUER, audience: [CLIENT_ID] } }],
    });

    const response = await fetch(`${harness.api.url}/x`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,POST');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(harness.events).toHaveLength(0);
  });

  it("replaces the function's CORS headers with the API's", async () => {
    const harness = await start({ cors }, () => ({
      statusCode: 200,
      headers: { 'access-control-allow-origin': '*' },
      body: 'ok',
    }));

    const allowed = await fetch(harness.api.url, { headers: { origin: 'http://localhost:5173' } });
    const foreignOrigin = await fetch(harness.api.url, { headers: { origin: 'https://evil.example' } });

    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('access-control-expose-headers')).toBe('x-request-id');
    expect(foreignOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('configuration', () => {
  it.each([
    [[{ routeKey: 'GET /a/{proxy+}/b', target: 'fn' }]],
    [[{ routeKey: 'get /a', target: 'fn' }]],
    [
      [
        { routeKey: 'GET /a', target: 'fn' },
        { routeKey: 'GET /a', target: 'other' },
      ],
    ],
  ])('refuses routes a deployment could not have: %j', async (routes) => {
    await expect(start({ routes })).rejects.toThrow(/route key/);
  });
});

afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
