import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type * as z from 'zod';
import { type Caller, callerFromClaims, type Role } from './auth.js';
import { cursorScope, openCursor, type StartKey, sealCursor } from './cursor.js';
import {
  BadRequestError,
  type FieldError,
  ForbiddenError,
  PayloadTooLargeError,
  ProblemError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
} from './errors.js';
import { logger } from './observability.js';
import type { RouteDefinition } from './routes.js';

type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
type Schema = z.ZodType;

export interface RouteSpec<
  B extends Schema | undefined,
  P extends Schema | undefined,
  Q extends Schema | undefined,
> {
  /** Roles allowed to call the route; any other authenticated caller gets 403. Empty = public. */
  roles: readonly Role[];
  body?: B;
  params?: P;
  query?: Q;
  /** Larger bodies are refused with 413 before parsing. */
  maxBodyBytes?: number;
  /** The body is text of one of these media types (e.g. text/csv) instead of JSON; handlers get `text`. */
  textBody?: { contentTypes: readonly string[] };
}

type Parsed<S> = S extends Schema ? z.output<S> : undefined;

/**
 * Paging of a list route: the page size, the key to start after (from the caller's cursor, verified),
 * and how to turn the last key a Query evaluated into the next cursor (bound to this route and caller).
 */
export interface Pager {
  limit: number;
  startKey?: StartKey;
  next(lastKey: Readonly<Record<string, unknown>> | undefined): string | undefined;
}

export interface RouteInput<B, P, Q> {
  body: B;
  params: P;
  query: Q;
  page: Pager;
  /** Undefined only on public routes. */
  caller: Caller;
  headers: Record<string, string | undefined>;
  /** The decoded body of a `textBody` route. */
  text?: string;
  event: HttpEvent;
}

export type HttpResult = APIGatewayProxyStructuredResultV2;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json(?:\s*;.*)?$/i;

/** A JSON response; the one shape every route returns. */
export const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** Converts zod issues to RFC 6901 pointers rooted at the request part (`/body/area`, `/query/limit`). */
export const fieldErrors = (part: string, error: z.ZodError): FieldError[] =>
  error.issues.map((issue) => ({
    pointer: `/${[part, ...issue.path.map((segment) => String(segment).replace(/~/g, '~0').replace(/\//g, '~1'))].join('/')}`,
    detail: issue.message,
  }));

const problemResponse = (error: ProblemError, instance: string): HttpResult => ({
  statusCode: error.status,
  headers: { 'content-type': 'application/problem+json' },
  body: JSON.stringify({
    type: 'about:blank',
    title: error.title,
    status: error.status,
    detail: error.message,
    instance,
    ...error.extensions,
  }),
});

/**
 * Maps named errors to problem+json (RFC 9457). Details of unexpected errors are logged, never
 * returned, as middy's http-error-handler does for statuses of 500 and above.
 */
const problemDetails = (): MiddlewareObj<HttpEvent, HttpResult> => ({
  onError: async (request) => {
    const instance = request.event?.rawPath ?? '/';
    if (request.error instanceof ProblemError) {
      request.response = problemResponse(request.error, instance);
      return;
    }
    logger.error('Unhandled error', { error: request.error as Error });
    request.response = problemResponse(
      new ProblemError(500, 'Internal Server Error', 'The request could not be completed.'),
      instance,
    );
  },
});

const decodeBody = (event: HttpEvent): string | undefined => {
  if (event.body === undefined || event.body === '') return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
};

/** Parses, validates and authorizes before the handler runs, so handlers receive typed data only. */
const parseRequest = <
  B extends Schema | undefined,
  P extends Schema | undefined,
  Q extends Schema | undefined,
>(
  spec: RouteSpec<B, P, Q>,
  internal: WeakMap<object, RouteInput<unknown, unknown, unknown>>,
): MiddlewareObj<HttpEvent, HttpResult> => ({
  before: async (request) => {
    const { event } = request;
    const claims = (event.requestContext?.authorizer?.jwt?.claims ?? {}) as Record<string, unknown>;
    const caller = callerFromClaims(claims);
    if (spec.roles.length > 0) {
      if (caller === undefined) throw new UnauthorizedError();
      if (!caller.roles.some((role) => spec.roles.includes(role))) throw new ForbiddenError();
    }

    const parsePart = <S extends Schema | undefined>(part: string, schema: S, value: unknown) => {
      if (schema === undefined) return undefined;
      const result = schema.safeParse(value);
      if (!result.success) {
        throw new BadRequestError(`The request ${part} is invalid.`, fieldErrors(part, result.error));
      }
      return result.data;
    };

    let rawBody: unknown;
    let text: string | undefined;
    if (spec.textBody !== undefined) {
      text = decodeBody(event);
      const contentType = (event.headers?.['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (!spec.textBody.contentTypes.includes(contentType)) {
        throw new UnsupportedMediaTypeError(`Send the body as ${spec.textBody.contentTypes.join(' or ')}.`);
      }
      if (
        spec.maxBodyBytes !== undefined &&
        text !== undefined &&
        Buffer.byteLength(text) > spec.maxBodyBytes
      ) {
        throw new PayloadTooLargeError(`The request body is larger than ${spec.maxBodyBytes} bytes.`);
      }
      if (text === undefined || text.trim() === '') {
        throw new BadRequestError('The request body is empty.', [{ pointer: '/body', detail: 'Required' }]);
      }
    }
    if (spec.body !== undefined) {
      const text = decodeBody(event);
      const contentType = event.headers?.['content-type'];
      if (
        spec.maxBodyBytes !== undefined &&
        text !== undefined &&
        Buffer.byteLength(text) > spec.maxBodyBytes
      ) {
        throw new PayloadTooLargeError(`The request body is larger than ${spec.maxBodyBytes} bytes.`);
      }
      if (text === undefined)
        throw new BadRequestError('A JSON request body is required.', [
          { pointer: '/body', detail: 'Required' },
        ]);
      if (contentType === undefined || !JSON_TYPE.test(contentType)) {
        throw new UnsupportedMediaTypeError('Send the body as application/json.');
      }
      try {
        rawBody = JSON.parse(text);
      } catch (error) {
        throw new BadRequestError(`The request body is not valid JSON: ${(error as Error).message}`, [
          { pointer: '/body', detail: 'Malformed JSON' },
        ]);
      }
    }

    const params = parsePart('params', spec.params, event.pathParameters ?? {});
    const query = parsePart('query', spec.query, event.queryStringParameters ?? {});
    const { cursor, limit, ...filters } = (query ?? {}) as Record<string, unknown>;
    const scope = cursorScope(event.routeKey, (params ?? {}) as Record<string, unknown>, filters, caller);
    internal.set(event, {
      text,
      body: parsePart('body', spec.body, rawBody),
      params,
      query,
      page: {
        limit: typeof limit === 'number' ? limit : 50,
        startKey: typeof cursor === 'string' ? openCursor(scope, cursor) : undefined,
        next: (lastKey) => sealCursor(scope, lastKey),
      },
      caller: caller as Caller,
      headers: event.headers ?? {},
      event,
    });
  },
});

/**
 * Builds a thin HTTP API route handler: header normalisation, role check, JSON parsing and zod
 * validation of body, path and query, problem+json errors and the Powertools logger context.
 */
export const httpRoute = <
  B extends Schema | undefined = undefined,
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
>(
  spec: RouteSpec<B, P, Q>,
  handler: (input: RouteInput<Parsed<B>, Parsed<P>, Parsed<Q>>) => Promise<HttpResult>,
) => {
  const inputs = new WeakMap<object, RouteInput<unknown, unknown, unknown>>();
  return middy<HttpEvent, HttpResult, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(problemDetails())
    .use(httpHeaderNormalizer())
    .use(parseRequest(spec, inputs))
    .handler(async (event) => {
      const input = inputs.get(event) as RouteInput<Parsed<B>, Parsed<P>, Parsed<Q>>;
      return handler(input);
    });
};

type RouteHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/**
 * The handler of a function that serves several routes (infra/ gives one function to each group of a
 * catalogue's routes): API Gateway's event names the route it matched, and the event goes to that
 * route's handler, which does its own parsing, authorization and error mapping. A module serves the
 * routes of the catalogue whose `entry` it is; `handlers` are its exports, and a route without its
 * handler there fails the cold start.
 */
export const routeDispatcher = (
  catalogue: Readonly<Record<string, RouteDefinition>>,
  entry: string,
  handlers: Readonly<Record<string, unknown>>,
): RouteHandler => {
  const byRouteKey = new Map<string, RouteHandler>();
  for (const route of Object.values(catalogue).filter((candidate) => candidate.entry === entry)) {
    const handler = handlers[route.handler];
    if (typeof handler !== 'function')
      throw new Error(`${route.routeKey}: the module exports no handler ${route.handler}`);
    byRouteKey.set(route.routeKey, handler as RouteHandler);
  }
  if (byRouteKey.size === 0) throw new Error(`No route of the catalogue is served by ${entry}`);
  return async (event, context) => {
    const handler = byRouteKey.get(event.routeKey);
    if (handler !== undefined) return handler(event, context);
    logger.error('No handler for the route', { routeKey: event.routeKey });
    return problemResponse(
      new ProblemError(404, 'Not Found', `No route for ${event.routeKey}.`),
      event.rawPath ?? '/',
    );
  };
};
