/**
 * Timers as EventBridge Scheduler one-time schedules that invoke a feature's timer function with an event
 * at a time (UTC). A timer is named by the caller from what it is for, so creating it twice creates it
 * once and a timer can be cancelled by name; the target must still be idempotent, since a schedule may
 * fire after its cause has moved on. Each feature passes its own target (from its environment), and the
 * Scheduler client is created once per cold start, only in the bundles that import this module.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
import { onFirstUse } from './clients.js';

const scheduler = onFirstUse(() => new SchedulerClient({}));

export interface TimerTarget {
  /** The function the schedule invokes. */
  functionArn: string;
  /** The role EventBridge Scheduler assumes to invoke it. */
  roleArn: string;
  /** Schedule group; `default` unless the stack says otherwise. */
  group?: string;
}

export interface Timers<E> {
  /** Creates the one-time schedule `name` firing `event` at `at`; an existing one of that name is kept. */
  schedule(name: string, at: string, event: E): Promise<void>;
  /** Deletes the schedule `name`; one that already fired or never existed is no error. */
  cancel(name: string): Promise<void>;
}

/** The `at()` expression of a time: whole seconds, rounded up, so that a timer never fires early. */
export const atExpression = (at: string): string =>
  `at(${new Date(Math.ceil(new Date(at).getTime() / 1000) * 1000).toISOString().slice(0, 19)})`;

export const timersFor = <E>(target: TimerTarget): Timers<E> => {
  const group = target.group ?? 'default';
  return {
    schedule: async (name, at, event) => {
      try {
        await scheduler().send(
          new CreateScheduleCommand({
            Name: name,
            GroupName: group,
            ScheduleExpression: atExpression(at),
            ScheduleExpressionTimezone: 'UTC',
            FlexibleTimeWindow: { Mode: 'OFF' },
            ActionAfterCompletion: 'DELETE',
            Target: { Arn: target.functionArn, RoleArn: target.roleArn, Input: JSON.stringify(event) },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConflictException)) throw error;
      }
    },
    cancel: async (name) => {
      try {
        await scheduler().send(new DeleteScheduleCommand({ Name: name, GroupName: group }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
    },
  };
};
