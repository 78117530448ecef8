import { z } from 'zod';
import { BadRequestError } from './errors.js';

/** Query parameters every list route accepts. */
export const pageQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    cursor: z.string().max(2048).optional(),
  })
  .strict();

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** Cursors are opaque to callers: the last evaluated key, base64url-encoded. */
export const encodeCursor = (key: Record<string, unknown> | undefined): string | undefined =>
  key === undefined ? undefined : Buffer.from(JSON.stringify(key)).toString('base64url');

const keySchema = z.record(z.string(), z.union([z.string(), z.number()]));

/**
 * A cursor is only ever used as the start key of a query whose partition the handler chose itself, so a
 * forged cursor cannot reach another tenant's partition; a malformed one is a 400, not a crash.
 */
export const decodeCursor = (cursor: string | undefined): Record<string, string | number> | undefined => {
  if (cursor === undefined) return undefined;
  try {
    return keySchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new BadRequestError('The cursor is not valid.', [
      { pointer: '/query/cursor', detail: 'Invalid cursor' },
    ]);
  }
};
