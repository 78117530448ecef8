/**
 * The meetings feature's routes that read a whole meeting's ballots — live turnout, the close (a
 * backstop to the schedule), the recount, receipts' proofs — on a function with more time and memory.
 */
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import * as tallies from './close.js';
import { meetingsRoutes as r } from './routes.js';
import * as meetings from './service.js';

const now = () => new Date().toISOString();

export const getTurnout = httpRoute(r.getTurnout, async ({ caller, params }) =>
  json(200, await tallies.turnout(caller, params.meetingId)),
);
export const closeMeeting = httpRoute(r.closeMeeting, async ({ caller, params }) => {
  const meeting = await meetings.loadMeeting(caller, params.meetingId);
  return json(200, await tallies.closeVoting(meeting.subDistrictId, meeting.meetingId, now()));
});
export const recount = httpRoute(r.recount, async ({ caller, params, query, event }) =>
  json(
    200,
    await tallies.recount(caller, params.meetingId, query.reason, event.requestContext.requestId, now()),
  ),
);
export const getProof = httpRoute(r.getProof, async ({ caller, params }) =>
  json(200, await tallies.proofOf(caller, params.meetingId, params.receipt)),
);

/** The handler of the functions serving this module's routes (see routeDispatcher). */
export const dispatch = routeDispatcher(r, 'meetings/tally.handler.ts', {
  getTurnout,
  closeMeeting,
  recount,
  getProof,
});
