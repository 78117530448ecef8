/**
 * The route catalogue: every HTTP route declared once, with its roles and zod schemas. The CDK
 * constructs create one function and one API route per entry, the handler takes its validation from
 * it, the OpenAPI document is generated from it, and the tenancy tests enumerate it. Imports only
 * schemas, so infra/ and tests can read it without loading any handler.
 */
import type * as z from 'zod';
import type { Role } from './auth.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Schema = z.ZodType;

export interface RouteDefinition<
  B extends Schema | undefined = Schema | undefined,
  P extends Schema | undefined = Schema | undefined,
  Q extends Schema | undefined = Schema | undefined,
> {
  routeKey: `${Method} /${string}`;
  /** Handler module relative to functions/, and its exported handler. */
  entry: string;
  handler: string;
  summary: string;
  /** Roles allowed to call the route (others get 403); tenancy is checked by the handler. */
  roles: readonly Role[];
  body?: B;
  params?: P;
  query?: Q;
  /** Schema of a successful response body, for the OpenAPI document. */
  response?: Schema;
  /** Status of a successful response. */
  successStatus?: number;
  tableAccess: 'read' | 'write' | 'read-write' | 'none';
  /**
   * Routes of one catalogue with the same group share one function (the API construct checks that they
   * also share its settings); by default a catalogue's routes are grouped by their table access.
   */
  group?: string;
  /** Extra environment or permissions a route needs, named for its construct (e.g. 'iot-provisioning'). */
  needs?: readonly ('iot-provisioning' | 'iot-publish')[];
  /** Route-specific function settings. */
  timeoutSeconds?: number;
  memorySize?: number;
  /** Requests with a body larger than this are refused with 413 (the API's own limit is 10 MB). */
  maxBodyBytes?: number;
  /** A text body of these media types instead of JSON (see shared/http.ts). */
  textBody?: { contentTypes: readonly string[] };
}

/** Declares a route and keeps its schema types for the handler. */
export const defineRoute = <
  B extends Schema | undefined = undefined,
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
>(
  route: RouteDefinition<B, P, Q>,
): RouteDefinition<B, P, Q> => route;
