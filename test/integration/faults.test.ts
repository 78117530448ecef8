import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FREE_PORTS, type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import { INJECTED_FAULT } from '../../local/lambda/faults.js';
import type { QueueSpec } from '../../local/template.js';
import { eventually } from '../support/cloud.js';

/**
 * Faults: the ingest function fails 5 % of its invocations (seeded; half before its handler runs, half
 * after it ran and lost its result), as a Lambda function error would. The event source mapping, the
 * queue's visibility timeout and its redrive policy do the rest, as on AWS: a stream of fire-lane
 * telemetry loses nothing and opens exactly one violation and one work order per park. Then every
 * invocation fails for a while: the messages exhaust their receives into the dead-letter queue, and a
 * redrive (StartMessageMoveTask, the documented way) brings them back, to be stored.
 */
const COMPOUND = 'faults-cmp';
const AREA = 'faults-area';
const SENSORS = ['fl-fault-1', 'fl-fault-2', 'fl-fault-3', 'fl-fault-4', 'fl-fault-5'];
const POISONED = 'fl-fault-dlq';
const PER_SENSOR = 40;
const position = { lat: 31.2, lon: 121.49 };

describe('faults: 5 % of ingest invocations fail', () => {
  let cloud: LocalCloud;
  let sqs: SQSClient;
  let token: string;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civic-faults-'));
  const failures: string[] = [];
  const logs: string[] = [];
  let ingest: QueueSpec;
  let deadLetters: QueueSpec;

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

  /** A telemetry message as the ingest rule puts it on the queue. */
  const telemetry = (thingName: string, seq: number) =>
    JSON.stringify({
      payload: Buffer.from(
        JSON.stringify({ seq, occupied: true, ts: new Date(Date.now() - 60_000 + seq).toISOString() }),
      ).toString('base64'),
      compoundId: COMPOUND,
      thingName,
      signal: 'occupancy',
      topic: `dt/civic/${COMPOUND}/${thingName}/occupancy`,
      clientId: thingName,
      receivedAt: Date.now(),
    });

  const send = async (thingName: string, count: number) => {
    for (let start = 1; start <= count; start += 10) {
      const entries = Array.from({ length: Math.min(10, count - start + 1) }, (_, i) => ({
        Id: `m${start + i}`,
        MessageBody: telemetry(thingName, start + i),
      }));
      const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: ingest.url, Entries: entries }));
      expect(sent.Failed ?? []).toEqual([]);
    }
  };

  const stored = async (thingName: string) =>
    ((await api(`/compounds/${COMPOUND}/devices/${thingName}/telemetry?limit=100`)).body.items ??
      []) as unknown[];

  const violationsOf = async (thingName: string) =>
    (
      ((await api(`/violations?compoundId=${COMPOUND}&limit=100`)).body.items ?? []) as {
        thingName: string;
        workOrders: unknown[];
      }[]
    ).filter((item) => item.thingName === thingName);

  const depth = async (queue: QueueSpec) => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queue.url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  };

  beforeAll(async () => {
    cloud = await startLocalCloud({
      inMemory: true,
      dataDir,
      synth: 'never',
      ports: FREE_PORTS,
      asyncRetryDelaysMs: [20, 40],
      // The ingest queue's 60 s visibility timeout passes in 0.6 s: a failed batch comes back quickly.
      visibilityTimeoutScale: 0.01,
      faults: { Ingest: 0.05 },
      faultSeed: 20_260_203,
      log: (line) => logs.push(line),
      onInvocation: (record) => {
        if (!record.ok && record.functionName.includes('Ingest')) failures.push(record.functionName);
      },
    });
    const queue = (prefix: string) => {
      const found = cloud.stack.queues.find((spec) => spec.logicalId.startsWith(prefix));
      if (found === undefined) throw new Error(`no queue ${prefix}`);
      return found;
    };
    ingest = queue('ViolationsIngestQueue');
    deadLetters = queue('ViolationsIngestDeadLetters');
    const env = cloud.sdkEnvironment;
    sqs = new SQSClient({
      endpoint: env.AWS_ENDPOINT_URL_SQS,
      region: env.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    token = await cloud.token({ role: 'street-office' });
    const setup: [string, unknown][] = [
      ['/compounds', { compoundId: COMPOUND, name: '故障小区' }],
      ['/companies', { companyId: 'faults-co', name: '故障物业' }],
      [`/compounds/${COMPOUND}/areas`, { areaId: AREA, name: '一区' }],
      [
        `/areas/${AREA}/contracts`,
        { companyId: 'faults-co', startsOn: '2025-01-01', endsOn: '2030-12-31', feePerSquareMetreFen: 150 },
      ],
      [
        '/companies/faults-co/staff',
        { staffId: 'guard-f', name: '钱师傅', role: 'guard', handheldThing: 'hh-guard-f', areaIds: [AREA] },
      ],
      [
        `/compounds/${COMPOUND}/zones`,
        { zoneId: 'lane-f', kind: 'fire-lane', name: '消防通道', areaId: AREA, position },
      ],
      ...[...SENSORS, POISONED].map((thingName): [string, unknown] => [
        `/compounds/${COMPOUND}/devices`,
        { thingName, type: 'geomagnetic-sensor', zoneId: 'lane-f', position },
      ]),
    ];
    for (const [route, body] of setup) {
      const created = await api(route, 'POST', body);
      expect(created.status, `${route}: ${JSON.stringify(created.body)}`).toBe(201);
    }
    const tuned = await api(`/compounds/${COMPOUND}/scenarios/fire-lane-occupied`, 'PUT', {
      graceSeconds: 0,
      chain: [{ assignee: 'property-guard', ackSeconds: 3_600, handleSeconds: 3_600 }],
    });
    expect(tuned.status, JSON.stringify(tuned.body)).toBe(200);
  }, 120_000);

  afterAll(async () => {
    sqs?.destroy();
    await cloud?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no telemetry and opens one violation with one work order per park', async () => {
    await Promise.all(SENSORS.map((thingName) => send(thingName, PER_SENSOR)));
    await cloud.drain();
    // The faults did strike, and as function errors.
    expect(failures.length).toBeGreaterThan(0);
    expect(logs.some((line) => line.includes(INJECTED_FAULT))).toBe(true);
    for (const thingName of SENSORS) {
      expect(await stored(thingName), thingName).toHaveLength(PER_SENSOR);
      const violations = await violationsOf(thingName);
      expect(violations, thingName).toHaveLength(1);
      expect(violations[0]?.workOrders, thingName).toHaveLength(1);
    }
    expect(await depth(deadLetters)).toBe(0);
  }, 60_000);

  it('dead-letters what exhausts its receives, and a redrive (StartMessageMoveTask) stores it', async () => {
    cloud.lambda.faults.set('Ingest', { rate: 1, when: 'before' });
    await send(POISONED, 10);
    // Five receives each (maxReceiveCount), then the sixth moves them.
    await eventually(async () => ((await depth(deadLetters)) === 10 ? true : undefined), 30_000, 'the DLQ');
    await cloud.drain();
    expect(await depth(ingest)).toBe(0);
    expect(await stored(POISONED)).toHaveLength(0);

    cloud.lambda.faults.set('Ingest', 0);
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: deadLetters.arn }));
    expect(TaskHandle).toBeTruthy();
    const task = await eventually(
      async () => {
        const { Results } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: deadLetters.arn }));
        return Results?.[0]?.Status === 'RUNNING' ? undefined : Results?.[0];
      },
      10_000,
      'the move task',
    );
    expect(task).toMatchObject({
      Status: 'COMPLETED',
      SourceArn: deadLetters.arn,
      ApproximateNumberOfMessagesMoved: 10,
      ApproximateNumberOfMessagesToMove: 10,
    });
    await cloud.drain();
    expect(await depth(deadLetters)).toBe(0);
    expect(await stored(POISONED)).toHaveLength(10);
    const violations = await violationsOf(POISONED);
    expect(violations).toHaveLength(1);
    expect(violations[0]?.workOrders).toHaveLength(1);
  }, 60_000);
});
