/**
 * The merger's routes: each export is one route of routes.ts; the use cases are in service.ts, the
 * rules in domain.ts.
 */
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import { mergerRoutes as r } from './routes.js';
import * as merger from './service.js';
import { listProposals as listStored, proposalsOfAreas } from './store.js';

const now = () => new Date().toISOString();

export const createProposal = httpRoute(r.createProposal, async ({ caller, body }) => {
  const proposal = await merger.createProposal(caller, body, now());
  return json(201, merger.present(proposal), { location: `/proposals/${proposal.proposalId}` });
});
/**
 * The office, the bureau and evaluators page through the sub-district's proposals; a committee member
 * gets every proposal naming one of its areas in one page (a handful), read through the areas' own
 * index, so no page comes back empty for filtering.
 */
export const listProposals = httpRoute(r.listProposals, async ({ caller, page }) => {
  if (caller.subDistrictId === undefined) return json(200, { items: [] });
  if (
    !caller.roles.some(
      (role) => role === 'street-office' || role === 'housing-bureau' || role === 'evaluator',
    )
  ) {
    const own = await proposalsOfAreas(caller.subDistrictId, caller.areaIds);
    return json(200, {
      items: own.filter((proposal) => merger.canSee(caller, proposal)).map(merger.present),
    });
  }
  const found = await listStored(caller.subDistrictId, { limit: page.limit, startKey: page.startKey });
  return json(200, { items: found.items.map(merger.present), nextCursor: page.next(found.lastKey) });
});
export const getProposal = httpRoute(r.getProposal, async ({ caller, params }) =>
  json(200, merger.present(await merger.loadProposal(caller, params.proposalId))),
);
export const getTimeline = httpRoute(r.getTimeline, async ({ caller, params }) =>
  json(200, await merger.timeline(caller, params.proposalId)),
);
export const uploadSurvey = httpRoute(r.uploadSurvey, async ({ caller, params, body }) =>
  json(201, await merger.uploadSurvey(caller, params.proposalId, params.areaId, body, now())),
);
export const recordParticipation = httpRoute(r.recordParticipation, async ({ caller, params, body }) =>
  json(201, await merger.recordParticipation(caller, params.proposalId, params.areaId, body, now())),
);
export const decide = httpRoute(r.decide, async ({ caller, params, body }) =>
  json(201, merger.present(await merger.decide(caller, params.proposalId, body, now()))),
);
export const cancelProposal = httpRoute(r.cancelProposal, async ({ caller, params, body }) =>
  json(200, merger.present(await merger.cancelProposal(caller, params.proposalId, body.reason, now()))),
);

/** The handler of the functions serving this module's routes (see routeDispatcher). */
export const dispatch = routeDispatcher(r, 'merger/api.handler.ts', {
  createProposal,
  listProposals,
  getProposal,
  getTimeline,
  uploadSurvey,
  recordParticipation,
  decide,
  cancelProposal,
});
