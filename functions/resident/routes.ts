/** The resident code's HTTP routes: roles, schemas and handler of each (see shared/routes.ts). */
import * as z from 'zod';
import { slugSchema } from '../registry/domain.js';
import { defineRoute } from '../shared/routes.js';
import { CASE_TYPES, covenantSchema, ladderTuningSchema, noticeSchema } from './domain.js';

const API = 'resident/api.handler.ts';

export const RESIDENT_ROLES = {
  /** Covenant texts and the record of their adoption: the office and the committees. */
  covenant: ['street-office', 'committee-member'],
  /** Who reads covenants, ladders and cases (an owner only the cases about it). */
  read: ['street-office', 'committee-member', 'property-staff', 'owner', 'caseworker'],
  /** Tuning a ladder within the law's bounds. */
  tune: ['street-office', 'committee-member'],
  /** The fee ledger comes from the property company (or the office on its behalf). */
  ledger: ['street-office', 'property-staff'],
  /** Opening, notices and closing: the ladder's actors (each step is its actor's to carry out). */
  act: ['street-office', 'committee-member', 'property-staff'],
  /** Statistics per area, for the evaluation of its committee. */
  statistics: ['street-office', 'committee-member', 'caseworker'],
} as const;

const area = z.object({ areaId: slugSchema }).strict();
const areaCase = z.object({ areaId: slugSchema, caseId: z.string().trim().min(1).max(120) }).strict();
const ladderParams = z.object({ areaId: slugSchema, caseType: z.enum(CASE_TYPES) }).strict();
const covenantVersion = z
  .object({
    covenantId: slugSchema,
    version: z.string().regex(/^[1-9]\d{0,3}$/, 'A version number (1, 2, …)'),
  })
  .strict();

export const adoptionSchema = z
  .object({
    covenantId: slugSchema,
    version: z.number().int().min(1).max(9999),
    meetingId: slugSchema,
    matterId: slugSchema,
  })
  .strict();

export const openCaseSchema = z
  .object({
    caseType: z.enum(CASE_TYPES),
    /** A rule of an adopted covenant; by default the one in force for the case type. */
    ruleId: slugSchema.optional(),
    unitIds: z.array(z.string().trim().min(1).max(200)).max(50).default([]),
    ownerIds: z.array(z.string().trim().min(1).max(200)).max(50).default([]),
    /** Where the notice is posted when no household is known (a building's board). */
    postingBoard: z.string().trim().min(1).max(40).optional(),
    description: z.string().trim().min(1).max(1000),
    /** When it was seen; the rule must bind the area at that time. Default: now. */
    observedAt: z.iso.datetime({ offset: true }).optional(),
    /** What a fee-arrears case is about, in fen. */
    arrearsFen: z.number().int().min(1).max(10_000_000_000).optional(),
  })
  .strict()
  .refine((body) => body.unitIds.length + body.ownerIds.length > 0 || body.postingBoard !== undefined, {
    message: 'Name the units or owners concerned, or the posting board when no household is known',
    path: ['unitIds'],
  });

export const remedySchema = z
  .object({
    kind: z.enum(['remedied', 'paid']),
    /** What shows it: a photo reference, a receipt number. */
    detail: z.string().trim().min(1).max(500),
  })
  .strict();

export const caseListQuerySchema = z
  .object({
    status: z.enum(['open', 'closed', 'referred']).optional(),
    caseType: z.enum(CASE_TYPES).optional(),
  })
  .strict();

export const residentRoutes = {
  createCovenant: defineRoute({
    routeKey: 'POST /covenants',
    entry: API,
    handler: 'createCovenant',
    summary:
      'Record a version of a covenant (管理规约 or a model sub-covenant) with its articles and the rules cases cite',
    roles: RESIDENT_ROLES.covenant,
    body: covenantSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  getCovenant: defineRoute({
    routeKey: 'GET /covenants/{covenantId}/versions/{version}',
    entry: API,
    handler: 'getCovenant',
    summary: 'One version of a covenant',
    roles: RESIDENT_ROLES.read,
    params: covenantVersion,
    tableAccess: 'read',
  }),
  adoptCovenant: defineRoute({
    routeKey: 'POST /areas/{areaId}/covenant-adoptions',
    entry: API,
    handler: 'adoptCovenant',
    summary:
      "Record that a passed matter of the area's general meeting adopted a covenant version; it binds from the meeting's close",
    roles: RESIDENT_ROLES.covenant,
    params: area,
    body: adoptionSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  getAreaCovenants: defineRoute({
    routeKey: 'GET /areas/{areaId}/covenants',
    entry: API,
    handler: 'getAreaCovenants',
    summary: "The area's covenant adoptions and, per case type, the rule in force now",
    roles: RESIDENT_ROLES.read,
    params: area,
    tableAccess: 'read',
  }),
  getLadder: defineRoute({
    routeKey: 'GET /areas/{areaId}/ladders/{caseType}',
    entry: API,
    handler: 'getLadder',
    summary: 'The enforcement ladder of a case type in the area: steps, actors, deadlines, notice channels',
    roles: RESIDENT_ROLES.read,
    params: ladderParams,
    tableAccess: 'read',
  }),
  tuneLadder: defineRoute({
    routeKey: 'PUT /areas/{areaId}/ladders/{caseType}',
    entry: API,
    handler: 'tuneLadder',
    summary:
      "Tune the area's ladder: deadlines within the law's bounds and channels it allows; no step skipped or moved",
    roles: RESIDENT_ROLES.tune,
    params: ladderParams,
    body: ladderTuningSchema,
    tableAccess: 'read-write',
  }),
  importFeeLedger: defineRoute({
    routeKey: 'POST /areas/{areaId}/fee-ledger',
    entry: API,
    handler: 'importFeeLedger',
    summary:
      "Import the property company's fee ledger (CSV, yuan): all rows valid or nothing imported; arrears open cases, payment closes them",
    roles: RESIDENT_ROLES.ledger,
    params: area,
    textBody: { contentTypes: ['text/csv', 'text/plain'] },
    maxBodyBytes: 5 * 1024 * 1024,
    tableAccess: 'read-write',
    group: 'ledger',
    timeoutSeconds: 29,
    memorySize: 1024,
  }),
  openCase: defineRoute({
    routeKey: 'POST /areas/{areaId}/resident-cases',
    entry: API,
    handler: 'openCase',
    summary: 'Open a case (fee arrears, garbage sorting, corridor clutter) under a rule in force in the area',
    roles: RESIDENT_ROLES.act,
    params: area,
    body: openCaseSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  listCases: defineRoute({
    routeKey: 'GET /areas/{areaId}/resident-cases',
    entry: API,
    handler: 'listCases',
    summary: "The area's cases (an owner sees the ones about it)",
    roles: RESIDENT_ROLES.read,
    params: area,
    query: caseListQuerySchema,
    tableAccess: 'read',
  }),
  getCase: defineRoute({
    routeKey: 'GET /areas/{areaId}/resident-cases/{caseId}',
    entry: API,
    handler: 'getCase',
    summary: 'A case: its rule, whom it concerns, its ladder, the current step and its history',
    roles: RESIDENT_ROLES.read,
    params: areaCase,
    tableAccess: 'read',
  }),
  recordNotice: defineRoute({
    routeKey: 'POST /areas/{areaId}/resident-cases/{caseId}/notices',
    entry: API,
    handler: 'recordNotice',
    summary:
      "Record the current step's notice with its delivery proof; the step's deadline runs from the delivery",
    roles: RESIDENT_ROLES.act,
    params: areaCase,
    body: noticeSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  remedyCase: defineRoute({
    routeKey: 'POST /areas/{areaId}/resident-cases/{caseId}/remedy',
    entry: API,
    handler: 'remedyCase',
    summary: 'Close a case as remedied (or, for arrears, paid) with what shows it',
    roles: RESIDENT_ROLES.act,
    params: areaCase,
    body: remedySchema,
    tableAccess: 'read-write',
  }),
  getStatistics: defineRoute({
    routeKey: 'GET /areas/{areaId}/resident-statistics',
    entry: API,
    handler: 'getStatistics',
    summary: "The area's cases counted by type and outcome, and the median days to close",
    roles: RESIDENT_ROLES.statistics,
    params: area,
    tableAccess: 'read',
  }),
};
