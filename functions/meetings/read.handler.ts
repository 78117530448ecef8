/**
 * The meetings feature's read routes: rules, meetings, eligibility, the roll, one's own ballots, the
 * record of named reads, results, petitions. Each export is one route of routes.ts.
 */
import { BadRequestError } from '../shared/errors.js';
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import { meetingsRoutes as r } from './routes.js';
import * as meetings from './service.js';
import { SHARDS } from './store.js';

const _now = () => new Date().toISOString();

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

export const getMeetingRules = httpRoute(r.getMeetingRules, async ({ caller, params }) =>
  json(200, await meetings.readRules(caller, params.areaId)),
);
export const listMeetings = httpRoute(r.listMeetings, async ({ caller, params, page: paging }) => {
  const page = await meetings.meetingsOfArea(caller, params.areaId, paging);
  return json(200, { items: page.items.map(meetings.presentMeeting), nextCursor: paging.next(page.lastKey) });
});
export const getEligibility = httpRoute(r.getEligibility, async ({ caller, params }) =>
  json(200, await meetings.eligibility(caller, params.meetingId)),
);
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
export const listMyBallots = httpRoute(r.listMyBallots, async ({ caller, params }) =>
  json(200, await meetings.myBallots(caller, params.meetingId)),
);
export const listBallotReads = httpRoute(r.listBallotReads, async ({ caller, params }) =>
  json(200, await meetings.ballotReads(caller, params.meetingId)),
);
export const getResult = httpRoute(r.getResult, async ({ caller, params }) =>
  json(200, await meetings.publishedResult(caller, params.meetingId)),
);
export const listPetitions = httpRoute(r.listPetitions, async ({ caller, params, page: paging }) => {
  const page = await meetings.petitionsOfArea(caller, params.areaId, paging);
  return json(200, { items: page.items, nextCursor: paging.next(page.lastKey) });
});
export const getPetition = httpRoute(r.getPetition, async ({ caller, params }) =>
  json(200, await meetings.readPetition(caller, params.petitionId)),
);

/** The handler of the functions serving this module's routes (see routeDispatcher). */
export const dispatch = routeDispatcher(r, 'meetings/read.handler.ts', {
  getMeetingRules,
  listMeetings,
  getEligibility,
  listRoll,
  listMyBallots,
  listBallotReads,
  getResult,
  listPetitions,
  getPetition,
});
