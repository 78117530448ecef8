/** The violations feature's HTTP routes: roles, schemas and handler of each (see shared/routes.ts). */
import { z } from 'zod';
import { pageQuerySchema } from '../shared/pagination.js';
import { defineRoute } from '../shared/routes.js';
import { compoundIdSchema, thingNameSchema } from './domain.js';

const TELEMETRY = 'violations/telemetry.handler.ts';

export const violationsRoutes = {
  listTelemetry: defineRoute({
    routeKey: 'GET /compounds/{compoundId}/devices/{thingName}/telemetry',
    entry: TELEMETRY,
    handler: 'listTelemetry',
    summary: "A device's telemetry in a compound, newest first",
    roles: ['street-office'],
    params: z.object({ compoundId: compoundIdSchema, thingName: thingNameSchema }).strict(),
    query: pageQuerySchema,
    tableAccess: 'read',
  }),
  listRejectedTelemetry: defineRoute({
    routeKey: 'GET /compounds/{compoundId}/rejected-telemetry',
    entry: TELEMETRY,
    handler: 'listRejectedTelemetry',
    summary: 'What devices of a compound sent that could not be used, and why',
    roles: ['street-office'],
    params: z.object({ compoundId: compoundIdSchema }).strict(),
    query: pageQuerySchema,
    tableAccess: 'read',
  }),
};
