/**
 * The violations feature's read routes (telemetry, the command centre's lists and statistics, the
 * scenarios a compound runs); each export is one route of routes.ts. Apart from the write routes, so
 * that these functions' bundles carry none of the loop's Scheduler and IoT data-plane clients.
 */
import { loadVisible } from '../registry/service.js';
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import type { Violation } from './engine.js';
import type { WorkOrder } from './loop.js';
import { violationsRoutes as r } from './routes.js';
import { violationStats as statsOf, violationStatsBy } from './stats.js';
import { listViolations as queryViolations } from './store.js';
import { listRejectedTelemetry, listTelemetry } from './telemetry.handler.js';
import { loadViolation, present } from './views.js';
import { effectiveScenarios } from './watch.js';

export { listRejectedTelemetry, listTelemetry };

export const listViolations = httpRoute(r.listViolations, async ({ caller, query, page: paging }) => {
  const page = await queryViolations<Violation, WorkOrder>(caller.subDistrictId as string, {
    since: query.since,
    limit: paging.limit,
    startKey: paging.startKey,
  });
  const items = page.items
    .filter((item) => (query.compoundId ? item.compoundId === query.compoundId : true))
    .filter((item) => (query.status ? item.violation.status === query.status : true))
    .map(present);
  return json(200, { items, nextCursor: paging.next(page.lastKey) });
});

export const getViolation = httpRoute(r.getViolation, async ({ caller, params }) =>
  json(200, present(await loadViolation(caller, params.violationId))),
);

export const listScenarios = httpRoute(r.listScenarios, async ({ caller, params }) => {
  const compound = await loadVisible(caller, 'compound', params.compoundId);
  return json(200, { items: await effectiveScenarios(compound.subDistrictId, compound.id) });
});

/** Violations opened in [from, to), filtered, aggregated for the command centre. */
export const violationStats = httpRoute(r.violationStats, async ({ caller, query }) => {
  const to = query.to ?? new Date().toISOString();
  const violations: Violation[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    // Changed since `from` covers everything opened since then; the filter below keeps those opened in range.
    const page = await queryViolations<Violation, WorkOrder>(caller.subDistrictId as string, {
      since: query.from,
      limit: 100,
      startKey,
    });
    violations.push(...page.items.map((item) => item.violation));
    startKey = page.lastKey;
  } while (startKey !== undefined);
  const selected = violations.filter(
    (v) =>
      v.openedAt >= query.from &&
      v.openedAt < to &&
      (query.compoundId === undefined || v.compoundId === query.compoundId) &&
      (query.companyId === undefined || v.companyId === query.companyId) &&
      (query.scenarioId === undefined || v.scenarioId === query.scenarioId),
  );
  return json(200, {
    from: query.from,
    to,
    ...statsOf(selected),
    ...(query.groupBy === undefined
      ? {}
      : { groupBy: query.groupBy, groups: violationStatsBy(selected, query.groupBy) }),
  });
});

/** The handler of the functions serving this module's routes (see routeDispatcher). */
export const dispatch = routeDispatcher(r, 'violations/read.handler.ts', {
  listTelemetry,
  listRejectedTelemetry,
  listViolations,
  getViolation,
  listScenarios,
  violationStats,
});
