/** The area merger's HTTP routes: roles, schemas and handler of each (see shared/routes.ts). */
import * as z from 'zod';
import { pageQuerySchema } from '../shared/pagination.js';
import { defineRoute } from '../shared/routes.js';
import {
  bureauDecisionSchema,
  cancelSchema,
  createProposalSchema,
  MERGER_ROLES,
  participationSchema,
  slugSchema,
  surveyResultSchema,
} from './domain.js';

const API = 'merger/api.handler.ts';
const proposal = z.object({ proposalId: slugSchema }).strict();
const proposalArea = z.object({ proposalId: slugSchema, areaId: slugSchema }).strict();

export const mergerRoutes = {
  createProposal: defineRoute({
    routeKey: 'POST /proposals',
    entry: API,
    handler: 'createProposal',
    summary:
      'Propose merging property areas of one compound (联小建大): the workflow starts with the third-party survey',
    roles: MERGER_ROLES.propose,
    body: createProposalSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  listProposals: defineRoute({
    routeKey: 'GET /proposals',
    entry: API,
    handler: 'listProposals',
    summary: "The sub-district's merger proposals (a committee member sees those naming one of its areas)",
    roles: MERGER_ROLES.read,
    query: pageQuerySchema,
    tableAccess: 'read',
  }),
  getProposal: defineRoute({
    routeKey: 'GET /proposals/{proposalId}',
    entry: API,
    handler: 'getProposal',
    summary:
      'A merger proposal: its step, what it waits for, the votes, the decision, the merge and its timeline',
    roles: MERGER_ROLES.read,
    params: proposal,
    tableAccess: 'read',
  }),
  getTimeline: defineRoute({
    routeKey: 'GET /proposals/{proposalId}/timeline',
    entry: API,
    handler: 'getTimeline',
    summary: "Every step of the proposal: the feature's events and the workflow's state transitions",
    roles: MERGER_ROLES.read,
    params: proposal,
    tableAccess: 'read',
  }),
  uploadSurvey: defineRoute({
    routeKey: 'PUT /proposals/{proposalId}/areas/{areaId}/survey',
    entry: API,
    handler: 'uploadSurvey',
    summary:
      "Upload the third-party survey's results for one area (once); the survey ends when every area has them",
    roles: MERGER_ROLES.survey,
    params: proposalArea,
    body: surveyResultSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  recordParticipation: defineRoute({
    routeKey: 'PUT /proposals/{proposalId}/areas/{areaId}/participation',
    entry: API,
    handler: 'recordParticipation',
    summary:
      "The area's committee decides whether it takes part: yes, naming the noticed general meeting that votes on the plan, or no, with the reason (final, never overridden)",
    roles: MERGER_ROLES.participate,
    params: proposalArea,
    body: participationSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  decide: defineRoute({
    routeKey: 'POST /proposals/{proposalId}/decision',
    entry: API,
    handler: 'decide',
    summary: 'The housing bureau approves or rejects the merger, with its reference and reasons (once)',
    roles: MERGER_ROLES.decide,
    params: proposal,
    body: bureauDecisionSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  cancelProposal: defineRoute({
    routeKey: 'POST /proposals/{proposalId}/cancel',
    entry: API,
    handler: 'cancelProposal',
    summary: 'Cancel a proposal before the merge is carried out: the workflow ends in Cancelled',
    roles: MERGER_ROLES.propose,
    params: proposal,
    body: cancelSchema,
    tableAccess: 'read-write',
  }),
};
