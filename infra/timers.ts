import { ArnFormat, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { CivicFunction, type CivicFunctionProps } from './civic-function.js';
import { acknowledgeWildcards } from './nag.js';

/** What a feature's functions need to set timers that invoke its timer function (functions/shared/timers.ts). */
export interface FeatureTimers {
  /** The function the feature's one-time schedules invoke. */
  target: CivicFunction;
  /**
   * Gives `fn` the target (TIMER_FUNCTION_ARN, SCHEDULER_ROLE_ARN), which the feature's modules read;
   * another feature's function gets them under a prefix of its own (`RESIDENT_TIMER_FUNCTION_ARN`, …).
   */
  configure(fn: CivicFunction, prefix?: string): void;
  /** Lets `fn` create and delete schedules of the default group and pass the Scheduler its role. */
  grantScheduling(fn: CivicFunction, reason: string): void;
}

/**
 * A feature's timer target: its timer function, named so that the functions that schedule timers can be
 * told its ARN without a dependency cycle, and the role EventBridge Scheduler assumes to invoke it. The
 * function and the role are created in `scope` as `Timers` and `SchedulerRole`.
 */
export const featureTimers = (
  scope: Construct,
  props: Omit<CivicFunctionProps, 'functionName'> & { name: string },
): FeatureTimers => {
  const stack = Stack.of(scope);
  const { name, ...functionProps } = props;
  const functionName = `${stack.stackName}-${name}`;
  const target = new CivicFunction(scope, 'Timers', { ...functionProps, functionName });
  const role = new Role(scope, 'SchedulerRole', {
    assumedBy: new ServicePrincipal('scheduler.amazonaws.com'),
  });
  target.grantInvoke(role);
  acknowledgeWildcards(
    role,
    [`${target.functionArn}:*`],
    'grantInvoke adds the function ARN with :* so the scheduler may invoke its versions; it is one function.',
  );
  const functionArn = stack.formatArn({
    service: 'lambda',
    resource: 'function',
    resourceName: functionName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const schedules = `arn:${stack.partition}:scheduler:${stack.region}:${stack.account}:schedule/default/*`;
  return {
    target,
    configure: (fn, prefix = '') => {
      fn.addEnvironment(`${prefix}TIMER_FUNCTION_ARN`, functionArn);
      fn.addEnvironment(`${prefix}SCHEDULER_ROLE_ARN`, role.roleArn);
    },
    grantScheduling: (fn, reason) => {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'],
          resources: [schedules],
        }),
      );
      fn.addToRolePolicy(new PolicyStatement({ actions: ['iam:PassRole'], resources: [role.roleArn] }));
      acknowledgeWildcards(fn, [schedules], reason);
    },
  };
};
