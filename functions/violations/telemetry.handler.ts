/** The telemetry read routes; each export is one route of routes.ts. */
import { httpRoute, json } from '../shared/http.js';
import { violationsRoutes as r } from './routes.js';
import * as store from './store.js';

/** GET /compounds/{compoundId}/devices/{thingName}/telemetry — newest first. */
export const listTelemetry = httpRoute(r.listTelemetry, async ({ params, query }) => {
  const page = await store.listTelemetry(params.thingName, query.limit, query.cursor);
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
});

/** GET /compounds/{compoundId}/rejected-telemetry — what devices sent that could not be used, and why. */
export const listRejectedTelemetry = httpRoute(r.listRejectedTelemetry, async ({ params, query }) => {
  const page = await store.listRejectedTelemetry(params.compoundId, query.limit, query.cursor);
  const items = page.items.map(({ receivedAt, clientId, topic, reason, payloadBase64 }) => ({
    receivedAt,
    clientId,
    topic,
    reason,
    payloadBase64,
  }));
  return json(200, { items, nextCursor: page.nextCursor });
});
