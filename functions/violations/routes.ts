/** The violations feature's HTTP routes: roles, schemas and handler of each (see shared/routes.ts). */
import * as z from 'zod';
import { slugSchema } from '../registry/domain.js';
import { pageQuerySchema } from '../shared/pagination.js';
import { defineRoute } from '../shared/routes.js';
import { compoundIdSchema, thingNameSchema } from './domain.js';
import { scenarioOverrideSchema } from './scenarios.js';
import { STATS_GROUPINGS } from './stats.js';

const API = 'violations/api.handler.ts';
const READ = 'violations/read.handler.ts';

export const violationsRoutes = {
  listTelemetry: defineRoute({
    routeKey: 'GET /compounds/{compoundId}/devices/{thingName}/telemetry',
    entry: READ,
    handler: 'listTelemetry',
    summary: "A device's telemetry in a compound, newest first",
    roles: ['street-office'],
    params: z.object({ compoundId: compoundIdSchema, thingName: thingNameSchema }).strict(),
    query: pageQuerySchema,
    tableAccess: 'read',
  }),
  listRejectedTelemetry: defineRoute({
    routeKey: 'GET /compounds/{compoundId}/rejected-telemetry',
    entry: READ,
    handler: 'listRejectedTelemetry',
    summary: 'What devices of a compound sent that could not be used, and why',
    roles: ['street-office'],
    params: z.object({ compoundId: compoundIdSchema }).strict(),
    query: pageQuerySchema,
    tableAccess: 'read',
  }),
  listViolations: defineRoute({
    routeKey: 'GET /violations',
    entry: READ,
    handler: 'listViolations',
    summary: 'The command centre: violations and their work orders, changed since a time (poll with since)',
    roles: ['street-office'],
    query: pageQuerySchema
      .extend({
        since: z.iso.datetime({ offset: true }).optional(),
        compoundId: compoundIdSchema.optional(),
        status: z.enum(['open', 'dispatched', 'acknowledged', 'handled', 'verified', 'closed']).optional(),
      })
      .strict(),
    tableAccess: 'read',
  }),
  getViolation: defineRoute({
    routeKey: 'GET /violations/{violationId}',
    entry: READ,
    handler: 'getViolation',
    summary: 'A violation with every step and work order',
    roles: ['street-office', 'property-staff'],
    params: z.object({ violationId: z.string().min(3).max(80) }).strict(),
    tableAccess: 'read',
  }),
  reportWorkOrder: defineRoute({
    routeKey: 'POST /work-orders/{workOrderId}/{report}',
    entry: API,
    handler: 'reportWorkOrder',
    summary: 'Acknowledge a work order or report it handled (as the handheld does over MQTT)',
    roles: ['property-staff', 'street-office'],
    params: z
      .object({ workOrderId: z.string().min(3).max(120), report: z.enum(['acknowledge', 'handled']) })
      .strict(),
    body: z.object({ note: z.string().max(500).optional() }).strict(),
    tableAccess: 'read-write',
  }),
  verifyViolation: defineRoute({
    routeKey: 'POST /violations/{violationId}/{decision}',
    entry: API,
    handler: 'decideViolation',
    summary: 'An inspector verifies or closes a violation',
    roles: ['street-office'],
    params: z
      .object({ violationId: z.string().min(3).max(80), decision: z.enum(['verify', 'close']) })
      .strict(),
    body: z.object({ note: z.string().max(500).optional() }).strict(),
    tableAccess: 'read-write',
  }),
  putScenarioOverride: defineRoute({
    routeKey: 'PUT /compounds/{compoundId}/scenarios/{scenarioId}',
    entry: API,
    handler: 'putScenarioOverride',
    summary: 'Tune a scenario for a compound (grace, deadlines, escalation chain, on/off)',
    roles: ['street-office'],
    params: z.object({ compoundId: compoundIdSchema, scenarioId: z.string().min(2).max(63) }).strict(),
    body: scenarioOverrideSchema,
    tableAccess: 'read-write',
  }),
  listScenarios: defineRoute({
    routeKey: 'GET /compounds/{compoundId}/scenarios',
    entry: READ,
    handler: 'listScenarios',
    summary: 'The scenarios a compound runs, with its overrides applied',
    roles: ['street-office', 'property-staff'],
    params: z.object({ compoundId: compoundIdSchema }).strict(),
    tableAccess: 'read',
  }),
  violationStats: defineRoute({
    routeKey: 'GET /violations/stats',
    entry: READ,
    handler: 'violationStats',
    summary:
      'Statistics over a period, filtered by compound, property company and scenario, and broken down by one of them with groupBy: counts, median and p90 time to acknowledge and to close, on-time and escalation rates, repeat locations',
    roles: ['street-office'],
    query: z
      .object({
        from: z.iso.datetime({ offset: true }),
        to: z.iso.datetime({ offset: true }).optional(),
        compoundId: compoundIdSchema.optional(),
        companyId: slugSchema.optional(),
        scenarioId: z.string().min(2).max(63).optional(),
        groupBy: z.enum(STATS_GROUPINGS).optional(),
      })
      .strict(),
    tableAccess: 'read',
  }),
};
