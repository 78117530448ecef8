/** The evaluation feature's HTTP routes: roles, schemas and handler of each (see shared/routes.ts). */
import * as z from 'zod';
import { slugSchema } from '../registry/domain.js';
import { defineRoute } from '../shared/routes.js';
import { fundBudgetSchema, indicatorSystemSchema, scoreSheetSchema } from './domain.js';
import {
  assignmentSchema,
  createCycleSchema,
  disclosureSchema,
  EVALUATION_ROLES,
  reportQuerySchema,
} from './requests.js';

const API = 'evaluation/api.handler.ts';
const cycle = z.object({ cycleId: slugSchema }).strict();
const cycleCommittee = z
  .object({ cycleId: slugSchema, committeeId: z.string().trim().min(1).max(120) })
  .strict();
const system = z
  .object({ systemId: slugSchema, version: z.string().regex(/^[1-9]\d{0,5}$/, 'A version number (1, 2, …)') })
  .strict();

export const evaluationRoutes = {
  createIndicatorSystem: defineRoute({
    routeKey: 'POST /indicator-systems',
    entry: API,
    handler: 'createIndicatorSystem',
    summary:
      'Record a version of an indicator system: dimensions, indicators, weights summing to 100, scoring rules, veto items',
    roles: EVALUATION_ROLES.organise,
    body: indicatorSystemSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  getIndicatorSystem: defineRoute({
    routeKey: 'GET /indicator-systems/{systemId}/versions/{version}',
    entry: API,
    handler: 'getIndicatorSystem',
    summary: 'One version of an indicator system (shanghai-default version 1 is built in)',
    roles: EVALUATION_ROLES.read,
    params: system,
    tableAccess: 'read',
  }),
  createCycle: defineRoute({
    routeKey: 'POST /evaluation-cycles',
    entry: API,
    handler: 'createCycle',
    summary: "Open a year's evaluation cycle on a version of an indicator system",
    roles: EVALUATION_ROLES.organise,
    body: createCycleSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  getCycle: defineRoute({
    routeKey: 'GET /evaluation-cycles/{cycleId}',
    entry: API,
    handler: 'getCycle',
    summary: 'A cycle and its assignments (an evaluator sees only its own)',
    roles: EVALUATION_ROLES.read,
    params: cycle,
    tableAccess: 'read',
  }),
  assignEvaluator: defineRoute({
    routeKey: 'POST /evaluation-cycles/{cycleId}/assignments',
    entry: API,
    handler: 'assignEvaluator',
    summary:
      'Assign an evaluator to a committee; refused when the evaluator owns a unit in its area or works for its property company',
    roles: EVALUATION_ROLES.organise,
    params: cycle,
    body: assignmentSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  submitScores: defineRoute({
    routeKey: 'PUT /evaluation-cycles/{cycleId}/committees/{committeeId}/scores',
    entry: API,
    handler: 'submitScores',
    summary:
      "An assigned evaluator's score sheet with evidence references (replaced until the result is final)",
    roles: EVALUATION_ROLES.score,
    params: cycleCommittee,
    body: scoreSheetSchema,
    tableAccess: 'read-write',
  }),
  finalise: defineRoute({
    routeKey: 'POST /evaluation-cycles/{cycleId}/committees/{committeeId}/finalise',
    entry: API,
    handler: 'finalise',
    summary:
      "Finalise a committee's result: every assigned evaluator scored, no disagreement left; gaps become follow-up tasks",
    roles: EVALUATION_ROLES.organise,
    params: cycleCommittee,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  getReport: defineRoute({
    routeKey: 'GET /evaluation-cycles/{cycleId}/committees/{committeeId}/report',
    entry: API,
    handler: 'getReport',
    summary:
      "A committee's report: score, grade, every indicator, vetoes, gaps and follow-ups (format=html for a printable page)",
    roles: EVALUATION_ROLES.report,
    params: cycleCommittee,
    query: reportQuerySchema,
    tableAccess: 'read',
  }),
  allocateFund: defineRoute({
    routeKey: 'POST /evaluation-cycles/{cycleId}/fund',
    entry: API,
    handler: 'allocateFund',
    summary:
      "Split the year's guidance fund among the graded committees by star level, with per-level caps, in whole fen",
    roles: EVALUATION_ROLES.organise,
    params: cycle,
    body: fundBudgetSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  postDisclosure: defineRoute({
    routeKey: 'POST /areas/{areaId}/disclosures',
    entry: API,
    handler: 'postDisclosure',
    summary:
      'Record a disclosure the committee posted (maintenance fund half-yearly, common income quarterly)',
    roles: EVALUATION_ROLES.disclose,
    params: z.object({ areaId: slugSchema }).strict(),
    body: disclosureSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
};
