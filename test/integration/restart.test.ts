import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ACCOUNT, LOCAL_REGION, loadTemplate, readStack } from '../../local/template.js';
import { type CloudFile, exited, ROOT, startChildCloud, tokenOf } from '../support/child-cloud.js';
import { eventually } from '../support/cloud.js';

/**
 * The local cloud as `npm start` runs it — a child process on a data dir — killed with SIGKILL (the
 * whole process tree, DynamoDB Local's JVM included) while a work order's acknowledgement deadline is
 * scheduled, a telemetry message waits in the ingest queue and an execution waits on a task token and
 * another in a Wait state; started again on the same data dir, all of them go on. Then every kind of
 * stop (SIGKILL of the parent alone, SIGTERM, Ctrl-C's SIGINT to the group) leaves no JVM behind.
 */
const COMPOUND = 'restart-cmp';
const AREA = 'restart-area';
const SENSOR = 'fl-restart-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const position = { lat: 31.20521, lon: 121.49012 };

// The template's own names, read the way the local cloud reads them.
const cdkOut = path.join(ROOT, 'cdk.out');
const stack = readStack(loadTemplate(cdkOut, 'CivicCell'), {
  stackName: 'CivicCell',
  cdkOut,
  endpoints: { apiUrl: 'http://127.0.0.1:1', sqsUrl: 'http://127.0.0.1:1' },
});
const ingestQueue = stack.queues.find((queue) => queue.logicalId.startsWith('ViolationsIngestQueue'));
const notFound = stack.functions.find((fn) => fn.logicalId.startsWith('ApiNotFound'));
const stateMachineArn = (name: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`;

/** DynamoDB Local's JVM (and its watchdog shell) for a data dir, from `ps`. */
const jvmsOf = (dataDir: string): string[] =>
  execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(path.join(dataDir, 'dynamodb')) && /\bjava\b/.test(line));

describe('the local cloud survives SIGKILL: schedules, queued messages, waiting executions', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civic-restart-'));
  const machinesDir = mkdtempSync(path.join(tmpdir(), 'civic-restart-asl-'));
  const children: ChildProcess[] = [];
  const output: string[] = [];
  let cloud: CloudFile;
  let token: string;

  const start = async (): Promise<{ child: ChildProcess; cloud: CloudFile }> => {
    const started = await startChildCloud(
      dataDir,
      [
        '--state-machine',
        path.join(machinesDir, 'restart-approval.json'),
        '--state-machine',
        path.join(machinesDir, 'restart-wait.json'),
      ],
      output,
    );
    children.push(started.child);
    token = await tokenOf(started.cloud, { role: 'street-office' });
    return started;
  };

  const noJvmWithin = async (ms: number) =>
    eventually(async () => (jvmsOf(dataDir).length === 0 ? true : undefined), ms, 'the JVM to exit');

  const api = async (route: string, method = 'GET', body?: unknown) => {
    const response = await fetch(`${cloud.endpoints.api}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  const violations = async () =>
    ((await api(`/violations?compoundId=${COMPOUND}&limit=100`)).body.items ?? []) as {
      violationId: string;
      thingName: string;
      escalations: number;
    }[];

  /** A telemetry message as the ingest rule puts it on the queue. */
  const telemetry = (seq: number, occupied: boolean) =>
    JSON.stringify({
      payload: Buffer.from(JSON.stringify({ seq, occupied, ts: new Date().toISOString() })).toString(
        'base64',
      ),
      compoundId: COMPOUND,
      thingName: SENSOR,
      signal: 'occupancy',
      topic: `dt/civic/${COMPOUND}/${SENSOR}/occupancy`,
      clientId: SENSOR,
      receivedAt: Date.now(),
    });

  const sqs = () => new SQSClient({ endpoint: cloud.endpoints.sqs, region: LOCAL_REGION, credentials });
  const sfn = () =>
    new SFNClient({ endpoint: cloud.endpoints.stepFunctions, region: LOCAL_REGION, credentials });

  beforeAll(() => {
    if (ingestQueue === undefined || notFound === undefined) throw new Error('the template changed');
    writeFileSync(
      path.join(machinesDir, 'restart-approval.json'),
      JSON.stringify({
        StartAt: 'Approve',
        States: {
          Approve: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            // Any function that answers will do: the token reaches the test through the history.
            Parameters: {
              FunctionName: notFound.functionName,
              Payload: {
                'token.$': '$$.Task.Token',
                rawPath: '/approval',
                headers: {},
                requestContext: { http: { method: 'GET', path: '/approval' } },
              },
            },
            TimeoutSeconds: 600,
            ResultPath: '$.decision',
            Next: 'Settle',
          },
          Settle: { Type: 'Wait', Seconds: 1, Next: 'Done' },
          Done: { Type: 'Pass', End: true },
        },
      }),
    );
    writeFileSync(
      path.join(machinesDir, 'restart-wait.json'),
      JSON.stringify({
        StartAt: 'Hold',
        States: { Hold: { Type: 'Wait', Seconds: 6, Next: 'Done' }, Done: { Type: 'Pass', End: true } },
      }),
    );
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(machinesDir, { recursive: true, force: true });
  });

  let approvalArn: string;
  let waitArn: string;
  let taskToken: string;
  let violationId: string;

  it('before the kill: a violation with a pending deadline, a delayed message, a token, a Wait', async () => {
    const first = await start();
    cloud = first.cloud;
    const setup: [string, unknown][] = [
      ['/compounds', { compoundId: COMPOUND, name: '重启小区' }],
      ['/companies', { companyId: 'restart-co', name: '重启物业' }],
      [`/compounds/${COMPOUND}/areas`, { areaId: AREA, name: '一区' }],
      [
        `/areas/${AREA}/contracts`,
        { companyId: 'restart-co', startsOn: '2025-01-01', endsOn: '2030-12-31', feePerSquareMetreFen: 150 },
      ],
      [
        '/companies/restart-co/staff',
        { staffId: 'guard-r', name: '王师傅', role: 'guard', handheldThing: 'hh-guard-r', areaIds: [AREA] },
      ],
      [
        '/companies/restart-co/staff',
        {
          staffId: 'manager-r',
          name: '赵经理',
          role: 'manager',
          handheldThing: 'hh-manager-r',
          areaIds: [AREA],
        },
      ],
      [
        `/compounds/${COMPOUND}/zones`,
        { zoneId: 'lane-r', kind: 'fire-lane', name: '消防通道', areaId: AREA, position },
      ],
      [
        `/compounds/${COMPOUND}/devices`,
        { thingName: SENSOR, type: 'geomagnetic-sensor', zoneId: 'lane-r', position },
      ],
    ];
    for (const [route, body] of setup) {
      const created = await api(route, 'POST', body);
      expect(created.status, `${route}: ${JSON.stringify(created.body)}`).toBe(201);
    }
    const tuned = await api(`/compounds/${COMPOUND}/scenarios/fire-lane-occupied`, 'PUT', {
      graceSeconds: 0,
      chain: [
        { assignee: 'property-guard', ackSeconds: 6, handleSeconds: 600 },
        { assignee: 'property-manager', ackSeconds: 600, handleSeconds: 600 },
      ],
    });
    expect(tuned.status, JSON.stringify(tuned.body)).toBe(200);

    const client = sqs();
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: ingestQueue?.queueName }));
    // The park opens a violation at once (no grace); its acknowledgement deadline is a one-time schedule.
    await client.send(new SendMessageCommand({ QueueUrl, MessageBody: telemetry(1, true) }));
    const [opened] = await eventually(
      async () => ((await violations()).length > 0 ? violations() : undefined),
      15_000,
      'the violation',
    );
    expect(opened?.escalations).toBe(0);
    violationId = opened?.violationId as string;
    // A message that waits in the queue (delayed) when the cloud dies.
    await client.send(new SendMessageCommand({ QueueUrl, MessageBody: telemetry(2, true), DelaySeconds: 6 }));
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }),
    );
    expect(Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');
    client.destroy();

    const steps = sfn();
    approvalArn = (
      await steps.send(
        new StartExecutionCommand({
          stateMachineArn: stateMachineArn('restart-approval'),
          input: '{"case":7}',
        }),
      )
    ).executionArn as string;
    waitArn = (
      await steps.send(new StartExecutionCommand({ stateMachineArn: stateMachineArn('restart-wait') }))
    ).executionArn as string;
    taskToken = await eventually(
      async () => {
        const { events } = await steps.send(new GetExecutionHistoryCommand({ executionArn: approvalArn }));
        const scheduled = events?.find((event) => event.type === 'TaskScheduled');
        const parameters = scheduled?.taskScheduledEventDetails?.parameters;
        return parameters === undefined ? undefined : (JSON.parse(parameters).Payload.token as string);
      },
      10_000,
      'the task token',
    );
    steps.destroy();
    // Nothing has escalated yet: the deadline is still ahead.
    expect((await violations())[0]?.escalations).toBe(0);

    // The history shows the token before its checkpoint is stored; the engine says it waits once the
    // checkpoint is stored and the Lambda has the token. A kill in between (seen on a loaded machine)
    // resumes the execution with a new token.
    await eventually(
      async () => (output.join('').includes('Approve waits for its task token') ? true : undefined),
      10_000,
      'the token task to be stored',
    );

    // kill -9 of the whole process tree, the JVM with it.
    process.kill(-(first.child.pid as number), 'SIGKILL');
    await exited(first.child);
    await noJvmWithin(10_000);
  }, 60_000);

  it('after the restart: the escalation fires, the message is delivered once, the executions resume', async () => {
    const second = await start();
    cloud = second.cloud;

    const escalated = await eventually(
      async () => {
        const found = (await violations()).find((item) => item.violationId === violationId);
        return found !== undefined && found.escalations >= 1 ? found : undefined;
      },
      20_000,
      'the escalation',
    );
    expect(escalated.escalations).toBe(1);

    const stored = await eventually(
      async () => {
        const items = ((await api(`/compounds/${COMPOUND}/devices/${SENSOR}/telemetry?limit=100`)).body
          .items ?? []) as { seq?: number; payload?: { seq?: number } }[];
        return items.length >= 2 ? items : undefined;
      },
      20_000,
      'the queued telemetry',
    );
    const seqs = stored.map((item) => item.seq ?? item.payload?.seq);
    expect(seqs.filter((seq) => seq === 2)).toHaveLength(1);
    expect(stored).toHaveLength(2);

    const steps = sfn();
    const history = await steps.send(new GetExecutionHistoryCommand({ executionArn: approvalArn }));
    expect(history.events?.map((event) => event.type)).toEqual(
      expect.arrayContaining(['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled']),
    );
    expect(history.events?.filter((event) => event.type === 'ExecutionStarted')).toHaveLength(1);
    expect((await steps.send(new DescribeExecutionCommand({ executionArn: approvalArn }))).status).toBe(
      'RUNNING',
    );
    await steps.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ approved: true }) }));
    const done = await eventually(
      async () => {
        const described = await steps.send(new DescribeExecutionCommand({ executionArn: approvalArn }));
        return described.status === 'RUNNING' ? undefined : described;
      },
      15_000,
      'the approval to finish',
    );
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({ case: 7, decision: { approved: true } });

    const waited = await eventually(
      async () => {
        const described = await steps.send(new DescribeExecutionCommand({ executionArn: waitArn }));
        return described.status === 'RUNNING' ? undefined : described;
      },
      15_000,
      'the Wait to end',
    );
    expect(waited.status).toBe('SUCCEEDED');
    // It waited its 6 s in all, across the restart (not 6 s more after it, nor less).
    const waitedMs = (waited.stopDate?.getTime() ?? 0) - (waited.startDate?.getTime() ?? 0);
    expect(waitedMs).toBeGreaterThanOrEqual(6_000);
    steps.destroy();

    // kill -9 of the parent alone: its JVM must not outlive it.
    process.kill(second.child.pid as number, 'SIGKILL');
    await exited(second.child);
    await noJvmWithin(10_000);
  }, 60_000);

  it('leaves no JVM behind after SIGTERM or Ctrl-C (SIGINT to the process group)', async () => {
    const third = await start();
    process.kill(third.child.pid as number, 'SIGTERM');
    await exited(third.child);
    expect(third.child.exitCode).toBe(0);
    await noJvmWithin(10_000);

    const fourth = await start();
    process.kill(-(fourth.child.pid as number), 'SIGINT');
    await exited(fourth.child);
    await noJvmWithin(10_000);
  }, 60_000);
});
