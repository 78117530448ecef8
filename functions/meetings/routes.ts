/** The meetings feature's HTTP routes: roles, schemas and handler of each (see shared/routes.ts). */
import * as z from 'zod';
import { pageQuerySchema } from '../shared/pagination.js';
import { defineRoute } from '../shared/routes.js';
import {
  addMatterSchema,
  castBallotSchema,
  createMeetingSchema,
  MEETING_ROLES,
  meetingRulesSchema,
  paperBallotSchema,
  recordDeliverySchema,
  registerProxySchema,
  slugSchema,
} from './domain.js';

const API = 'meetings/api.handler.ts';
const READ = 'meetings/read.handler.ts';
const TALLY = 'meetings/tally.handler.ts';
const area = z.object({ areaId: slugSchema }).strict();
const meeting = z.object({ meetingId: slugSchema }).strict();
const petition = z.object({ petitionId: slugSchema }).strict();
const reason = z.string().trim().min(5, 'Say why you read named ballots (at least 5 characters)').max(500);
/** Routes that read or recount a whole meeting's ballots: more time and memory than the others. */
const tally = {
  entry: TALLY,
  group: 'tally',
  tableAccess: 'read-write',
  timeoutSeconds: 29,
  memorySize: 1024,
} as const;

export const meetingsRoutes = {
  putMeetingRules: defineRoute({
    routeKey: 'PUT /areas/{areaId}/meeting-rules',
    entry: API,
    handler: 'putMeetingRules',
    summary:
      "Record an area's rules of procedure for meetings: notice period (≥ 15 days), how non-replies count, the proxy cap, which ballot prevails when an owner voted both electronically and on paper",
    roles: MEETING_ROLES.organise,
    params: area,
    body: meetingRulesSchema,
    tableAccess: 'read-write',
  }),
  getMeetingRules: defineRoute({
    routeKey: 'GET /areas/{areaId}/meeting-rules',
    entry: READ,
    handler: 'getMeetingRules',
    summary: "An area's rules of procedure for meetings (the defaults if none are recorded)",
    roles: MEETING_ROLES.read,
    params: area,
    tableAccess: 'read',
  }),
  createMeeting: defineRoute({
    routeKey: 'POST /areas/{areaId}/meetings',
    entry: API,
    handler: 'createMeeting',
    summary:
      "Notice a general meeting (collective meeting or written consultation) with its matters: the notice is posted now, voting may open no earlier than the area's notice period later",
    roles: MEETING_ROLES.organise,
    params: area,
    body: createMeetingSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  listMeetings: defineRoute({
    routeKey: 'GET /areas/{areaId}/meetings',
    entry: READ,
    handler: 'listMeetings',
    summary: "An area's meetings, by opening time",
    roles: MEETING_ROLES.read,
    params: area,
    query: pageQuerySchema,
    tableAccess: 'read',
  }),
  getMeeting: defineRoute({
    routeKey: 'GET /meetings/{meetingId}',
    entry: API,
    handler: 'getMeeting',
    summary: "A meeting and its matters (an owner's first read is recorded as the app's proof of delivery)",
    roles: MEETING_ROLES.read,
    params: meeting,
    tableAccess: 'read-write',
  }),
  addMatter: defineRoute({
    routeKey: 'POST /meetings/{meetingId}/matters',
    entry: API,
    handler: 'addMatter',
    summary:
      'Open a matter in a noticed meeting (also for other features: pass a Step Functions taskToken to be told the result)',
    roles: MEETING_ROLES.organise,
    params: meeting,
    body: addMatterSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  getEligibility: defineRoute({
    routeKey: 'GET /meetings/{meetingId}/eligibility',
    entry: READ,
    handler: 'getEligibility',
    summary:
      'Your roll entries: units, exact area, count (provisional until the roll is frozen when voting opens)',
    roles: MEETING_ROLES.vote,
    params: meeting,
    tableAccess: 'read',
  }),
  listRoll: defineRoute({
    routeKey: 'GET /meetings/{meetingId}/roll',
    entry: READ,
    handler: 'listRoll',
    summary: 'The frozen voter roll with its totals',
    roles: MEETING_ROLES.organise,
    params: meeting,
    query: pageQuerySchema,
    tableAccess: 'read',
  }),
  recordDelivery: defineRoute({
    routeKey: 'POST /meetings/{meetingId}/deliveries',
    entry: API,
    handler: 'recordDelivery',
    summary: "Record an owner's receipt of the ballot: channel, time and evidence",
    roles: MEETING_ROLES.organise,
    params: meeting,
    body: recordDeliverySchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  registerProxy: defineRoute({
    routeKey: 'POST /meetings/{meetingId}/proxies',
    entry: API,
    handler: 'registerProxy',
    summary: "Register an owner's written authorisation of a proxy (scan reference; a cap per holder)",
    roles: MEETING_ROLES.organise,
    params: meeting,
    body: registerProxySchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  castBallot: defineRoute({
    routeKey: 'POST /meetings/{meetingId}/ballots',
    entry: API,
    handler: 'castBallot',
    summary:
      'Cast or change your ballot (or, as a registered proxy, another owner’s): for / against / abstain per matter, approvals in an election; returns a receipt per matter',
    roles: MEETING_ROLES.vote,
    params: meeting,
    body: castBallotSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  enterPaperBallot: defineRoute({
    routeKey: 'POST /meetings/{meetingId}/paper-ballots',
    entry: API,
    handler: 'enterPaperBallot',
    summary: 'Enter a signed paper ballot with the reference of its scan',
    roles: MEETING_ROLES.organise,
    params: meeting,
    body: paperBallotSchema,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  listMyBallots: defineRoute({
    routeKey: 'GET /meetings/{meetingId}/my-ballots',
    entry: READ,
    handler: 'listMyBallots',
    summary: 'Your own ballots: the final one per matter and channel, with receipts, and every earlier one',
    roles: MEETING_ROLES.vote,
    params: meeting,
    tableAccess: 'read',
  }),
  readNamedBallots: defineRoute({
    routeKey: 'GET /meetings/{meetingId}/ballots',
    entry: API,
    handler: 'readNamedBallots',
    summary: "One roll entry's named ballots, for a dispute; the read is recorded with its reason",
    roles: MEETING_ROLES.audit,
    params: meeting,
    query: z.object({ voterId: z.string().min(1).max(600), reason }).strict(),
    tableAccess: 'read-write',
  }),
  listBallotReads: defineRoute({
    routeKey: 'GET /meetings/{meetingId}/ballot-reads',
    entry: READ,
    handler: 'listBallotReads',
    summary: 'Every read of named ballots: who, when, why, what',
    roles: MEETING_ROLES.audit,
    params: meeting,
    tableAccess: 'read',
  }),
  getTurnout: defineRoute({
    routeKey: 'GET /meetings/{meetingId}/turnout',

    handler: 'getTurnout',
    summary:
      'Live turnout per matter against the quorum (2/3 of the area and of the owners): participation only',
    roles: MEETING_ROLES.read,
    params: meeting,
    ...tally,
  }),
  closeMeeting: defineRoute({
    routeKey: 'POST /meetings/{meetingId}/close',

    handler: 'closeMeeting',
    summary:
      'Close and tally once the voting window has ended (the schedule does it; refused before the end, idempotent after)',
    roles: MEETING_ROLES.organise,
    params: meeting,
    ...tally,
  }),
  getResult: defineRoute({
    routeKey: 'GET /meetings/{meetingId}/result',
    entry: READ,
    handler: 'getResult',
    summary:
      'The published result: per matter raw and deemed figures side by side and which decides, elections with run-offs, the Merkle root of the counted ballots',
    roles: MEETING_ROLES.read,
    params: meeting,
    tableAccess: 'read',
  }),
  recount: defineRoute({
    routeKey: 'GET /meetings/{meetingId}/recount',

    handler: 'recount',
    summary:
      'Recount from the stored ballots and compare with the published result; names conflicting ballots, so the read is recorded',
    roles: MEETING_ROLES.audit,
    params: meeting,
    query: z.object({ reason }).strict(),
    ...tally,
  }),
  getProof: defineRoute({
    routeKey: 'GET /meetings/{meetingId}/proofs/{receipt}',

    handler: 'getProof',
    summary:
      'The inclusion proof of a receipt under the published root (check it with npm run verify-receipt)',
    roles: MEETING_ROLES.read,
    params: z
      .object({
        meetingId: slugSchema,
        receipt: z.string().regex(/^[0-9a-fA-F]{64}$/, 'A receipt is 64 hex digits'),
      })
      .strict(),
    ...tally,
  }),
  createPetition: defineRoute({
    routeKey: 'POST /areas/{areaId}/petitions',
    entry: API,
    handler: 'createPetition',
    summary:
      'Start a petition for an extraordinary meeting (20 % of the area and 20 % of the owners can require one)',
    roles: MEETING_ROLES.petition,
    params: area,
    body: z.object({ petitionId: slugSchema, subject: z.string().trim().min(1).max(500) }).strict(),
    tableAccess: 'read-write',
    successStatus: 201,
  }),
  listPetitions: defineRoute({
    routeKey: 'GET /areas/{areaId}/petitions',
    entry: READ,
    handler: 'listPetitions',
    summary: "An area's petitions",
    roles: MEETING_ROLES.petition,
    params: area,
    query: pageQuerySchema,
    tableAccess: 'read',
  }),
  getPetition: defineRoute({
    routeKey: 'GET /petitions/{petitionId}',
    entry: READ,
    handler: 'getPetition',
    summary: 'A petition and its progress against both thresholds',
    roles: MEETING_ROLES.petition,
    params: petition,
    tableAccess: 'read',
  }),
  signPetition: defineRoute({
    routeKey: 'POST /petitions/{petitionId}/signatures',
    entry: API,
    handler: 'signPetition',
    summary: 'Sign a petition as an owner of its area',
    roles: MEETING_ROLES.vote,
    params: petition,
    tableAccess: 'read-write',
    successStatus: 201,
  }),
};
