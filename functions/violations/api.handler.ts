/** The violations feature's HTTP handlers (one bundle); each export is one route of routes.ts. */
import { loadVisible } from '../registry/service.js';
import type { Caller } from '../shared/auth.js';
import { BadRequestError, NotFoundError } from '../shared/errors.js';
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import * as handlers from './api.handler.js';
import { close, type Violation, verify } from './engine.js';
import { onWorkOrderReport, updateViolation, type WorkOrder } from './loop.js';
import { violationsRoutes as r } from './routes.js';
import { overrideSchemaFor, SCENARIOS } from './scenarios.js';
import { violationStats as statsOf, violationStatsBy } from './stats.js';
import {
  getOverrides,
  putOverride,
  listViolations as queryViolations,
  getViolation as readViolation,
  type StoredViolation,
} from './store.js';
import { effectiveScenarios } from './watch.js';

export { listRejectedTelemetry, listTelemetry } from './telemetry.handler.js';

const present = (stored: StoredViolation<Violation, WorkOrder>) => ({
  ...stored.violation,
  subDistrictId: stored.subDistrictId,
  workOrders: stored.workOrders,
  version: stored.version,
});

/** A violation the caller may see: its sub-district, and for company staff only work orders sent to them. */
const loadViolation = async (
  caller: Caller,
  violationId: string,
): Promise<StoredViolation<Violation, WorkOrder>> => {
  const stored = await readViolation<Violation, WorkOrder>(violationId);
  if (stored === undefined || stored.subDistrictId !== caller.subDistrictId)
    throw new NotFoundError(`No violation ${violationId}.`);
  if (!caller.roles.includes('street-office') && !caller.compoundIds.includes(stored.compoundId)) {
    throw new NotFoundError(`No violation ${violationId}.`);
  }
  return stored;
};

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

export const reportWorkOrder = httpRoute(r.reportWorkOrder, async ({ caller, params, body }) => {
  const violationId = params.workOrderId.split('.')[0] as string;
  const stored = await loadViolation(caller, violationId);
  if (!stored.workOrders.some((order) => order.workOrderId === params.workOrderId))
    throw new NotFoundError(`No work order ${params.workOrderId}.`);
  const updated = await onWorkOrderReport(
    {
      workOrderId: params.workOrderId,
      kind: params.report === 'acknowledge' ? 'ack' : 'handled',
      actor: `user:${caller.sub}`,
      note: body.note,
    },
    new Date().toISOString(),
  );
  if (updated === undefined) throw new NotFoundError(`No violation ${violationId}.`);
  return json(200, present(updated as StoredViolation<Violation, WorkOrder>));
});

export const decideViolation = httpRoute(r.verifyViolation, async ({ caller, params }) => {
  await loadViolation(caller, params.violationId);
  const now = new Date().toISOString();
  const actor = `user:${caller.sub}`;
  const updated = await updateViolation(
    params.violationId,
    (violation) =>
      params.decision === 'verify' ? verify(violation, actor, now) : close(violation, actor, now),
    now,
  );
  return json(200, present(updated as StoredViolation<Violation, WorkOrder>));
});

export const putScenarioOverride = httpRoute(r.putScenarioOverride, async ({ caller, params, body }) => {
  const compound = await loadVisible(caller, 'compound', params.compoundId);
  const base = SCENARIOS.find((scenario) => scenario.scenarioId === params.scenarioId);
  if (base === undefined) throw new NotFoundError(`No scenario ${params.scenarioId}.`);
  const checked = overrideSchemaFor(base).safeParse(body);
  if (!checked.success) {
    throw new BadRequestError(
      'The override is invalid.',
      checked.error.issues.map((issue) => ({
        pointer: `/body/${issue.path.join('/')}`,
        detail: issue.message,
      })),
    );
  }
  const current = (await getOverrides(compound.subDistrictId, compound.id)).get(base.scenarioId);
  await putOverride(
    compound.subDistrictId,
    compound.id,
    base.scenarioId,
    checked.data,
    current?.version ?? 0,
  );
  const effective = (await effectiveScenarios(compound.subDistrictId, compound.id)).find(
    (scenario) => scenario.scenarioId === base.scenarioId,
  );
  return json(200, effective);
});

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

/** The handler of every function serving this feature's routes (see routeDispatcher). */
export const dispatch = routeDispatcher([r], handlers);
