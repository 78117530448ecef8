/**
 * The meetings feature's HTTP handlers; each export is one route of routes.ts, `dispatch` hands each
 * event to its route's handler. Thin: the use cases are in service.ts, the rules in domain.ts and
 * tally.ts.
 */
import { BadRequestError } from '../shared/errors.js';
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import * as handlers from './api.handler.js';
import { meetingsRoutes as r } from './routes.js';
import * as meetings from './service.js';
import { SHARDS } from './store.js';

const now = () => new Date().toISOString();

export const putMeetingRules = httpRoute(r.putMeetingRules, async ({ caller, params, body }) =>
  json(200, await meetings.setRules(caller, params.areaId, body)),
);
export const getMeetingRules = httpRoute(r.getMeetingRules, async ({ caller, params }) =>
  json(200, await meetings.readRules(caller, params.areaId)),
);

export const createMeeting = httpRoute(r.createMeeting, async ({ caller, params, body }) => {
  const meeting = await meetings.createMeeting(caller, params.areaId, body, now());
  return json(201, meetings.presentMeeting(meeting), { location: `/meetings/${meeting.meetingId}` });
});
export const listMeetings = httpRoute(r.listMeetings, async ({ caller, params, page: paging }) => {
  const page = await meetings.meetingsOfArea(caller, params.areaId, paging);
  return json(200, { items: page.items.map(meetings.presentMeeting), nextCursor: paging.next(page.lastKey) });
});
export const getMeeting = httpRoute(r.getMeeting, async ({ caller, params }) => {
  const meeting = await meetings.loadMeeting(caller, params.meetingId);
  await meetings.noteAppDelivery(caller, meeting, now());
  return json(200, meetings.presentMeeting(meeting));
});
export const addMatter = httpRoute(r.addMatter, async ({ caller, params, body }) => {
  const meeting = await meetings.loadMeeting(caller, params.meetingId);
  const { matter, ...request } = body;
  const added = await meetings.openMatter(meeting.subDistrictId, meeting.meetingId, matter, request, now());
  return json(201, meetings.presentMeeting(added.meeting), { location: `/meetings/${meeting.meetingId}` });
});

export const getEligibility = httpRoute(r.getEligibility, async ({ caller, params }) =>
  json(200, await meetings.eligibility(caller, params.meetingId)),
);

/** The roll's cursor names the shard being read and the key reached in it. */
const rollStart = (
  startKey: Record<string, unknown> | undefined,
): { shard: number; key?: Record<string, string> } => {
  if (startKey === undefined) return { shard: 0 };
  const { shard, pk, sk } = startKey;
  if (typeof shard !== 'number' || !Number.isInteger(shard) || shard < 0 || shard >= SHARDS)
    throw new BadRequestError('The cursor is not valid.', [
      { pointer: '/query/cursor', detail: 'Invalid cursor' },
    ]);
  return typeof pk === 'string' && typeof sk === 'string' ? { shard, key: { pk, sk } } : { shard };
};
export const listRoll = httpRoute(r.listRoll, async ({ caller, params, page: paging }) => {
  const page = await meetings.rollPage(caller, params.meetingId, {
    limit: paging.limit,
    ...rollStart(paging.startKey),
  });
  return json(200, {
    items: page.items,
    roll: page.roll,
    nextCursor:
      page.next === undefined ? undefined : paging.next({ shard: page.next.shard, ...page.next.key }),
  });
});

export const recordDelivery = httpRoute(r.recordDelivery, async ({ caller, params, body }) =>
  json(201, await meetings.recordDelivery(caller, params.meetingId, body, now())),
);
export const registerProxy = httpRoute(r.registerProxy, async ({ caller, params, body }) =>
  json(201, await meetings.registerProxy(caller, params.meetingId, body, now())),
);
export const castBallot = httpRoute(r.castBallot, async ({ caller, params, body }) =>
  json(201, await meetings.castBallots(caller, params.meetingId, body, now())),
);
export const enterPaperBallot = httpRoute(r.enterPaperBallot, async ({ caller, params, body }) =>
  json(201, await meetings.enterPaperBallot(caller, params.meetingId, body, now())),
);
export const listMyBallots = httpRoute(r.listMyBallots, async ({ caller, params }) =>
  json(200, await meetings.myBallots(caller, params.meetingId)),
);
export const readNamedBallots = httpRoute(r.readNamedBallots, async ({ caller, params, query, event }) =>
  json(
    200,
    await meetings.readNamedBallots(caller, params.meetingId, query, event.requestContext.requestId, now()),
  ),
);
export const listBallotReads = httpRoute(r.listBallotReads, async ({ caller, params }) =>
  json(200, await meetings.ballotReads(caller, params.meetingId)),
);
export const getTurnout = httpRoute(r.getTurnout, async ({ caller, params }) =>
  json(200, await meetings.turnout(caller, params.meetingId)),
);

export const closeMeeting = httpRoute(r.closeMeeting, async ({ caller, params }) => {
  const meeting = await meetings.loadMeeting(caller, params.meetingId);
  return json(200, await meetings.closeVoting(meeting.subDistrictId, meeting.meetingId, now()));
});
export const getResult = httpRoute(r.getResult, async ({ caller, params }) =>
  json(200, await meetings.publishedResult(caller, params.meetingId)),
);
export const recount = httpRoute(r.recount, async ({ caller, params, query, event }) =>
  json(
    200,
    await meetings.recount(caller, params.meetingId, query.reason, event.requestContext.requestId, now()),
  ),
);
export const getProof = httpRoute(r.getProof, async ({ caller, params }) =>
  json(200, await meetings.proofOf(caller, params.meetingId, params.receipt)),
);

export const createPetition = httpRoute(r.createPetition, async ({ caller, params, body }) =>
  json(201, await meetings.createPetition(caller, params.areaId, body, now()), {
    location: `/petitions/${body.petitionId}`,
  }),
);
export const listPetitions = httpRoute(r.listPetitions, async ({ caller, params, page: paging }) => {
  const page = await meetings.petitionsOfArea(caller, params.areaId, paging);
  return json(200, { items: page.items, nextCursor: paging.next(page.lastKey) });
});
export const getPetition = httpRoute(r.getPetition, async ({ caller, params }) =>
  json(200, await meetings.readPetition(caller, params.petitionId)),
);
export const signPetition = httpRoute(r.signPetition, async ({ caller, params }) =>
  json(201, await meetings.signPetition(caller, params.petitionId, now())),
);

/** The handler of every function serving this feature's routes (see routeDispatcher). */
export const dispatch = routeDispatcher([r], handlers);
