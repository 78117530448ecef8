/**
 * Route keys and route selection as API Gateway HTTP APIs define them
 * (developer guide, "Routing API requests"): a full match beats a greedy `{proxy+}` match, which beats
 * `$default`; `ANY` only takes the methods a path has not defined.
 */

export const DEFAULT_ROUTE_KEY = '$default';

const METHODS = new Set(['ANY', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

type Segment =
  | { kind: 'static'; value: string }
  | { kind: 'variable'; name: string }
  | { kind: 'greedy'; name: string };

export interface CompiledRoute<T> {
  routeKey: string;
  /** `undefined` for `$default`. */
  method: string | undefined;
  segments: Segment[];
  value: T;
}

export interface RouteMatch<T> {
  route: CompiledRoute<T>;
  pathParameters: Record<string, string> | undefined;
}

/** A route key the template could not have deployed: API Gateway rejects these at CreateRoute. */
export class InvalidRouteKeyError extends Error {
  constructor(
    readonly routeKey: string,
    reason: string,
  ) {
    super(`invalid route key ${JSON.stringify(routeKey)}: ${reason}`);
    this.name = 'InvalidRouteKeyError';
  }
}

export function compileRoute<T>(routeKey: string, value: T): CompiledRoute<T> {
  if (routeKey === DEFAULT_ROUTE_KEY) return { routeKey, method: undefined, segments: [], value };
  const match = /^([A-Z]+) (\/\S*)$/.exec(routeKey);
  if (!match) throw new InvalidRouteKeyError(routeKey, 'expected "$default" or "<METHOD> /<path>"');
  const [, method = '', path = ''] = match;
  if (!METHODS.has(method)) throw new InvalidRouteKeyError(routeKey, `unknown method ${method}`);
  const parts = path === '/' ? [] : path.slice(1).split('/');
  const names = new Set<string>();
  const segments = parts.map((part, index): Segment => {
    if (part === '') throw new InvalidRouteKeyError(routeKey, 'empty path segment');
    const variable = /^\{([A-Za-z0-9._:-]+)(\+?)\}$/.exec(part);
    if (!variable) {
      if (/[{}]/.test(part)) throw new InvalidRouteKeyError(routeKey, `malformed path variable in ${part}`);
      return { kind: 'static', value: part };
    }
    const [, name = '', plus] = variable;
    if (names.has(name)) throw new InvalidRouteKeyError(routeKey, `path variable ${name} appears twice`);
    names.add(name);
    if (plus) {
      if (index !== parts.length - 1) {
        throw new InvalidRouteKeyError(routeKey, 'a greedy path variable must end the path');
      }
      return { kind: 'greedy', name };
    }
    return { kind: 'variable', name };
  });
  return { routeKey, method, segments, value };
}

/**
 * Picks the route API Gateway would pick for a request. `pathSegments` are the request path's segments,
 * already percent-decoded one by one (so an encoded `/` stays inside its segment).
 */
export function selectRoute<T>(
  routes: readonly CompiledRoute<T>[],
  method: string,
  pathSegments: readonly string[],
): RouteMatch<T> | undefined {
  let best: { match: RouteMatch<T>; rank: Rank } | undefined;
  let fallback: CompiledRoute<T> | undefined;
  for (const route of routes) {
    if (route.method === undefined) {
      fallback = route;
      continue;
    }
    if (route.method !== 'ANY' && route.method !== method) continue;
    const pathParameters = matchSegments(route.segments, pathSegments);
    if (pathParameters === undefined) continue;
    const rank = rankOf(route);
    if (!best || compareRanks(rank, best.rank) < 0) {
      best = {
        match: { route, pathParameters: Object.keys(pathParameters).length ? pathParameters : undefined },
        rank,
      };
    }
  }
  if (best) return best.match;
  return fallback ? { route: fallback, pathParameters: undefined } : undefined;
}

function matchSegments(
  segments: readonly Segment[],
  path: readonly string[],
): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    if (segment.kind === 'greedy') {
      const rest = path.slice(index);
      if (rest.length === 0 || rest.every((part) => part === '')) return undefined;
      parameters[segment.name] = rest.join('/');
      return parameters;
    }
    const part = path[index];
    if (part === undefined || part === '') return undefined;
    if (segment.kind === 'static' && segment.value !== part) return undefined;
    if (segment.kind === 'variable') parameters[segment.name] = part;
  }
  return segments.length === path.length ? parameters : undefined;
}

interface Rank {
  greedy: number;
  kinds: number[];
  any: number;
}

/**
 * Lower ranks win. First: full match (0) before greedy (1). Then segment by segment from the left:
 * a literal (0) before a variable (1) before the greedy tail (2), so among greedy routes the longer
 * literal prefix wins. Last: a route naming the method (0) before `ANY` (1).
 */
function rankOf(route: CompiledRoute<unknown>): Rank {
  const kinds = route.segments.map((segment) =>
    segment.kind === 'static' ? 0 : segment.kind === 'variable' ? 1 : 2,
  );
  return { greedy: kinds.includes(2) ? 1 : 0, kinds, any: route.method === 'ANY' ? 1 : 0 };
}

/**
 * Two routes that match one request have kind lists of equal length up to the first difference: full
 * matches have one kind per request segment, and a greedy tail (2) ends its list wherever it sits.
 */
function compareRanks(a: Rank, b: Rank): number {
  if (a.greedy !== b.greedy) return a.greedy - b.greedy;
  const length = Math.min(a.kinds.length, b.kinds.length);
  for (let index = 0; index < length; index++) {
    const difference = (a.kinds[index] ?? 0) - (b.kinds[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return a.any - b.any;
}
