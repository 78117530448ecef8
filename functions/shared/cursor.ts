/**
 * List cursors that callers cannot read, forge or carry elsewhere. A cursor holds the last key a Query
 * evaluated and when it was issued, sealed with an HMAC (SHA-256) under the stack's cursor key over
 * both and over its scope: the route, its path and filter parameters, and the caller's identity and
 * tenancy. A cursor changed by one bit, handed to another route or list, or replayed by another caller
 * does not verify; one older than CURSOR_TTL_MS has expired. All of them answer 400, never reach the
 * table.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import type { Caller } from './auth.js';
import { requireEnv } from './env.js';
import { BadRequestError } from './errors.js';

/** How long a cursor stays valid: a day is longer than anyone pages through one list. */
export const CURSOR_TTL_MS = 24 * 3_600_000;

const keySchema = z.record(z.string(), z.union([z.string(), z.number()]));
const payloadSchema = z.object({ k: keySchema, t: z.number().int() }).strict();

export type StartKey = z.infer<typeof keySchema>;

/** The key is read on first use, so modules that never page need no key. */
let secret: string | undefined;
const cursorSecret = () => {
  secret ??= requireEnv('CURSOR_KEY');
  return secret;
};

const mac = (key: string, scope: string, payload: string) =>
  createHmac('sha256', key).update(scope).update('\n').update(payload).digest();

const invalid = (detail: string) =>
  new BadRequestError(`The cursor is not valid: ${detail}.`, [{ pointer: '/query/cursor', detail }]);

/** What a cursor is bound to: the list (route, path, filters) and who asked for it. */
export const cursorScope = (
  routeKey: string,
  params: Readonly<Record<string, unknown>>,
  filters: Readonly<Record<string, unknown>>,
  caller: Caller | undefined,
): string => {
  const sorted = (record: Readonly<Record<string, unknown>>) =>
    Object.entries(record)
      .filter(([, value]) => value !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
  const who =
    caller === undefined
      ? null
      : [
          caller.sub,
          [...caller.roles].sort(),
          caller.subDistrictId ?? null,
          [...caller.compoundIds].sort(),
          [...caller.areaIds].sort(),
          caller.companyId ?? null,
          caller.ownerId ?? null,
        ];
  return JSON.stringify([routeKey, sorted(params), sorted(filters), who]);
};

/** Seals the last evaluated key of a page into the cursor of the next one (none after the last page). */
export const sealCursor = (
  scope: string,
  lastKey: Readonly<Record<string, unknown>> | undefined,
  now = Date.now(),
  key = cursorSecret(),
): string | undefined => {
  if (lastKey === undefined) return undefined;
  const payload = Buffer.from(JSON.stringify({ k: lastKey, t: now })).toString('base64url');
  return `${payload}.${mac(key, scope, payload).toString('base64url')}`;
};

/** Opens a cursor this scope sealed; anything else is a 400 naming /query/cursor. */
export const openCursor = (
  scope: string,
  cursor: string,
  now = Date.now(),
  key = cursorSecret(),
): StartKey => {
  const [payload, signature, ...rest] = cursor.split('.');
  if (payload === undefined || signature === undefined || rest.length > 0)
    throw invalid('not a cursor this API issued');
  const expected = mac(key, scope, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw invalid('forged, changed, or issued for another list or caller');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not a cursor this API issued');
  }
  const parsed = payloadSchema.safeParse(decoded);
  if (!parsed.success) throw invalid('not a cursor this API issued');
  if (now - parsed.data.t > CURSOR_TTL_MS || parsed.data.t - now > 60_000)
    throw invalid('expired; start the list again');
  return parsed.data.k;
};
