/**
 * The evaluation's routes: each export is one route of routes.ts; the use cases are in service.ts, the
 * rules in domain.ts, the printable report in report.ts.
 */
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import * as projects from './projects.js';
import { renderReportHtml } from './report.js';
import { evaluationRoutes as r } from './routes.js';
import * as secretaries from './secretaries.js';
import * as evaluation from './service.js';

const now = () => new Date().toISOString();

export const createIndicatorSystem = httpRoute(r.createIndicatorSystem, async ({ caller, body }) =>
  json(201, await evaluation.createSystem(caller, body), {
    location: `/indicator-systems/${body.systemId}/versions/${body.version}`,
  }),
);
export const getIndicatorSystem = httpRoute(r.getIndicatorSystem, async ({ caller, params }) =>
  json(200, await evaluation.readSystem(caller, params.systemId, Number(params.version))),
);
export const createCycle = httpRoute(r.createCycle, async ({ caller, body }) =>
  json(201, await evaluation.createCycle(caller, body, now()), {
    location: `/evaluation-cycles/${body.cycleId}`,
  }),
);
export const getCycle = httpRoute(r.getCycle, async ({ caller, params }) =>
  json(200, await evaluation.readCycle(caller, params.cycleId)),
);
export const assignEvaluator = httpRoute(r.assignEvaluator, async ({ caller, params, body }) =>
  json(201, await evaluation.assign(caller, params.cycleId, body, now())),
);
export const submitScores = httpRoute(r.submitScores, async ({ caller, params, body }) =>
  json(200, await evaluation.submitSheet(caller, params.cycleId, params.committeeId, body, now())),
);
export const finalise = httpRoute(r.finalise, async ({ caller, params }) =>
  json(201, await evaluation.finalise(caller, params.cycleId, params.committeeId, now())),
);
export const getReport = httpRoute(r.getReport, async ({ caller, params, query, headers }) => {
  const report = await evaluation.reportOf(caller, params.cycleId, params.committeeId, now());
  const wantsHtml = query.format === 'html' || /\btext\/html\b/.test(headers.accept ?? '');
  return wantsHtml
    ? {
        statusCode: 200,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: renderReportHtml(report),
      }
    : json(200, report);
});
export const allocateFund = httpRoute(r.allocateFund, async ({ caller, params, body }) =>
  json(201, await evaluation.allocateFund(caller, params.cycleId, body, now())),
);
export const postDisclosure = httpRoute(r.postDisclosure, async ({ caller, params, body }) =>
  json(201, await evaluation.postDisclosure(caller, params.areaId, body, now())),
);

export const approveSecretaryPost = httpRoute(r.approveSecretaryPost, async ({ caller, params, body }) =>
  json(201, await secretaries.approvePost(caller, params.committeeId, body)),
);
export const hireSecretary = httpRoute(r.hireSecretary, async ({ caller, params, body }) =>
  json(201, await secretaries.hire(caller, params.committeeId, body, now())),
);
export const getSecretary = httpRoute(r.getSecretary, async ({ caller, params }) =>
  json(200, await secretaries.readSecretary(caller, params.committeeId, params.secretaryId)),
);
export const changeSecretaryPay = httpRoute(r.changeSecretaryPay, async ({ caller, params, body }) =>
  json(200, await secretaries.changePay(caller, params.committeeId, params.secretaryId, body.payFen)),
);
export const logSecretaryDuty = httpRoute(r.logSecretaryDuty, async ({ caller, params, body }) =>
  json(201, await secretaries.logDuty(caller, params.committeeId, params.secretaryId, body, now())),
);

export const proposeProject = httpRoute(r.proposeProject, async ({ caller, params, body }) =>
  json(201, await projects.proposeProject(caller, params.cycleId, params.committeeId, body, now())),
);
export const getProject = httpRoute(r.getProject, async ({ caller, params }) =>
  json(200, await projects.readProject(caller, params.cycleId, params.committeeId, params.projectId)),
);
export const approveProject = httpRoute(r.approveProject, async ({ caller, params }) =>
  json(
    201,
    await projects.approveProject(caller, params.cycleId, params.committeeId, params.projectId, now()),
  ),
);
export const recordSpending = httpRoute(r.recordSpending, async ({ caller, params, body }) =>
  json(
    201,
    await projects.recordSpending(caller, params.cycleId, params.committeeId, params.projectId, body, now()),
  ),
);

/** The handler of the functions serving this module's routes (see routeDispatcher). */
export const dispatch = routeDispatcher(r, 'evaluation/api.handler.ts', {
  createIndicatorSystem,
  getIndicatorSystem,
  createCycle,
  getCycle,
  assignEvaluator,
  submitScores,
  finalise,
  getReport,
  allocateFund,
  postDisclosure,
  approveSecretaryPost,
  hireSecretary,
  getSecretary,
  changeSecretaryPay,
  logSecretaryDuty,
  proposeProject,
  getProject,
  approveProject,
  recordSpending,
});
