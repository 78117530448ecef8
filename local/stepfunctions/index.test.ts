import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidName,
  InvalidToken,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  TaskTimedOut,
  ValidationException,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStateMachine, startStepFunctions } from './index.js';
import { eventually, functionArn, settled, sfnClient, stateMachineArn } from './test-support.js';

class FlakyError extends Error {
  override name = 'FlakyError';
}

const attempts = new Map<string, number>();
const tokens = new Map<string, string>();

const lambdas: Record<string, (payload: Record<string, unknown>) => Promise<unknown>> = {
  double: async (payload) => ({ value: Number(payload.value) * 2 }),
  flaky: async (payload) => {
    const key = String(payload.key);
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    if (attempt <= Number(payload.failures)) throw new FlakyError(`attempt ${attempt} failed`);
    return { ...payload, attempts: attempt };
  },
  notify: async (payload) => {
    const request = payload.request as { id: string };
    tokens.set(request.id, String(payload.token));
    return { notified: true };
  },
};

async function invokeLambda(functionNameOrArn: string, payload: unknown): Promise<unknown> {
  const name = functionNameOrArn.split(':').at(-1) ?? functionNameOrArn;
  const lambda = lambdas[name];
  if (!lambda)
    throw Object.assign(new Error(`Function not found: ${name}`), { name: 'ResourceNotFoundException' });
  return lambda(payload as Record<string, unknown>);
}

const approvalTask = (extra: Record<string, unknown>) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
  Parameters: {
    FunctionName: functionArn('notify'),
    Payload: { 'token.$': '$$.Task.Token', 'request.$': '$' },
  },
  ResultPath: '$.decision',
  End: true,
  ...extra,
});

const inOneHour = new Date(Date.now() + 3_600_000).toISOString();

const machines: LocalStateMachine[] = [
  {
    name: 'route',
    definition: {
      StartAt: 'Route',
      States: {
        Route: {
          Type: 'Choice',
          Choices: [{ Variable: '$.kind', StringEquals: 'double', Next: 'Double' }],
          Default: 'Skip',
        },
        Skip: { Type: 'Pass', Result: { skipped: true }, ResultPath: '$.result', End: true },
        Double: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: functionArn('double'), 'Payload.$': '$' },
          ResultSelector: { 'value.$': '$.Payload.value', 'statusCode.$': '$.StatusCode' },
          ResultPath: '$.result',
          Next: 'Done',
        },
        Done: { Type: 'Pass', End: true },
      },
    },
  },
  {
    name: 'flaky',
    definition: {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: functionArn('flaky'),
          Retry: [{ ErrorEquals: ['FlakyError'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2 }],
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Recovered' }],
          End: true,
        },
        Recovered: { Type: 'Pass', Parameters: { 'recovered.$': '$.error' }, End: true },
      },
    },
  },
  {
    name: 'fails',
    definition: {
      StartAt: 'Call',
      States: { Call: { Type: 'Task', Resource: functionArn('flaky'), End: true } },
    },
  },
  {
    name: 'map-double',
    definition: {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          MaxConcurrency: 2,
          ItemProcessor: {
            StartAt: 'DoubleItem',
            States: {
              DoubleItem: {
                Type: 'Task',
                Resource: 'arn:aws:states:::lambda:invoke',
                Parameters: { FunctionName: 'double', 'Payload.$': '$' },
                OutputPath: '$.Payload.value',
                End: true,
              },
            },
          },
          ResultPath: '$.doubled',
          End: true,
        },
      },
    },
  },
  {
    name: 'approval',
    definition: { StartAt: 'Approve', States: { Approve: approvalTask({ TimeoutSeconds: 60 }) } },
  },
  {
    name: 'approval-short',
    definition: { StartAt: 'Approve', States: { Approve: approvalTask({ TimeoutSeconds: 1 }) } },
  },
  {
    name: 'approval-short-caught',
    definition: {
      StartAt: 'Approve',
      States: {
        Approve: approvalTask({
          TimeoutSeconds: 1,
          Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'Caught' }],
        }),
        Caught: { Type: 'Pass', End: true },
      },
    },
  },
  {
    name: 'approval-heartbeat',
    definition: {
      StartAt: 'Approve',
      States: { Approve: approvalTask({ TimeoutSeconds: 60, HeartbeatSeconds: 1 }) },
    },
  },
  {
    name: 'approval-deadline',
    definition: {
      TimeoutSeconds: 1,
      StartAt: 'Approve',
      States: { Approve: approvalTask({ TimeoutSeconds: 60 }) },
    },
  },
  {
    name: 'map-approvals',
    definition: {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.requests',
          ItemProcessor: {
            StartAt: 'Approve',
            States: { Approve: approvalTask({ TimeoutSeconds: 60, OutputPath: '$.decision' }) },
          },
          End: true,
        },
      },
    },
  },
  {
    name: 'waits',
    definition: {
      StartAt: 'Fixed',
      States: {
        Fixed: { Type: 'Wait', Seconds: 3600, Next: 'FromInput' },
        FromInput: { Type: 'Wait', SecondsPath: '$.seconds', Next: 'Until' },
        Until: { Type: 'Wait', Timestamp: inOneHour, Next: 'UntilFromInput' },
        UntilFromInput: { Type: 'Wait', TimestampPath: '$.until', OutputPath: '$.seconds', End: true },
      },
    },
  },
].map((machine) => ({ ...machine, arn: stateMachineArn(machine.name) }));

let client: SFNClient;
let close: () => Promise<void>;

beforeAll(async () => {
  const server = await startStepFunctions({
    port: 0,
    stateMachines: machines,
    invokeLambda,
    waitTimeScale: 0.0001,
  });
  close = server.close;
  client = sfnClient(server.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await close?.();
});

async function start(machine: string, input: unknown, name?: string): Promise<string> {
  const { executionArn } = await client.send(
    new StartExecutionCommand({
      stateMachineArn: stateMachineArn(machine),
      input: JSON.stringify(input),
      ...(name ? { name } : {}),
    }),
  );
  return executionArn!;
}

async function run(machine: string, input: unknown) {
  return settled(client, await start(machine, input));
}

const tokenFor = (id: string) => eventually(() => tokens.get(id));

describe('executions', () => {
  it.each([
    { input: { kind: 'double', value: 21 }, result: { value: 42, statusCode: 200 } },
    { input: { kind: 'other', value: 21 }, result: { skipped: true } },
  ])('routes $input.kind through Choice, Pass and a Lambda task', async ({ input, result }) => {
    const execution = await run('route', input);

    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!)).toEqual({ ...input, result });
  });

  it('retries a failing Lambda and then succeeds', async () => {
    const execution = await run('flaky', { key: 'retry-then-succeed', failures: 2 });

    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!)).toMatchObject({ attempts: 3 });
  });

  it('catches a Lambda that keeps failing after its retries', async () => {
    const execution = await run('flaky', { key: 'always-fails', failures: 99 });

    expect(execution.status).toBe('SUCCEEDED');
    const { recovered } = JSON.parse(execution.output!);
    expect(recovered.Error).toBe('FlakyError');
    expect(JSON.parse(recovered.Cause)).toMatchObject({
      errorType: 'FlakyError',
      errorMessage: 'attempt 3 failed',
    });
    expect(attempts.get('always-fails')).toBe(3);
  });

  it('fails the execution with the function error when nothing catches it', async () => {
    const execution = await run('fails', { key: 'uncaught', failures: 1 });

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('FlakyError');
    expect(JSON.parse(execution.cause!)).toMatchObject({ errorMessage: 'attempt 1 failed' });
    expect(execution.stopDate).toBeInstanceOf(Date);
  });

  it('runs a Map state over every item', async () => {
    const execution = await run('map-double', { items: [{ value: 1 }, { value: 2 }, { value: 3 }] });

    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!).doubled).toEqual([2, 4, 6]);
  });

  it('shortens every kind of Wait state by waitTimeScale', async () => {
    const inTwoHours = new Date(Date.now() + 7_200_000).toISOString();

    const execution = await run('waits', { seconds: 3600, until: inTwoHours });

    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!)).toBe(3600);
    const { events } = await client.send(
      new GetExecutionHistoryCommand({ executionArn: execution.executionArn }),
    );
    expect(events?.filter((event) => event.type === 'WaitStateEntered')).toHaveLength(4);
  });

  it('records the history of an execution', async () => {
    const execution = await run('route', { kind: 'double', value: 1 });

    const { events } = await client.send(
      new GetExecutionHistoryCommand({ executionArn: execution.executionArn }),
    );

    expect(events?.map((event) => event.type)).toEqual([
      'ExecutionStarted',
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'TaskStateEntered',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events?.[0]?.executionStartedEventDetails?.input).toBe(
      JSON.stringify({ kind: 'double', value: 1 }),
    );
    expect(events?.map((event) => event.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events?.[0]?.timestamp).toBeInstanceOf(Date);
  });

  it('pages the history and leaves data out on request', async () => {
    const execution = await run('route', { kind: 'other' });

    const first = await client.send(
      new GetExecutionHistoryCommand({
        executionArn: execution.executionArn,
        maxResults: 2,
        reverseOrder: true,
        includeExecutionData: false,
      }),
    );
    const second = await client.send(
      new GetExecutionHistoryCommand({
        executionArn: execution.executionArn,
        maxResults: 2,
        reverseOrder: true,
        nextToken: first.nextToken,
      }),
    );

    expect(first.events?.map((event) => event.type)).toEqual(['ExecutionSucceeded', 'PassStateExited']);
    expect(first.events?.[0]?.executionSucceededEventDetails?.output).toBeUndefined();
    expect(second.events?.map((event) => event.type)).toEqual(['PassStateEntered', 'ChoiceStateExited']);
  });
});

describe('task tokens', () => {
  it('keeps the execution running until SendTaskSuccess, whose output becomes the task result', async () => {
    const executionArn = await start('approval', { id: 'approve-1' });
    const taskToken = await tokenFor('approve-1');

    const running = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(running.status).toBe('RUNNING');
    await client.send(new SendTaskHeartbeatCommand({ taskToken }));
    await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ approved: true }) }));

    const execution = await settled(client, executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!)).toEqual({ id: 'approve-1', decision: { approved: true } });
  });

  it('gives every Map iteration its own token', async () => {
    const executionArn = await start('map-approvals', { requests: [{ id: 'each-a' }, { id: 'each-b' }] });
    const [a, b] = [await tokenFor('each-a'), await tokenFor('each-b')];

    expect(a).not.toBe(b);
    await client.send(new SendTaskSuccessCommand({ taskToken: b, output: JSON.stringify('second') }));
    await client.send(new SendTaskSuccessCommand({ taskToken: a, output: JSON.stringify('first') }));

    const execution = await settled(client, executionArn);
    expect(JSON.parse(execution.output!)).toEqual(['first', 'second']);
  });

  it('fails the execution with the error and cause of SendTaskFailure', async () => {
    const executionArn = await start('approval', { id: 'reject-1' });
    const taskToken = await tokenFor('reject-1');

    await client.send(
      new SendTaskFailureCommand({ taskToken, error: 'Rejected', cause: 'quorum not reached' }),
    );

    const execution = await settled(client, executionArn);
    expect(execution).toMatchObject({ status: 'FAILED', error: 'Rejected', cause: 'quorum not reached' });
  });

  it('answers TaskTimedOut for a token that was already used', async () => {
    const executionArn = await start('approval', { id: 'twice-1' });
    const taskToken = await tokenFor('twice-1');
    await client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' }));
    await settled(client, executionArn);

    await expect(client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' }))).rejects.toBeInstanceOf(
      TaskTimedOut,
    );
  });

  it('fails the task with States.Timeout after TimeoutSeconds, and the late token is refused', async () => {
    const executionArn = await start('approval-short', { id: 'late-1' });
    const taskToken = await tokenFor('late-1');

    const execution = await settled(client, executionArn);

    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    const { events } = await client.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(events?.map((event) => event.type)).toContain('TaskTimedOut');
    await expect(client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' }))).rejects.toBeInstanceOf(
      TaskTimedOut,
    );
  });

  it('does not let States.TaskFailed catch a task timeout, as on AWS', async () => {
    const executionArn = await start('approval-short-caught', { id: 'late-2' });

    const execution = await settled(client, executionArn);

    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  it('fails the task with States.HeartbeatTimeout when no heartbeat arrives', async () => {
    const executionArn = await start('approval-heartbeat', { id: 'silent-1' });

    const execution = await settled(client, executionArn);

    expect(execution).toMatchObject({ status: 'FAILED', error: 'States.HeartbeatTimeout' });
  });

  it('times the whole execution out (TIMED_OUT) after the machine TimeoutSeconds', async () => {
    const executionArn = await start('approval-deadline', { id: 'deadline-1' });
    const taskToken = await tokenFor('deadline-1');

    const execution = await settled(client, executionArn);

    expect(execution).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    await expect(client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' }))).rejects.toBeInstanceOf(
      TaskTimedOut,
    );
  });

  it('rejects a token it never issued with InvalidToken', async () => {
    await expect(
      client.send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' })),
    ).rejects.toBeInstanceOf(InvalidToken);
  });

  it('aborts a waiting execution on StopExecution and retires its token', async () => {
    const executionArn = await start('approval', { id: 'stop-1' });
    const taskToken = await tokenFor('stop-1');

    const { stopDate } = await client.send(
      new StopExecutionCommand({ executionArn, error: 'Withdrawn', cause: 'proposal withdrawn' }),
    );

    expect(stopDate).toBeInstanceOf(Date);
    const execution = await client.send(new DescribeExecutionCommand({ executionArn }));
    expect(execution).toMatchObject({ status: 'ABORTED', error: 'Withdrawn', cause: 'proposal withdrawn' });
    await expect(client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' }))).rejects.toBeInstanceOf(
      TaskTimedOut,
    );
  });
});

describe('API', () => {
  it('treats StartExecution with the same name and input as the same call while it runs', async () => {
    const first = await start('approval', { id: 'same-name' }, 'same-name');
    const again = await start('approval', { id: 'same-name' }, 'same-name');

    expect(again).toBe(first);
    expect(first).toBe('arn:aws:states:us-east-1:123456789012:execution:approval:same-name');
    await expect(start('approval', { id: 'other-input' }, 'same-name')).rejects.toBeInstanceOf(
      ExecutionAlreadyExists,
    );
    await client.send(new SendTaskSuccessCommand({ taskToken: await tokenFor('same-name'), output: '{}' }));
    await settled(client, first);
    await expect(start('approval', { id: 'same-name' }, 'same-name')).rejects.toBeInstanceOf(
      ExecutionAlreadyExists,
    );
  });

  it('answers ExecutionDoesNotExist for an unknown execution', async () => {
    const executionArn = 'arn:aws:states:us-east-1:123456789012:execution:route:nobody';

    await expect(client.send(new DescribeExecutionCommand({ executionArn }))).rejects.toBeInstanceOf(
      ExecutionDoesNotExist,
    );
  });

  it('answers StateMachineDoesNotExist for an unknown state machine', async () => {
    await expect(start('nothing-here', {})).rejects.toBeInstanceOf(StateMachineDoesNotExist);
  });

  it.each([
    { name: 'has space', error: InvalidName },
    { name: 'a'.repeat(81), error: InvalidName },
  ])('refuses the execution name "$name"', async ({ name, error }) => {
    await expect(start('route', {}, name)).rejects.toBeInstanceOf(error);
  });

  it('answers ValidationException for a request without its required members', async () => {
    await expect(client.send(new DescribeExecutionCommand({} as never))).rejects.toBeInstanceOf(
      ValidationException,
    );
  });

  it('lists executions of a state machine, filtered by status', async () => {
    const succeeded = await run('route', { kind: 'other' });

    const { executions } = await client.send(
      new ListExecutionsCommand({ stateMachineArn: stateMachineArn('route'), statusFilter: 'SUCCEEDED' }),
    );

    expect(executions?.map((execution) => execution.executionArn)).toContain(succeeded.executionArn);
    expect(executions?.every((execution) => execution.status === 'SUCCEEDED')).toBe(true);
    expect(executions?.[0]?.startDate).toBeInstanceOf(Date);
  });

  it('lists and describes the state machines', async () => {
    const { stateMachines } = await client.send(new ListStateMachinesCommand({}));
    const described = await client.send(
      new DescribeStateMachineCommand({ stateMachineArn: stateMachineArn('route') }),
    );

    expect(stateMachines?.map((machine) => machine.name)).toEqual(machines.map((machine) => machine.name));
    expect(described).toMatchObject({ name: 'route', type: 'STANDARD', status: 'ACTIVE' });
    expect(JSON.parse(described.definition!)).toEqual(machines[0]?.definition);
  });
});
