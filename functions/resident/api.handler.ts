/**
 * The resident code's routes: each export is one route of routes.ts; the use cases are in service.ts,
 * the rules in domain.ts, the fee ledger's format in ledger.ts.
 */
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import { residentRoutes as r } from './routes.js';
import * as resident from './service.js';

const now = () => new Date().toISOString();

export const createCovenant = httpRoute(r.createCovenant, async ({ caller, body }) =>
  json(201, await resident.createCovenant(caller, body, now()), {
    location: `/covenants/${body.covenantId}/versions/${body.version}`,
  }),
);
export const getCovenant = httpRoute(r.getCovenant, async ({ caller, params }) =>
  json(200, await resident.readCovenant(caller, params.covenantId, Number(params.version))),
);
export const adoptCovenant = httpRoute(r.adoptCovenant, async ({ caller, params, body }) =>
  json(201, await resident.adoptCovenant(caller, params.areaId, body, now())),
);
export const getAreaCovenants = httpRoute(r.getAreaCovenants, async ({ caller, params }) =>
  json(200, await resident.areaCovenants(caller, params.areaId, now())),
);
export const getLadder = httpRoute(r.getLadder, async ({ caller, params }) =>
  json(200, await resident.readLadder(caller, params.areaId, params.caseType)),
);
export const tuneLadder = httpRoute(r.tuneLadder, async ({ caller, params, body }) =>
  json(200, await resident.tuneAreaLadder(caller, params.areaId, params.caseType, body, now())),
);
export const importFeeLedger = httpRoute(r.importFeeLedger, async ({ caller, params, text }) =>
  json(200, await resident.importFeeLedger(caller, params.areaId, text as string, now())),
);
export const openCase = httpRoute(r.openCase, async ({ caller, params, body }) => {
  const opened = await resident.openStaffCase(caller, params.areaId, body, now());
  return json(201, opened, { location: `/areas/${params.areaId}/resident-cases/${opened.caseId}` });
});
export const listCases = httpRoute(r.listCases, async ({ caller, params, query }) =>
  json(200, { items: await resident.listCases(caller, params.areaId, query) }),
);
export const getCase = httpRoute(r.getCase, async ({ caller, params }) =>
  json(200, await resident.readCase(caller, params.areaId, params.caseId)),
);
export const recordNotice = httpRoute(r.recordNotice, async ({ caller, params, body }) =>
  json(201, await resident.recordCaseNotice(caller, params.areaId, params.caseId, body, now())),
);
export const remedyCase = httpRoute(r.remedyCase, async ({ caller, params, body }) =>
  json(200, await resident.remedyCase(caller, params.areaId, params.caseId, body, now())),
);
export const getStatistics = httpRoute(r.getStatistics, async ({ caller, params }) =>
  json(200, await resident.areaStatistics(caller, params.areaId)),
);

const handlers = {
  createCovenant,
  getCovenant,
  adoptCovenant,
  getAreaCovenants,
  getLadder,
  tuneLadder,
  importFeeLedger,
  openCase,
  listCases,
  getCase,
  recordNotice,
  remedyCase,
  getStatistics,
};

/** The handler of every function serving the resident code's routes (see routeDispatcher). */
export const dispatch = routeDispatcher(r, 'resident/api.handler.ts', handlers);
