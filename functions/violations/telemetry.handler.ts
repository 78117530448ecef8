/** The telemetry read routes; each export is one route of routes.ts. */
import { loadVisible } from '../registry/service.js';
import { getDeviceDirectory } from '../registry/store.js';
import { NotFoundError } from '../shared/errors.js';
import { httpRoute, json } from '../shared/http.js';
import { violationsRoutes as r } from './routes.js';
import * as store from './store.js';

/**
 * GET /compounds/{compoundId}/devices/{thingName}/telemetry — newest first. Thing names are global in
 * IoT and compound ids are a namespace per sub-district, so the device must be the caller's, in that
 * compound, before its telemetry is read.
 */
export const listTelemetry = httpRoute(r.listTelemetry, async ({ caller, params, page: paging }) => {
  const device = await loadVisible(caller, 'device', params.thingName);
  if (device.compoundId !== params.compoundId)
    throw new NotFoundError(`No device ${params.thingName} in compound ${params.compoundId}.`);
  const page = await store.listTelemetry(params.thingName, paging.limit, paging.startKey);
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
  return json(200, { items, nextCursor: paging.next(page.lastKey) });
});

/**
 * GET /compounds/{compoundId}/rejected-telemetry — what devices sent that could not be used, and why.
 * Rejected messages are kept by the compound their topic named, which need not be the device's own (a
 * device publishing under another compound's topic is one of the reasons) and which a sub-district
 * cannot claim (compound ids are a namespace per sub-district, topics are not). A message is shown when
 * its sender is one of the caller's sub-district's devices, or when its sender is in no registry at all
 * (an unknown thing, the commonest reason) and the topic's compound is one of the caller's; a device of
 * another sub-district is never shown.
 */
export const listRejectedTelemetry = httpRoute(
  r.listRejectedTelemetry,
  async ({ caller, params, page: paging }) => {
    if (caller.subDistrictId === undefined) throw new NotFoundError(`No compound ${params.compoundId}.`);
    const compoundIsCallers = await loadVisible(caller, 'compound', params.compoundId).then(
      () => true,
      (error: unknown) => {
        if (error instanceof NotFoundError) return false;
        throw error;
      },
    );
    const page = await store.listRejectedTelemetry(params.compoundId, paging.limit, paging.startKey);
    const senders = new Map(
      await Promise.all(
        [...new Set(page.items.map((item) => item.clientId))].map(
          async (clientId) => [clientId, (await getDeviceDirectory(clientId))?.subDistrictId] as const,
        ),
      ),
    );
    const shown = (clientId: string): boolean => {
      const sender = senders.get(clientId);
      return sender === undefined ? compoundIsCallers : sender === caller.subDistrictId;
    };
    const items = page.items
      .filter((item) => shown(item.clientId))
      .map(({ receivedAt, clientId, topic, reason, payloadBase64 }) => ({
        receivedAt,
        clientId,
        topic,
        reason,
        payloadBase64,
      }));
    return json(200, { items, nextCursor: paging.next(page.lastKey) });
  },
);
