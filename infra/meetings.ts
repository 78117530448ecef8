import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { meetingsRoutes } from '../functions/meetings/routes.js';
import type { Api } from './api.js';
import type { CivicFunction, FunctionDefaults } from './civic-function.js';
import { acknowledgeWildcards } from './nag.js';
import { featureTimers } from './timers.js';

/**
 * Feature `meetings`: owners' general meetings — notices, the frozen voter roll, electronic, proxy and
 * paper ballots, the scheduled close and tally, receipts and their Merkle root, petitions.
 *
 * A meeting's opening and close are EventBridge Scheduler one-time schedules invoking the timer
 * function; the tally reads every ballot of a meeting, so that function has minutes and memory. The
 * functions that publish a result tell waiting workflows through Step Functions task tokens.
 */
export class Meetings extends Construct {
  constructor(scope: Construct, id: string, props: { api: Api; defaults: FunctionDefaults }) {
    super(scope, id);
    const { api, defaults } = props;
    const timers = featureTimers(this, {
      name: 'meeting-timers',
      entry: 'meetings/timers.handler.ts',
      description:
        'EventBridge Scheduler target: a meeting opens (the roll is frozen) and closes (the tally)',
      defaults,
      tableAccess: 'read-write',
      timeout: Duration.minutes(5),
      memorySize: 1024,
    });
    const routeFunctions = api.addCatalogue(this, meetingsRoutes, defaults);
    // Every function of the feature shares the service module, which reads the timer target at cold start.
    for (const fn of [timers.target, ...routeFunctions.values()]) timers.configure(fn);

    const { partition, region, account } = Stack.of(this);
    const stateMachines = `arn:${partition}:states:${region}:${account}:stateMachine:*`;
    // Noticing a meeting schedules its timers; closing it (the timer, or the backstop route) answers tokens.
    const writers = [routeFunctions.get('read-write'), routeFunctions.get('tally'), timers.target].filter(
      (fn): fn is CivicFunction => fn !== undefined,
    );
    for (const fn of writers) {
      timers.grantScheduling(
        fn,
        "A meeting's opening and close are schedules named at run time, in the default group only.",
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
          resources: [stateMachines],
        }),
      );
      acknowledgeWildcards(
        fn,
        [stateMachines],
        "A matter's task token may come from any of the account's workflows that open one (the area merger's, and later ones).",
      );
    }
  }
}
