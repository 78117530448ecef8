import { Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { meetingsRoutes } from '../functions/meetings/routes.js';
import type { Api } from './api.js';
import type { FunctionDefaults } from './civic-function.js';
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
    const group = (name: string) => {
      const fn = routeFunctions.get(name);
      if (fn === undefined) throw new Error(`The meetings catalogue has no ${name} group`);
      return fn;
    };
    // Noticing a meeting (notice.ts, on the read-write routes) schedules its opening and close.
    const noticing = group('read-write');
    timers.configure(noticing);
    timers.grantScheduling(
      noticing,
      "A meeting's opening and close are schedules named at run time, in the default group only.",
    );
    // Closing it (close.ts: the timer, or the backstop route) answers the workflows waiting on its matters.
    const { partition, region, account } = Stack.of(this);
    const stateMachines = `arn:${partition}:states:${region}:${account}:stateMachine:*`;
    for (const fn of [group('tally'), timers.target]) {
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
