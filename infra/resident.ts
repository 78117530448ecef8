import { Construct } from 'constructs';
import { residentRoutes } from '../functions/resident/routes.js';
import type { Api } from './api.js';
import type { FunctionDefaults } from './civic-function.js';
import { featureTimers } from './timers.js';
import type { Violations } from './violations.js';

/**
 * Feature `resident`: the resident code (住户守则) — covenant versions adopted by each area's general
 * meeting, enforcement ladders as data, cases from the sensors, the fee ledger and staff, notices with
 * delivery proof, and deadlines on EventBridge Scheduler timers that move a case up its ladder.
 */
export class Resident extends Construct {
  constructor(
    scope: Construct,
    id: string,
    props: { api: Api; defaults: FunctionDefaults; violations: Violations },
  ) {
    super(scope, id);
    const { api, defaults } = props;
    const timers = featureTimers(this, {
      name: 'resident-timers',
      entry: 'resident/timers.handler.ts',
      description:
        "EventBridge Scheduler target: a case step whose deadline passed moves up its ladder; a sensor's violation becomes a case",
      defaults,
      tableAccess: 'read-write',
    });
    const routeFunctions = api.addCatalogue(this, residentRoutes, defaults);
    // Recording a notice (on the read-write routes) schedules its step's deadline.
    const acting = routeFunctions.get('read-write');
    if (acting === undefined) throw new Error('The resident catalogue has no read-write group');
    timers.configure(acting);
    timers.grantScheduling(
      acting,
      "A case step's deadline is a schedule named at run time, in the default group only.",
    );
    // The violations loop (ingest, and its timers' absence sweep) asks for the case of a violation that
    // is a resident-code case too: a schedule on this feature's timer function.
    for (const fn of [props.violations.ingest, props.violations.timers]) {
      timers.configure(fn, 'RESIDENT_');
      timers.grantScheduling(
        fn,
        "A violation's resident-code case is opened by a schedule named at run time.",
      );
    }
  }
}
