import { z } from 'zod';
import { httpRoute, json } from '../shared/http.js';
import { pageQuerySchema } from '../shared/pagination.js';
import { compoundIdSchema, thingNameSchema } from './domain.js';
import { listRejectedTelemetry, listTelemetry } from './store.js';

/** GET /compounds/{compoundId}/devices/{thingName}/telemetry — newest first. */
export const listHandler = httpRoute(
  {
    roles: ['street-office'],
    params: z.object({ compoundId: compoundIdSchema, thingName: thingNameSchema }),
    query: pageQuerySchema,
  },
  async ({ params, query }) => {
    const page = await listTelemetry(params.thingName, query.limit, query.cursor);
    const items = page.items
      .filter((item) => item.compoundId === params.compoundId)
      .map(({ thingName, compoundId, signal, observedAt, receivedAt, seq, fields }) => ({
        thingName,
        compoundId,
        signal,
        observedAt,
        receivedAt,
        seq,
        fields,
      }));
    return json(200, { items, nextCursor: page.nextCursor });
  },
);

/** GET /compounds/{compoundId}/rejected-telemetry — what devices sent that could not be used, and why. */
export const rejectedHandler = httpRoute(
  { roles: ['street-office'], params: z.object({ compoundId: compoundIdSchema }), query: pageQuerySchema },
  async ({ params, query }) => {
    const page = await listRejectedTelemetry(params.compoundId, query.limit, query.cursor);
    const items = page.items.map(({ receivedAt, clientId, topic, reason, payloadBase64 }) => ({
      receivedAt,
      clientId,
      topic,
      reason,
      payloadBase64,
    }));
    return json(200, { items, nextCursor: page.nextCursor });
  },
);
