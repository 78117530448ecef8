/** The evaluation feature's HTTP routes: roles, schemas and handler of each (see shared/routes.ts). */
import * as z from 'zod';
import { slugSchema } from '../registry/domain.js';
import { defineRoute } from '../shared/routes.js';
import { fundBudgetSchema, indicatorSystemSchema, scoreSheetSchema } from './domain.js';
import {
  assignmentSchema,
  createCycleSchema,
  disclosureSchema,
  dutySchema,
  EVALUATION_ROLES,
  hireSecretarySchema,
  payChangeSchema,
  projectSchema,
  reportQuerySchema,
  SECRETARY_ROLES,
  secretaryPostSchema,
  spendingSchema,
} from './requests.js';

const API = 'evaluation/api.handler.ts';
const committee = z.object({ committeeId: z.string().trim().min(1).max(120) }).strict();
const secretary = z
  .object({ committeeId: z.string().trim().min(1).max(120), secretaryId: slugSchema })
  .strict();
const cycleProject = z
  .object({ cycleId: slugSchema, committeeId: z.string().trim().min(1).max(120), projectId: slugSchema })
  .strict();
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
  approveSecretaryPost: defineRoute({
    routeKey: 'POST /committees/{committeeId}/secretary-posts',
    entry: API,
    handler: 'approveSecretaryPost',
    summary:
      "Record the secretary post and its pay cap as a passed matter of the area's general meeting approved them (each new vote is a new version)",
    roles: SECRETARY_ROLES.manage,
    params: committee,
    body: secretaryPostSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  hireSecretary: defineRoute({
    routeKey: 'POST /committees/{committeeId}/secretaries',
    entry: API,
    handler: 'hireSecretary',
    summary:
      'Hire a secretary within the approved cap, with a training record; not a committee member, no vote, no seal',
    roles: SECRETARY_ROLES.manage,
    params: committee,
    body: hireSecretarySchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  getSecretary: defineRoute({
    routeKey: 'GET /committees/{committeeId}/secretaries/{secretaryId}',
    entry: API,
    handler: 'getSecretary',
    summary: 'A secretary, the post it holds and its logged duties',
    roles: SECRETARY_ROLES.read,
    params: secretary,
    tableAccess: 'read',
  }),
  changeSecretaryPay: defineRoute({
    routeKey: 'PUT /committees/{committeeId}/secretaries/{secretaryId}/pay',
    entry: API,
    handler: 'changeSecretaryPay',
    summary: "Change a secretary's pay: only under a post a newer passing vote approved, within its cap",
    roles: SECRETARY_ROLES.manage,
    params: secretary,
    body: payChangeSchema,
    tableAccess: 'read-write',
  }),
  logSecretaryDuty: defineRoute({
    routeKey: 'POST /committees/{committeeId}/secretaries/{secretaryId}/duties',
    entry: API,
    handler: 'logSecretaryDuty',
    summary: "Log a secretary's duty: minutes, a notice, the archive, a disclosure-deadline reminder",
    roles: SECRETARY_ROLES.manage,
    params: secretary,
    body: dutySchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  proposeProject: defineRoute({
    routeKey: 'POST /evaluation-cycles/{cycleId}/committees/{committeeId}/projects',
    entry: API,
    handler: 'proposeProject',
    summary:
      "Propose a self-governance project paid from the committee's guidance fund, within its allocation",
    roles: EVALUATION_ROLES.project,
    params: cycleCommittee,
    body: projectSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  getProject: defineRoute({
    routeKey: 'GET /evaluation-cycles/{cycleId}/committees/{committeeId}/projects/{projectId}',
    entry: API,
    handler: 'getProject',
    summary: 'A project, its approval and its spending',
    roles: EVALUATION_ROLES.project,
    params: cycleProject,
    tableAccess: 'read',
  }),
  approveProject: defineRoute({
    routeKey: 'POST /evaluation-cycles/{cycleId}/committees/{committeeId}/projects/{projectId}/approval',
    entry: API,
    handler: 'approveProject',
    summary: 'The street office approves a project (once)',
    roles: EVALUATION_ROLES.approveProject,
    params: cycleProject,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  recordSpending: defineRoute({
    routeKey: 'POST /evaluation-cycles/{cycleId}/committees/{committeeId}/projects/{projectId}/spending',
    entry: API,
    handler: 'recordSpending',
    summary: "Record spending on an approved project with its receipt, within the project's budget",
    roles: EVALUATION_ROLES.project,
    params: cycleProject,
    body: spendingSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
};
