import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import type { JSONWebKeySet } from 'jose';
import { listen } from '../listen.js';
import { authorizeJwt, type JwtAuthorizerConfig, type JwtAuthorizerContext } from './jwt-authorizer.js';
import { type CompiledRoute, compileRoute, InvalidRouteKeyError, selectRoute } from './routes.js';

/** API Gateway's payload limit for HTTP APIs. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface HttpApiRoute {
  /** `'GET /compounds/{compoundId}'`, `'ANY /{proxy+}'` or `'$default'`. */
  routeKey: string;
  /** Function logical id or name, handed back to `invoke`. */
  target: string;
  authorizer?: JwtAuthorizerConfig;
}

/** The subset of an HTTP API's `CorsConfiguration` the emulator honours. */
export interface HttpApiCors {
  allowOrigins: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: number;
  allowCredentials?: boolean;
}

/** The event an integration receives: with `requestContext.authorizer.jwt` on JWT routes, without it elsewhere. */
export type HttpApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer | APIGatewayProxyEventV2;

export interface HttpApiOptions {
  /** 0 picks a free port. The server binds 127.0.0.1 only. */
  port: number;
  apiId: string;
  /** `$default` serves at the root; any other stage name serves under `/<stage>`. */
  stage?: string;
  /** Reported as `requestContext.accountId`. */
  accountId?: string;
  routes: HttpApiRoute[];
  /** Resolves a JWKS for an issuer; the local cloud passes the local issuer's. A token whose iss has no JWKS → 401. */
  jwksFor(issuer: string): JSONWebKeySet | undefined;
  /** Runs the route's function. Declared as a method so an invoker typed for the JWT event alone also fits. */
  invoke(target: string, event: HttpApiEvent): Promise<unknown>;
  cors?: HttpApiCors;
  /** Defaults to API Gateway's 10 MB; larger bodies get 413. */
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface HttpApiServer {
  /** Invoke URL, including the stage path unless the stage is `$default`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A Lambda result API Gateway cannot turn into a response; the client gets 500 as from AWS. */
export class MalformedLambdaResponseError extends Error {
  constructor(reason: string) {
    super(`malformed Lambda proxy response: ${reason}`);
    this.name = 'MalformedLambdaResponseError';
  }
}

/** Options that could not describe a deployed HTTP API. */
export class HttpApiConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpApiConfigError';
  }
}

class PayloadTooLargeError extends Error {
  constructor() {
    super('request body exceeds the payload limit');
    this.name = 'PayloadTooLargeError';
  }
}

interface GatewayResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Content types API Gateway passes as text; everything else (even form posts, or no type) arrives base64. */
const TEXT_MEDIA_TYPES = new Set(['application/json', 'application/xml', 'application/javascript']);
const HOP_BY_HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
]);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Serves an API Gateway HTTP API (payload format 2.0) on loopback: routes picked as API Gateway picks them,
 * JWT authorizers enforced before the function runs, the event shaped as Lambda receives it, and the
 * function's result mapped back as API Gateway maps it. Errors the gateway itself produces keep AWS's
 * `{"message": …}` bodies so clients see the same thing locally as in the cloud.
 */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApiServer> {
  const stage = options.stage ?? '$default';
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const log = options.log ?? (() => {});
  const routes = compileRoutes(options.routes);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`http-api: unexpected failure: ${describe(error)}`);
      if (!res.headersSent) send(res, json(500, { message: 'Internal Server Error' }));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = new Date();
    const requestId = randomBytes(11).toString('base64');
    const method = (req.method ?? 'GET').toUpperCase();
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const encodedPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const rawQueryString = queryAt === -1 ? '' : target.slice(queryAt + 1);
    let routeKey = '-';

    const respond = (response: GatewayResponse): void => {
      response.headers.push(['apigw-requestid', requestId]);
      if (options.cors) applyCors(options.cors, req, response);
      send(res, response);
      log(`http-api: ${method} ${encodedPath} ${response.status} ${routeKey} ${requestId}`);
    };

    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (error instanceof PayloadTooLargeError) {
        res.shouldKeepAlive = false;
        return respond(json(413, { message: 'Request Entity Too Large' }));
      }
      throw error;
    }

    if (options.cors && isPreflight(method, req)) return respond(preflight(options.cors, req));

    const encodedSegments = encodedPath === '/' ? [] : encodedPath.replace(/^\//, '').split('/');
    if (stage !== '$default' && encodedSegments.shift() !== stage) {
      return respond(json(404, { message: 'Not Found' }));
    }
    const match = selectRoute(routes, method, encodedSegments.map(decodePathPart));
    if (!match) return respond(json(404, { message: 'Not Found' }));
    const { route, pathParameters } = match;
    routeKey = route.routeKey;

    const headers = collectHeaders(req, body, options);
    let authorizer: JwtAuthorizerContext | undefined;
    if (route.value.authorizer) {
      const result = await authorizeJwt(route.value.authorizer, headers.authorization, options.jwksFor);
      if (!result.authorized) {
        const message = result.status === 401 ? 'Unauthorized' : 'Forbidden';
        const response = json(result.status, { message });
        response.headers.push(['www-authenticate', result.wwwAuthenticate]);
        return respond(response);
      }
      authorizer = result.context;
    }

    const event = buildEvent({
      req,
      options,
      stage,
      requestId,
      started,
      routeKey,
      rawPath: decodePathPart(encodedPath),
      rawQueryString,
      headers,
      pathParameters,
      body,
      authorizer,
    });

    let result: unknown;
    try {
      result = await options.invoke(route.value.target, event);
    } catch (error) {
      log(`http-api: ${route.value.target} failed for ${routeKey}: ${describe(error)}`);
      return respond(json(500, { message: 'Internal Server Error' }));
    }
    try {
      const response = toGatewayResponse(result);
      if (options.cors)
        response.headers = response.headers.filter(([name]) => !name.startsWith('access-control-'));
      respond(response);
    } catch (error) {
      if (!(error instanceof MalformedLambdaResponseError)) throw error;
      log(`http-api: ${route.value.target} for ${routeKey}: ${error.message}`);
      respond(json(500, { message: 'Internal Server Error' }));
    }
  }

  const listening = await listen(server, options.port);
  return {
    url: `${listening.endpoint}${stage === '$default' ? '' : `/${stage}`}`,
    port: listening.port,
    close: listening.close,
  };
}

function compileRoutes(routes: readonly HttpApiRoute[]): CompiledRoute<HttpApiRoute>[] {
  const seen = new Set<string>();
  return routes.map((route) => {
    if (seen.has(route.routeKey))
      throw new HttpApiConfigError(`route key ${route.routeKey} is defined twice`);
    seen.add(route.routeKey);
    try {
      return compileRoute(route.routeKey, route);
    } catch (error) {
      if (error instanceof InvalidRouteKeyError)
        throw new HttpApiConfigError(error.message, { cause: error });
      throw error;
    }
  });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new PayloadTooLargeError());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new PayloadTooLargeError()) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/**
 * Headers as payload 2.0 carries them: names lower-cased, repeated headers joined with commas, `cookie`
 * moved to `cookies`, hop-by-hop headers dropped, and the `x-forwarded-*` and trace headers API Gateway adds.
 */
function collectHeaders(req: IncomingMessage, body: Buffer, options: HttpApiOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = (raw[index] ?? '').toLowerCase();
    const value = raw[index + 1] ?? '';
    if (name === 'cookie' || name === 'transfer-encoding' || HOP_BY_HOP_HEADERS.has(name)) continue;
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  if (body.length > 0) headers['content-length'] = String(body.length);
  const sourceIp = sourceIpOf(req);
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${sourceIp}`
    : sourceIp;
  headers['x-forwarded-port'] = String(req.socket.localPort ?? options.port);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] ??=
    `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  return headers;
}

interface EventInput {
  req: IncomingMessage;
  options: HttpApiOptions;
  stage: string;
  requestId: string;
  started: Date;
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  headers: Record<string, string>;
  pathParameters: Record<string, string> | undefined;
  body: Buffer;
  authorizer: JwtAuthorizerContext | undefined;
}

/** Field order follows AWS's payload 2.0 example, so a logged event reads like one from CloudWatch. */
function buildEvent(input: EventInput): HttpApiEvent {
  const { req, headers, body } = input;
  const cookies = cookiesOf(req);
  const queryStringParameters = parseQuery(input.rawQueryString);
  const domainName = headers.host ?? `${input.options.apiId}.execute-api.localhost`;
  const textual = isTextual(headers['content-type']);
  const requestContext = {
    accountId: input.options.accountId ?? '000000000000',
    apiId: input.options.apiId,
    ...(input.authorizer ? { authorizer: input.authorizer } : {}),
    domainName,
    domainPrefix: domainName.split(/[.:]/)[0] ?? domainName,
    http: {
      method: (req.method ?? 'GET').toUpperCase(),
      path: input.rawPath,
      protocol: `HTTP/${req.httpVersion}`,
      sourceIp: sourceIpOf(req),
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: input.requestId,
    routeKey: input.routeKey,
    stage: input.stage,
    time: formatRequestTime(input.started),
    timeEpoch: input.started.getTime(),
  };
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext,
    ...(body.length > 0 ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
    ...(input.pathParameters ? { pathParameters: input.pathParameters } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  } as HttpApiEvent;
}

function cookiesOf(req: IncomingMessage): string[] {
  const cookies: string[] = [];
  const raw = req.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    if ((raw[index] ?? '').toLowerCase() !== 'cookie') continue;
    for (const cookie of (raw[index + 1] ?? '').split(';')) {
      const trimmed = cookie.trim();
      if (trimmed) cookies.push(trimmed);
    }
  }
  return cookies;
}

/** Decoded values, repeated names joined with commas; `rawQueryString` keeps the encoded original. */
function parseQuery(rawQueryString: string): Record<string, string> | undefined {
  if (!rawQueryString) return undefined;
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
  }
  return Object.keys(parameters).length > 0 ? parameters : undefined;
}

function isTextual(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (!mediaType) return false;
  return mediaType.startsWith('text/') || TEXT_MEDIA_TYPES.has(mediaType);
}

/**
 * Maps a function result as payload format 2.0 does: an object with `statusCode` is a response; any other
 * valid JSON value becomes a 200 `application/json` response whose body is the value (a string as is).
 */
function toGatewayResponse(result: unknown): GatewayResponse {
  if (!isStructuredResult(result)) {
    const body = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
    return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(body, 'utf8') };
  }
  const status = Number(result.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new MalformedLambdaResponseError(
      `statusCode ${JSON.stringify(result.statusCode)} is not an HTTP status`,
    );
  }
  const headers: Array<[string, string]> = [];
  if (result.headers !== undefined && result.headers !== null) {
    if (typeof result.headers !== 'object' || Array.isArray(result.headers)) {
      throw new MalformedLambdaResponseError('headers is not an object');
    }
    for (const [name, value] of Object.entries(result.headers)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw new MalformedLambdaResponseError(`header ${name} is not a string, number or boolean`);
      }
      headers.push([name.toLowerCase(), String(value)]);
    }
  }
  if (result.cookies !== undefined && result.cookies !== null) {
    if (!Array.isArray(result.cookies) || !result.cookies.every((cookie) => typeof cookie === 'string')) {
      throw new MalformedLambdaResponseError('cookies is not an array of strings');
    }
    for (const cookie of result.cookies) headers.push(['set-cookie', cookie]);
  }
  if (result.body !== undefined && result.body !== null && typeof result.body !== 'string') {
    throw new MalformedLambdaResponseError('body is not a string');
  }
  const text = result.body ?? '';
  const body = result.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { status, headers, body };
}

interface StructuredResult {
  statusCode: unknown;
  headers?: unknown;
  cookies?: unknown;
  body?: unknown;
  isBase64Encoded?: unknown;
}

function isStructuredResult(result: unknown): result is StructuredResult {
  return (
    typeof result === 'object' &&
    result !== null &&
    !Array.isArray(result) &&
    (result as { statusCode?: unknown }).statusCode !== undefined
  );
}

function json(status: number, payload: unknown): GatewayResponse {
  return {
    status,
    headers: [['content-type', 'application/json']],
    body: Buffer.from(JSON.stringify(payload), 'utf8'),
  };
}

function send(res: ServerResponse, response: GatewayResponse): void {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of response.headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  for (const [name, values] of grouped) {
    res.setHeader(name, name === 'set-cookie' ? values : values.join(','));
  }
  res.statusCode = response.status;
  if (response.status === 204 || response.status === 304) {
    res.end();
    return;
  }
  res.setHeader('content-length', response.body.length);
  res.end(response.body);
}

function isPreflight(method: string, req: IncomingMessage): boolean {
  return method === 'OPTIONS' && !!req.headers.origin && !!req.headers['access-control-request-method'];
}

/** API Gateway answers preflights itself when CORS is configured, whether or not an OPTIONS route exists. */
function preflight(cors: HttpApiCors, req: IncomingMessage): GatewayResponse {
  const response: GatewayResponse = { status: 204, headers: [], body: Buffer.alloc(0) };
  if (!allowedOrigin(cors, req.headers.origin)) return response;
  const requestedHeaders = req.headers['access-control-request-headers'];
  const allowHeaders = cors.allowHeaders?.includes('*') ? requestedHeaders : cors.allowHeaders?.join(',');
  if (cors.allowMethods?.length)
    response.headers.push(['access-control-allow-methods', cors.allowMethods.join(',')]);
  if (allowHeaders) response.headers.push(['access-control-allow-headers', allowHeaders]);
  if (cors.maxAge !== undefined) response.headers.push(['access-control-max-age', String(cors.maxAge)]);
  return response;
}

/** Adds the API's CORS headers; the caller has already dropped any the function set, as API Gateway does. */
function applyCors(cors: HttpApiCors, req: IncomingMessage, response: GatewayResponse): void {
  const origin = allowedOrigin(cors, req.headers.origin);
  if (!origin) return;
  response.headers.push(['access-control-allow-origin', origin]);
  if (cors.allowCredentials) response.headers.push(['access-control-allow-credentials', 'true']);
  if (cors.exposeHeaders?.length && !isPreflight((req.method ?? '').toUpperCase(), req)) {
    response.headers.push(['access-control-expose-headers', cors.exposeHeaders.join(',')]);
  }
}

function allowedOrigin(cors: HttpApiCors, origin: string | undefined): string | undefined {
  if (!origin) return undefined;
  if (cors.allowOrigins.includes(origin)) return origin;
  if (cors.allowOrigins.includes('*')) return cors.allowCredentials ? origin : '*';
  return undefined;
}

function decodePathPart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function sourceIpOf(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
}

/** `$context.requestTime`'s CLF format: `12/Mar/2020:19:03:58 +0000`. */
function formatRequestTime(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
