import * as z from 'zod';

/** Query parameters every list route accepts. */
export const pageQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(50),
    /** The `nextCursor` of the previous page, as the API issued it (see shared/cursor.ts). */
    cursor: z.string().max(2048).optional(),
  })
  .strict();

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}
