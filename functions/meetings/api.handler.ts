/**
 * The meetings feature's write routes: rules, notices and matters, deliveries, proxies, ballots, named
 * reads (recorded), petitions. Each export is one route of routes.ts; the use cases are in service.ts
 * and notice.ts, the rules in domain.ts.
 */
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import { createMeeting as noticeMeeting } from './notice.js';
import { meetingsRoutes as r } from './routes.js';
import * as meetings from './service.js';

const now = () => new Date().toISOString();

export const putMeetingRules = httpRoute(r.putMeetingRules, async ({ caller, params, body }) =>
  json(200, await meetings.setRules(caller, params.areaId, body)),
);
export const createMeeting = httpRoute(r.createMeeting, async ({ caller, params, body }) => {
  const meeting = await noticeMeeting(caller, params.areaId, body, now());
  return json(201, meetings.presentMeeting(meeting), { location: `/meetings/${meeting.meetingId}` });
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
export const readNamedBallots = httpRoute(r.readNamedBallots, async ({ caller, params, query, event }) =>
  json(
    200,
    await meetings.readNamedBallots(caller, params.meetingId, query, event.requestContext.requestId, now()),
  ),
);
export const createPetition = httpRoute(r.createPetition, async ({ caller, params, body }) =>
  json(201, await meetings.createPetition(caller, params.areaId, body, now()), {
    location: `/petitions/${body.petitionId}`,
  }),
);
export const signPetition = httpRoute(r.signPetition, async ({ caller, params }) =>
  json(201, await meetings.signPetition(caller, params.petitionId, now())),
);

/** The handler of the functions serving this module's routes (see routeDispatcher). */
export const dispatch = routeDispatcher(r, 'meetings/api.handler.ts', {
  putMeetingRules,
  createMeeting,
  getMeeting,
  addMatter,
  recordDelivery,
  registerProxy,
  castBallot,
  enterPaperBallot,
  readNamedBallots,
  createPetition,
  signPetition,
});
