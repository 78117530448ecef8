import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { type LocalScheduler, startScheduler } from '../../local/scheduler/index.js';
import { startCivicTable } from '../../test/support/civic-table.js';
import type { DeviceDirectoryEntry } from '../registry/store.js';

// The metrics the ingest and timer functions emit, read back as CloudWatch EMF from their stdout: real
// handlers against DynamoDB Local and the local Scheduler, with an IoT data plane that accepts every
// publish (its replies are all the SDK needs).
const SD = 'sd-metrics';
const COMPOUND = 'metrics-compound';
const AREA = 'metrics-area';
const COMPANY = 'metrics-co';
const THING = 'metrics-geomag-1';

const device: DeviceDirectoryEntry = {
  thingName: THING,
  subDistrictId: SD,
  compoundId: COMPOUND,
  zoneId: 'lane',
  zoneKind: 'fire-lane',
  areaId: AREA,
  type: 'geomagnetic-sensor',
  position: { lat: 31.2, lon: 121.49 },
  status: 'active',
};

const context = {
  functionName: 'CivicCell-Metrics',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:CivicCell-Metrics',
  memoryLimitInMB: '512',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

let ddb: LocalDynamoDb;
let scheduler: LocalScheduler;
let dataPlane: Server;
const published: string[] = [];
let ingest: typeof import('./ingest.handler.js');
let timers: typeof import('./timers.handler.js');
let store: typeof import('./store.js');
let engine: typeof import('./engine.js');

beforeAll(async () => {
  ddb = await startCivicTable();
  scheduler = await startScheduler({ lambda: { invokeAsync: () => undefined, spec: () => ({}) as never } });
  dataPlane = createServer((request, response) => {
    published.push(decodeURIComponent(request.url ?? ''));
    request.resume().on('end', () => response.writeHead(200).end());
  });
  await new Promise<void>((resolve) => dataPlane.listen(0, '127.0.0.1', resolve));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SCHEDULER: scheduler.endpoint,
    AWS_ENDPOINT_URL_IOT_DATA_PLANE: `http://127.0.0.1:${(dataPlane.address() as AddressInfo).port}`,
    TIMER_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:000000000000:function:CivicCell-ViolationTimer',
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/CivicCell-SchedulerRole',
    INGEST_BATCH_SIZE: '10',
    POWERTOOLS_SERVICE_NAME: 'civic-cell',
  });
  ingest = await import('./ingest.handler.js');
  timers = await import('./timers.handler.js');
  store = await import('./store.js');
  engine = await import('./engine.js');
  const registry = await import('../registry/store.js');
  await registry.putRecords([
    {
      kind: 'area',
      id: AREA,
      subDistrictId: SD,
      compoundId: COMPOUND,
      companyId: COMPANY,
      parentKey: registry.parentKeyOf(SD, { kind: 'compound', id: COMPOUND }, 'area'),
      sortKey: AREA,
      version: 1,
      data: { name: 'metrics area' },
    },
    {
      kind: 'staff',
      id: 'metrics-guard',
      subDistrictId: SD,
      companyId: COMPANY,
      parentKey: registry.parentKeyOf(SD, { kind: 'company', id: COMPANY }, 'staff'),
      sortKey: 'metrics-guard',
      version: 1,
      data: { role: 'guard', handheldThing: 'metrics-handheld', areaIds: [AREA] },
    },
  ]);
  await registry.putDeviceDirectory(device);
  // No grace, and deadlines of a second: the case opens at once and its deadlines pass within the test.
  await store.putOverride(
    SD,
    COMPOUND,
    'fire-lane-occupied',
    {
      graceSeconds: 0,
      chain: [
        { assignee: 'property-guard', ackSeconds: 1, handleSeconds: 1 },
        { assignee: 'command-centre', ackSeconds: 1, handleSeconds: 1 },
      ],
    },
    0,
  );
}, 90_000);
afterAll(async () => {
  await new Promise((resolve) => dataPlane?.close(resolve));
  await scheduler?.close();
  await ddb?.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/** Runs `invoke` and returns the EMF documents it wrote to stdout, where Lambda's log agent reads them. */
const emfOf = async (invoke: () => Promise<unknown>): Promise<{ result: unknown; emf: Emf[] }> => {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(...String(chunk).split('\n'));
    return true;
  });
  const result = await invoke();
  vi.restoreAllMocks();
  const emf = lines.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as Partial<Emf>;
      return parsed._aws === undefined ? [] : [parsed as Emf];
    } catch {
      return [];
    }
  });
  return { result, emf };
};

/** The metrics of one EMF document, by name: value and unit, with its namespace and dimensions checked. */
const metricsOf = (emf: Emf) => {
  const [directive] = emf._aws.CloudWatchMetrics;
  expect(directive?.Namespace).toBe('civic-cell');
  expect(directive?.Dimensions).toEqual([['service']]);
  expect(emf.service).toBe('civic-cell');
  return Object.fromEntries(
    (directive?.Metrics ?? []).map(({ Name, Unit }) => [Name, { value: emf[Name], unit: Unit }]),
  );
};

const record = (messageId: string, thingName: string, payload: Record<string, unknown>) => ({
  messageId,
  body: JSON.stringify({
    payload: Buffer.from(JSON.stringify(payload)).toString('base64'),
    compoundId: COMPOUND,
    thingName,
    signal: 'occupancy',
    topic: `dt/civic/${COMPOUND}/${thingName}/occupancy`,
    clientId: thingName,
    receivedAt: Date.now(),
  }),
});

describe('metrics, as CloudWatch EMF in the function output', () => {
  it('counts the telemetry a batch accepted and rejected and the violation it opened, in one line', async () => {
    const observedAt = new Date(Date.now() - 1_000).toISOString();
    const { result, emf } = await emfOf(() =>
      ingest.handler(
        {
          Records: [
            record('m-1', THING, { ts: observedAt, seq: 1, occupied: true }),
            // Not in the registry: stored as rejected telemetry.
            record('m-2', 'metrics-ghost', { ts: observedAt, seq: 1, occupied: true }),
          ],
        },
        context,
      ),
    );

    expect(result).toEqual({ batchItemFailures: [] });
    expect(published).toEqual([`/topics/cmd/civic/${COMPOUND}/metrics-handheld/work-orders?qos=1`]);
    expect(emf).toHaveLength(1);
    expect(metricsOf(emf[0] as Emf)).toEqual({
      TelemetryAccepted: { value: 1, unit: 'Count' },
      TelemetryRejected: { value: 1, unit: 'Count' },
      ViolationsOpened: { value: 1, unit: 'Count' },
    });

    // The same message again (SQS delivers at least once) is accepted telemetry, and opens nothing.
    const again = await emfOf(() =>
      ingest.handler(
        { Records: [record('m-3', THING, { ts: observedAt, seq: 1, occupied: true })] },
        context,
      ),
    );
    expect(again.emf.map(metricsOf)).toEqual([
      { TelemetryAccepted: { value: 1, unit: 'Count' }, TelemetryRejected: { value: 0, unit: 'Count' } },
    ]);
  }, 30_000);

  it('counts a message it hands back to the queue', async () => {
    const { result, emf } = await emfOf(() =>
      ingest.handler({ Records: [{ messageId: 'm-bad', body: '{"not":"a rule event"}' }] }, context),
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-bad' }] } satisfies SQSBatchResponse);
    expect(emf.map(metricsOf)).toEqual([
      {
        TelemetryAccepted: { value: 0, unit: 'Count' },
        TelemetryRejected: { value: 0, unit: 'Count' },
        TelemetryRetried: { value: 1, unit: 'Count' },
      },
    ]);
  });

  it('counts a missed deadline as overdue, escalated while the chain has a next step, and writes nothing when nothing happened', async () => {
    const thingName = 'metrics-geomag-2';
    const registry = await import('../registry/store.js');
    await registry.putDeviceDirectory({ ...device, thingName });
    const observedAt = new Date(Date.now() - 1_000).toISOString();
    await ingest.handler(
      { Records: [record('d-1', thingName, { ts: observedAt, seq: 1, occupied: true })] },
      context,
    );
    const violationId = engine.violationIdFor('fire-lane-occupied', thingName, observedAt);
    const deadline = (chainIndex: number) => ({
      kind: 'deadline',
      violationId,
      deadline: { kind: 'ack', chainIndex },
    });

    // Before the acknowledgement deadline: nothing to do, and no line at all.
    const early = await emfOf(() => timers.handler(deadline(0), context));
    expect(early.emf).toEqual([]);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const first = await emfOf(() => timers.handler(deadline(0), context));
    expect(first.emf.map(metricsOf)).toEqual([
      {
        WorkOrdersOverdue: { value: 1, unit: 'Count' },
        WorkOrdersEscalated: { value: 1, unit: 'Count' },
      },
    ]);

    // The command centre is the chain's last step: its missed deadline is overdue, with no escalation.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const last = await emfOf(() => timers.handler(deadline(1), context));
    expect(last.emf.map(metricsOf)).toEqual([{ WorkOrdersOverdue: { value: 1, unit: 'Count' } }]);
    expect(
      (await store.getViolation<{ chainIndex: number }, unknown>(violationId))?.violation.chainIndex,
    ).toBe(1);
  }, 30_000);
});
