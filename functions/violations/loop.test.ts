import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { freePort } from '../../local/ports.js';
import { type LocalScheduler, startScheduler } from '../../local/scheduler/index.js';
import { startCivicTable } from '../../test/support/civic-table.js';
import type { DeviceDirectoryEntry } from '../registry/store.js';

// The closed loop against DynamoDB Local and the local Scheduler, with an IoT data plane that is down
// (its endpoint refuses connections): what a failed push leaves behind.
const SD = 'sd-loop';
const COMPOUND = 'loop-compound';
const AREA = 'loop-area';
const COMPANY = 'loop-co';
const THING = 'loop-geomag-1';
const TIMER_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:CivicCell-ViolationTimer';

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

let ddb: LocalDynamoDb;
let scheduler: LocalScheduler;
let schedulerClient: SchedulerClient;
let loop: typeof import('./loop.js');
let store: typeof import('./store.js');
let engine: typeof import('./engine.js');

beforeAll(async () => {
  ddb = await startCivicTable();
  // The Lambda service is not under test: the deadlines lie minutes ahead and never fire here.
  scheduler = await startScheduler({ lambda: { invokeAsync: () => undefined, spec: () => ({}) as never } });
  const down = await freePort();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SCHEDULER: scheduler.endpoint,
    AWS_ENDPOINT_URL_IOT_DATA: `http://127.0.0.1:${down}`,
    TIMER_FUNCTION_ARN: TIMER_ARN,
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/CivicCell-SchedulerRole',
  });
  schedulerClient = new SchedulerClient({});
  loop = await import('./loop.js');
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
      data: { name: 'loop area' },
    },
    {
      kind: 'staff',
      id: 'loop-guard',
      subDistrictId: SD,
      companyId: COMPANY,
      parentKey: registry.parentKeyOf(SD, { kind: 'company', id: COMPANY }, 'staff'),
      sortKey: 'loop-guard',
      version: 1,
      data: { role: 'guard', handheldThing: 'loop-handheld', areaIds: [AREA] },
    },
  ]);
  await registry.putDeviceDirectory(device);
  await store.putOverride(SD, COMPOUND, 'fire-lane-occupied', { graceSeconds: 0 }, 0);
}, 90_000);
afterAll(async () => {
  await scheduler?.close();
  await ddb?.stop();
});

const deadlinesOf = async (violationId: string) => {
  const { Schedules = [] } = await schedulerClient.send(new ListSchedulesCommand({}));
  const events = await Promise.all(
    Schedules.map(async ({ Name }) => {
      const schedule = await schedulerClient.send(new GetScheduleCommand({ Name }));
      return JSON.parse(schedule.Target?.Input ?? '{}') as {
        violationId?: string;
        deadline?: { kind: string; chainIndex: number };
      };
    }),
  );
  return events.filter((event) => event.violationId === violationId).map((event) => event.deadline);
};

describe('a work order whose push fails', () => {
  it('still has its deadlines, so the acknowledgement deadline escalates it', async () => {
    const observedAt = new Date(Date.now() - 1_000).toISOString();
    const message = { signal: 'occupancy', observedAt, seq: 1, fields: { occupied: true } };
    const plan = await loop.planDeviceBatch([{ device, messages: [message] }], new Date().toISOString());
    const { failed } = await plan.apply();

    // The push failed, and the device's messages go back to the queue...
    expect(failed).toHaveLength(1);
    expect(failed[0]?.device.thingName).toBe(THING);
    // ...but the case stands, dispatched to the guard, with both deadlines scheduled.
    const violationId = engine.violationIdFor('fire-lane-occupied', THING, observedAt);
    const stored = await store.getViolation<{ status: string }, { handheldThing?: string; ackDueAt: string }>(
      violationId,
    );
    expect(stored?.violation.status).toBe('dispatched');
    expect(stored?.workOrders[0]?.handheldThing).toBe('loop-handheld');
    expect(await deadlinesOf(violationId)).toEqual(
      expect.arrayContaining([
        { kind: 'ack', chainIndex: 0 },
        { kind: 'handle', chainIndex: 0 },
      ]),
    );

    // The redelivered message finds the condition already active and does nothing: the deadlines are
    // what is left to act.
    const again = await loop.planDeviceBatch([{ device, messages: [message] }], new Date().toISOString());
    expect(await again.apply()).toEqual({ failed: [] });
    expect(await deadlinesOf(violationId)).toHaveLength(2);

    // When the acknowledgement deadline fires (here called as the Scheduler would, at its time), the
    // case escalates to the property manager, whose deadlines are scheduled in turn.
    await loop.onTimer(
      { kind: 'deadline', violationId, deadline: { kind: 'ack', chainIndex: 0 } },
      stored?.workOrders[0]?.ackDueAt ?? '',
    );
    const escalated = await store.getViolation<
      { chainIndex: number; escalations: number; assignee: string },
      unknown
    >(violationId);
    expect(escalated?.violation).toMatchObject({
      chainIndex: 1,
      escalations: 1,
      assignee: 'property-manager',
    });
    expect(await deadlinesOf(violationId)).toEqual(
      expect.arrayContaining([
        { kind: 'ack', chainIndex: 1 },
        { kind: 'handle', chainIndex: 1 },
      ]),
    );
  }, 30_000);
});
