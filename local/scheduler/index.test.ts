import {
  ConflictException,
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalClock } from '../clock.js';
import { ResourceNotFoundError } from '../lambda/service.js';
import { functionNameOf } from '../template.js';
import { nextFire, parseSchedulerExpression, wallClock } from './expression.js';
import { type LocalScheduler, startScheduler } from './index.js';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:CivicCell-ViolationTimer';
const ROLE_ARN = 'arn:aws:iam::000000000000:role/CivicCell-SchedulerRole';

/** A stand-in for the Lambda service that records async invocations (Lambda is not under test here). */
const fakeLambda = () => {
  const calls: { arn: string; event: unknown }[] = [];
  return {
    calls,
    invokeAsync(arn: string, event: unknown) {
      calls.push({ arn, event });
    },
    spec(nameOrArn: string) {
      if (functionNameOf(nameOrArn) !== 'CivicCell-ViolationTimer')
        throw new ResourceNotFoundError(`Function not found: ${nameOrArn}`);
      return {} as never;
    },
  };
};

/** The at() expression at least `ms` from `now`, rounded up to the second, in UTC (as the product writes it). */
const atIn = (ms: number, now = Date.now()) =>
  `at(${new Date(Math.ceil((now + ms) / 1000) * 1000).toISOString().slice(0, 19)})`;

const waitFor = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('local EventBridge Scheduler API', () => {
  let lambda: ReturnType<typeof fakeLambda>;
  let scheduler: LocalScheduler;
  let client: SchedulerClient;

  const oneTime = (
    name: string,
    overrides: Partial<CreateScheduleCommandInput> = {},
  ): CreateScheduleCommandInput => ({
    Name: name,
    GroupName: 'violations',
    ScheduleExpression: atIn(1_000),
    ScheduleExpressionTimezone: 'UTC',
    FlexibleTimeWindow: { Mode: 'OFF' },
    ActionAfterCompletion: 'DELETE',
    Target: { Arn: FUNCTION_ARN, RoleArn: ROLE_ARN, Input: JSON.stringify({ violationId: name }) },
    ...overrides,
  });

  beforeEach(async () => {
    lambda = fakeLambda();
    scheduler = await startScheduler({
      port: 0,
      host: '127.0.0.1',
      lambda,
      groups: ['violations'],
      timeScale: 0.001,
    });
    client = new SchedulerClient({
      endpoint: scheduler.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterEach(async () => {
    client.destroy();
    await scheduler.close();
  });

  it('fires a one-time schedule once with the parsed Input, then deletes it', async () => {
    const created = await client.send(new CreateScheduleCommand(oneTime('grace-v1')));
    expect(created.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/violations/grace-v1');
    const got = await client.send(new GetScheduleCommand({ Name: 'grace-v1', GroupName: 'violations' }));
    expect(got).toMatchObject({
      Name: 'grace-v1',
      GroupName: 'violations',
      State: 'ENABLED',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: FUNCTION_ARN, RoleArn: ROLE_ARN },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
    expect(scheduler.pending()).toBe(1);

    await waitFor(() => lambda.calls.length > 0);
    expect(lambda.calls).toEqual([{ arn: FUNCTION_ARN, event: { violationId: 'grace-v1' } }]);
    expect(scheduler.pending()).toBe(0);
    await expect(
      client.send(new GetScheduleCommand({ Name: 'grace-v1', GroupName: 'violations' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    // Cancelling a timer that already fired: the error callers ignore.
    await expect(
      client.send(new DeleteScheduleCommand({ Name: 'grace-v1', GroupName: 'violations' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await sleep(300);
    expect(lambda.calls).toHaveLength(1);
  });

  it('never fires a schedule deleted before its time', async () => {
    await client.send(new CreateScheduleCommand(oneTime('grace-v2', { ScheduleExpression: atIn(2_000) })));
    await client.send(new DeleteScheduleCommand({ Name: 'grace-v2', GroupName: 'violations' }));
    expect(scheduler.pending()).toBe(0);
    await sleep(2_200);
    expect(lambda.calls).toEqual([]);
  });

  it('fires an at() time already past immediately, and keeps it with ActionAfterCompletion NONE', async () => {
    await client.send(
      new CreateScheduleCommand(
        oneTime('late', { ScheduleExpression: atIn(-60_000), ActionAfterCompletion: 'NONE' }),
      ),
    );
    await waitFor(() => lambda.calls.length > 0);
    const got = await client.send(new GetScheduleCommand({ Name: 'late', GroupName: 'violations' }));
    expect(got.ActionAfterCompletion).toBe('NONE');
    expect(scheduler.pending()).toBe(0);
  });

  it('substitutes context attributes in the Input', async () => {
    await client.send(
      new CreateScheduleCommand(
        oneTime('ctx', {
          ScheduleExpression: 'at(2020-01-02T03:04:05)',
          Target: {
            Arn: FUNCTION_ARN,
            RoleArn: ROLE_ARN,
            Input: '{"arn":"<aws.scheduler.schedule-arn>","at":"<aws.scheduler.scheduled-time>"}',
          },
        }),
      ),
    );
    await waitFor(() => lambda.calls.length > 0);
    expect(lambda.calls[0]?.event).toEqual({
      arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/violations/ctx',
      at: '2020-01-02T03:04:05Z',
    });
  });

  it('refuses a second schedule of the same name with ConflictException', async () => {
    await client.send(new CreateScheduleCommand(oneTime('dup', { ScheduleExpression: atIn(3_600_000) })));
    const error = await client
      .send(new CreateScheduleCommand(oneTime('dup', { ScheduleExpression: atIn(3_600_000) })))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConflictException);
    expect((error as Error).message).toMatch(/already exists/);
    // The same name in another group is another schedule.
    await client.send(new CreateScheduleCommand(oneTime('dup', { GroupName: 'default' })));
  });

  it.each([
    'at(2026-13-01T00:00:00)',
    'at(2026-11-26 19:30:05)',
    'rate(0 minutes)',
    'rate(5 fortnights)',
    'cron(0 12 * * ?)',
    'every day',
  ])('refuses %s with ValidationException', async (expression) => {
    await expect(
      client.send(new CreateScheduleCommand(oneTime('bad', { ScheduleExpression: expression }))),
    ).rejects.toBeInstanceOf(ValidationException);
    expect(scheduler.pending()).toBe(0);
  });

  it('validates names, groups, time zones and targets', async () => {
    const refused = (input: CreateScheduleCommandInput) =>
      client.send(new CreateScheduleCommand(input)).catch((caught: unknown) => caught);
    expect(await refused(oneTime('bad/name'))).toBeInstanceOf(ValidationException);
    expect(await refused(oneTime('x', { ScheduleExpressionTimezone: 'Mars/Olympus' }))).toBeInstanceOf(
      ValidationException,
    );
    expect(
      await refused(oneTime('x', { Target: { Arn: FUNCTION_ARN, RoleArn: ROLE_ARN, Input: 'not json' } })),
    ).toBeInstanceOf(ValidationException);
    expect(
      await refused(
        oneTime('x', {
          Target: { Arn: 'arn:aws:lambda:us-east-1:000000000000:function:Nope', RoleArn: ROLE_ARN },
        }),
      ),
    ).toBeInstanceOf(ValidationException);
    expect(await refused(oneTime('x', { GroupName: 'no-such-group' }))).toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('fires a rate schedule repeatedly until it is deleted', async () => {
    // timeScale 0.001: a minute lasts 60 ms.
    await client.send(
      new CreateScheduleCommand(
        oneTime('sweep', {
          ScheduleExpression: 'rate(1 minute)',
          Target: { Arn: FUNCTION_ARN, RoleArn: ROLE_ARN },
        }),
      ),
    );
    await waitFor(() => lambda.calls.length >= 3);
    expect(lambda.calls[0]?.event).toEqual({});
    await client.send(new DeleteScheduleCommand({ Name: 'sweep', GroupName: 'violations' }));
    const fired = lambda.calls.length;
    await sleep(300);
    expect(lambda.calls).toHaveLength(fired);
  });

  it('holds a DISABLED schedule, and UpdateSchedule re-arms it', async () => {
    await client.send(
      new CreateScheduleCommand(oneTime('held', { State: 'DISABLED', ScheduleExpression: atIn(200) })),
    );
    expect(scheduler.pending()).toBe(0);
    await sleep(500);
    expect(lambda.calls).toEqual([]);
    await client.send(
      new UpdateScheduleCommand({ ...oneTime('held'), State: 'ENABLED', ScheduleExpression: atIn(0) }),
    );
    await waitFor(() => lambda.calls.length > 0);
    expect(lambda.calls[0]?.event).toEqual({ violationId: 'held' });
    await expect(client.send(new UpdateScheduleCommand(oneTime('never-created')))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('lists schedules by group and name prefix, page by page', async () => {
    for (const name of ['v-1', 'v-2', 'v-3', 'other'])
      await client.send(new CreateScheduleCommand(oneTime(name, { ScheduleExpression: atIn(3_600_000) })));
    await client.send(
      new CreateScheduleCommand(
        oneTime('v-9', { GroupName: 'default', ScheduleExpression: atIn(3_600_000) }),
      ),
    );
    const first = await client.send(
      new ListSchedulesCommand({ GroupName: 'violations', NamePrefix: 'v-', MaxResults: 2 }),
    );
    expect(first.Schedules?.map((schedule) => schedule.Name)).toEqual(['v-1', 'v-2']);
    expect(first.Schedules?.[0]).toMatchObject({
      GroupName: 'violations',
      State: 'ENABLED',
      Target: { Arn: FUNCTION_ARN },
    });
    const second = await client.send(
      new ListSchedulesCommand({
        GroupName: 'violations',
        NamePrefix: 'v-',
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );
    expect(second.Schedules?.map((schedule) => schedule.Name)).toEqual(['v-3']);
    expect(second.NextToken).toBeUndefined();
    const all = await client.send(new ListSchedulesCommand({ NamePrefix: 'v-' }));
    expect(all.Schedules).toHaveLength(4);
  });

  it('close() cancels every timer', async () => {
    await client.send(new CreateScheduleCommand(oneTime('a', { ScheduleExpression: atIn(2_000) })));
    await client.send(
      new CreateScheduleCommand(
        oneTime('b', { ScheduleExpression: 'rate(1 minute)', StartDate: new Date(Date.now() + 1_000) }),
      ),
    );
    expect(scheduler.pending()).toBe(2);
    await scheduler.close();
    expect(scheduler.pending()).toBe(0);
    await sleep(2_200);
    expect(lambda.calls).toEqual([]);
  });
});

describe('local EventBridge Scheduler on the cloud clock', () => {
  const DAY_MS = 86_400_000;
  let lambda: ReturnType<typeof fakeLambda>;
  let clock: LocalClock;
  let scheduler: LocalScheduler;
  let client: SchedulerClient;

  beforeEach(async () => {
    lambda = fakeLambda();
    clock = new LocalClock();
    scheduler = await startScheduler({ port: 0, lambda, groups: ['meetings'], timeScale: 0.001, clock });
    client = new SchedulerClient({
      endpoint: scheduler.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });

  afterEach(async () => {
    client.destroy();
    await scheduler.close();
  });

  it('fires an at() schedule 15 days ahead once the clock has advanced 15 days, once, then deletes it', async () => {
    const expression = atIn(15 * DAY_MS, clock.now());
    await client.send(
      new CreateScheduleCommand({
        Name: 'close-m1',
        GroupName: 'meetings',
        ScheduleExpression: expression,
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: {
          Arn: FUNCTION_ARN,
          RoleArn: ROLE_ARN,
          Input: '{"meetingId":"m1","at":"<aws.scheduler.scheduled-time>"}',
        },
      }),
    );

    clock.advance(14 * DAY_MS);
    await sleep(200);
    expect(lambda.calls).toEqual([]);
    expect(scheduler.pending()).toBe(1);

    clock.advance(DAY_MS);
    await waitFor(() => lambda.calls.length > 0);
    await sleep(200);
    expect(lambda.calls).toEqual([
      { arn: FUNCTION_ARN, event: { meetingId: 'm1', at: `${expression.slice(3, -1)}Z` } },
    ]);
    expect(scheduler.pending()).toBe(0);
    await expect(
      client.send(new GetScheduleCommand({ Name: 'close-m1', GroupName: 'meetings' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('dates a schedule on the clock: CreationDate and StartDate are read on it', async () => {
    clock.advance(30 * DAY_MS);
    const created = clock.now();
    await client.send(
      new CreateScheduleCommand({
        Name: 'later',
        GroupName: 'meetings',
        ScheduleExpression: 'rate(1 minute)',
        // A StartDate in real time's future but in the clock's past: the schedule runs now.
        StartDate: new Date(Date.now() + DAY_MS),
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: FUNCTION_ARN, RoleArn: ROLE_ARN },
      }),
    );

    const got = await client.send(new GetScheduleCommand({ Name: 'later', GroupName: 'meetings' }));
    expect(got.CreationDate?.getTime()).toBeGreaterThanOrEqual(Math.floor(created / 1000) * 1000);
    await waitFor(() => lambda.calls.length > 0);
  });

  it('keeps a rate() schedule firing across an advance', async () => {
    await client.send(
      new CreateScheduleCommand({
        Name: 'sweep',
        GroupName: 'meetings',
        ScheduleExpression: 'rate(1 minute)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: FUNCTION_ARN, RoleArn: ROLE_ARN },
      }),
    );
    await waitFor(() => lambda.calls.length >= 1);

    clock.advance(DAY_MS);
    const firedBefore = lambda.calls.length;

    await waitFor(() => lambda.calls.length >= firedBefore + 2);
    expect(scheduler.pending()).toBe(1);
  });

  it('stops listening to the clock once closed', async () => {
    await client.send(
      new CreateScheduleCommand({
        Name: 'close-m2',
        GroupName: 'meetings',
        ScheduleExpression: atIn(DAY_MS, clock.now()),
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: FUNCTION_ARN, RoleArn: ROLE_ARN },
      }),
    );

    await scheduler.close();
    clock.advance(2 * DAY_MS);
    await sleep(200);

    expect(lambda.calls).toEqual([]);
    expect(scheduler.pending()).toBe(0);
  });
});

describe('schedule expressions', () => {
  it('reads at() in the schedule time zone', () => {
    const utc = parseSchedulerExpression('at(2026-11-26T19:30:05)', 'UTC');
    expect(utc).toEqual({ kind: 'at', at: Date.parse('2026-11-26T19:30:05Z') });
    const shanghai = parseSchedulerExpression('at(2026-11-26T19:30:05)', 'Asia/Shanghai');
    expect(shanghai).toEqual({ kind: 'at', at: Date.parse('2026-11-26T11:30:05Z') });
    const newYorkSummer = parseSchedulerExpression('at(2026-07-01T08:00:00)', 'America/New_York');
    expect(newYorkSummer).toEqual({ kind: 'at', at: Date.parse('2026-07-01T12:00:00Z') });
  });

  it('finds the next cron minute in the time zone', () => {
    const expression = parseSchedulerExpression('cron(0 8 * * ? *)', 'Asia/Shanghai');
    const now = Date.parse('2026-11-26T01:00:00Z');
    expect(nextFire({ expression, timeZone: 'Asia/Shanghai', now, anchor: now })).toEqual({
      fire: Date.parse('2026-11-27T00:00:00Z'),
    });
    expect(wallClock(Date.parse('2026-11-27T00:00:00Z'), 'Asia/Shanghai').toISOString()).toBe(
      '2026-11-27T08:00:00.000Z',
    );
    expect(
      nextFire({ expression, timeZone: 'Asia/Shanghai', now, anchor: now, endDate: now + 3_600_000 }),
    ).toBe('done');
  });

  it('counts rate() intervals from the StartDate', () => {
    const expression = parseSchedulerExpression('rate(5 minutes)', 'UTC');
    const start = Date.parse('2026-01-01T00:00:00Z');
    const now = start + 7 * 60_000;
    expect(nextFire({ expression, timeZone: 'UTC', now, anchor: start, startDate: start })).toEqual({
      fire: start + 10 * 60_000,
    });
    expect(nextFire({ expression, timeZone: 'UTC', now: start - 1, anchor: start - 1 })).toEqual({
      fire: start - 1,
    });
  });
});
