import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { meetingsRoutes } from '../functions/meetings/routes.js';
import type { Api } from './api.js';
import { CivicFunction, type FunctionDefaults } from './civic-function.js';
import { acknowledgeWildcards } from './nag.js';

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
    const stack = Stack.of(this);
    // Named, so that the functions that schedule timers can be told its ARN without a dependency cycle.
    const timerFunctionName = `${stack.stackName}-meeting-timers`;
    const timers = new CivicFunction(this, 'Timers', {
      entry: 'meetings/timers.handler.ts',
      description:
        'EventBridge Scheduler target: a meeting opens (the roll is frozen) and closes (the tally)',
      defaults,
      tableAccess: 'read-write',
      functionName: timerFunctionName,
      timeout: Duration.minutes(5),
      memorySize: 1024,
    });
    const schedulerRole = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com'),
    });
    timers.grantInvoke(schedulerRole);
    const timerFunctionArn = stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: timerFunctionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const routeFunctions = api.addCatalogue(this, meetingsRoutes, defaults);
    // Every function of the feature shares the service module, which reads these at cold start.
    for (const fn of [timers, ...routeFunctions.values()]) {
      fn.addEnvironment('TIMER_FUNCTION_ARN', timerFunctionArn);
      fn.addEnvironment('SCHEDULER_ROLE_ARN', schedulerRole.roleArn);
    }

    const { partition, region, account } = stack;
    const schedules = `arn:${partition}:scheduler:${region}:${account}:schedule/default/*`;
    const stateMachines = `arn:${partition}:states:${region}:${account}:stateMachine:*`;
    // Noticing a meeting schedules its timers; closing it (the timer, or the backstop route) answers tokens.
    const writers = [routeFunctions.get('read-write'), routeFunctions.get('tally'), timers].filter(
      (fn): fn is CivicFunction => fn !== undefined,
    );
    for (const fn of writers) {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
          resources: [schedules],
        }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({ actions: ['iam:PassRole'], resources: [schedulerRole.roleArn] }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
          resources: [stateMachines],
        }),
      );
      acknowledgeWildcards(
        fn,
        [schedules, stateMachines],
        "A meeting's schedules are named at run time (default group only); a matter's task token may come from any of the account's workflows that open one.",
      );
    }
    acknowledgeWildcards(
      schedulerRole,
      [`${timers.functionArn}:*`],
      'grantInvoke adds the function ARN with :* so the scheduler may invoke its versions; it is one function.',
    );
  }
}
