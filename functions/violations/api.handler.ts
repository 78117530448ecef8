/**
 * The violations feature's write routes (work-order reports, an inspector's decisions, scenario tuning);
 * each export is one route of routes.ts. The read routes are in read.handler.ts.
 */
import { loadVisible } from '../registry/service.js';
import { BadRequestError, NotFoundError } from '../shared/errors.js';
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import * as handlers from './api.handler.js';
import { close, type Violation, verify } from './engine.js';
import { onWorkOrderReport, updateViolation, type WorkOrder } from './loop.js';
import { violationsRoutes as r } from './routes.js';
import { overrideSchemaFor, SCENARIOS } from './scenarios.js';
import { getOverrides, putOverride, type StoredViolation } from './store.js';
import { loadViolation, present } from './views.js';
import { effectiveScenarios } from './watch.js';

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

/** The handler of the functions serving this module's routes (see routeDispatcher). */
export const dispatch = routeDispatcher(r, 'violations/api.handler.ts', handlers);
