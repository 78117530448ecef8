import {
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
} from '@aws-sdk/client-scheduler';
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
let watch: typeof import('./watch.js');
let registry: typeof import('../registry/store.js');

beforeAll(async () => {
  ddb = await startCivicTable();
  // The Lambda service is not under test: the deadlines lie minutes ahead and never fire here.
  scheduler = await startScheduler({ lambda: { invokeAsync: () => undefined, spec: () => ({}) as never } });
  const down = await freePort();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SCHEDULER: scheduler.endpoint,
    AWS_ENDPOINT_URL_IOT_DATA_PLANE: `http://127.0.0.1:${down}`,
    TIMER_FUNCTION_ARN: TIMER_ARN,
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/CivicCell-SchedulerRole',
  });
  schedulerClient = new SchedulerClient({});
  loop = await import('./loop.js');
  store = await import('./store.js');
  engine = await import('./engine.js');
  watch = await import('./watch.js');
  registry = await import('../registry/store.js');
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

const schedulesOf = async (violationId: string) => {
  const { Schedules = [] } = await schedulerClient.send(new ListSchedulesCommand({}));
  const events = await Promise.all(
    Schedules.map(async ({ Name }) => {
      const schedule = await schedulerClient.send(new GetScheduleCommand({ Name }));
      return {
        name: Name as string,
        ...(JSON.parse(schedule.Target?.Input ?? '{}') as {
          violationId?: string;
          deadline?: { kind: string; chainIndex: number };
        }),
      };
    }),
  );
  return events.filter((event) => event.violationId === violationId);
};
const deadlinesOf = async (violationId: string) =>
  (await schedulesOf(violationId)).map((event) => event.deadline);

describe('a work order whose push fails', () => {
  it('still has its acknowledgement deadline, which escalates it', async () => {
    const observedAt = new Date(Date.now() - 1_000).toISOString();
    const message = { signal: 'occupancy', observedAt, seq: 1, fields: { occupied: true } };
    const plan = await loop.planDeviceBatch([{ device, messages: [message] }], new Date().toISOString());
    const { failed } = await plan.apply();

    // The push failed, and the device's messages go back to the queue...
    expect(failed).toHaveLength(1);
    expect(failed[0]?.device.thingName).toBe(THING);
    // ...but the case stands, dispatched to the guard, with its acknowledgement deadline scheduled (the
    // handling deadline waits for that one to pass).
    const violationId = engine.violationIdFor('fire-lane-occupied', THING, observedAt);
    const stored = await store.getViolation<{ status: string }, { handheldThing?: string; ackDueAt: string }>(
      violationId,
    );
    expect(stored?.violation.status).toBe('dispatched');
    expect(stored?.workOrders[0]?.handheldThing).toBe('loop-handheld');
    expect(await deadlinesOf(violationId)).toEqual([{ kind: 'ack', chainIndex: 0 }]);

    // The redelivered message finds the condition already active and its case stored: it changes
    // nothing and pushes nothing (its deadline exists already); the deadline is what is left to act.
    const again = await loop.planDeviceBatch([{ device, messages: [message] }], new Date().toISOString());
    expect(await again.apply()).toEqual({ failed: [] });
    expect(await deadlinesOf(violationId)).toEqual([{ kind: 'ack', chainIndex: 0 }]);

    // When the acknowledgement deadline fires (here called as the Scheduler would, at its time), the
    // case escalates to the property manager, whose acknowledgement deadline is scheduled in turn. The
    // guard's handling deadline never is: the guard's order no longer counts.
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
        { kind: 'ack', chainIndex: 0 }, // called directly here, so the Scheduler did not delete it
        { kind: 'ack', chainIndex: 1 },
      ]),
    );
    expect(await deadlinesOf(violationId)).toHaveLength(2);
  }, 30_000);
});

describe('a redelivered message that began an active episode', () => {
  const lane = (thingName: string): DeviceDirectoryEntry => ({ ...device, thingName });
  const park = (observedAt: string) => ({
    signal: 'occupancy',
    observedAt,
    seq: 1,
    fields: { occupied: true },
  });
  type Case = { status: string; chainIndex: number; assignee: string };
  type Order = { chainIndex: number; ackDueAt: string };

  it('opens and dispatches the case the first delivery never stored', async () => {
    // The first delivery wrote the condition and then failed (a crash, say) before storing the case.
    const thingName = 'loop-geomag-2';
    const observedAt = new Date(Date.now() - 1_000).toISOString();
    const scenario = (await watch.effectiveScenarios(SD, COMPOUND)).find(
      (candidate) => candidate.scenarioId === 'fire-lane-occupied',
    );
    if (scenario === undefined) throw new Error('no fire-lane scenario');
    const first = engine.onSignal(scenario, undefined, { thingName, ...park(observedAt) });
    expect(first.actions.map((action) => action.kind)).toEqual(['open-violation']);
    await store.putCondition(thingName, scenario.scenarioId, first.state, 0);
    const violationId = engine.violationIdFor(scenario.scenarioId, thingName, observedAt);
    expect(await store.getViolation(violationId)).toBeUndefined();

    const again = await loop.planDeviceBatch(
      [{ device: lane(thingName), messages: [park(observedAt)] }],
      new Date().toISOString(),
    );
    const { failed } = await again.apply();
    expect(failed.map(({ device }) => device.thingName)).toEqual([thingName]); // the push, here
    const stored = await store.getViolation<Case, Order>(violationId);
    expect(stored?.violation).toMatchObject({
      status: 'dispatched',
      chainIndex: 0,
      assignee: 'property-guard',
    });
    expect(await deadlinesOf(violationId)).toEqual([{ kind: 'ack', chainIndex: 0 }]);
    // The condition was only read: resuming writes no state.
    expect((await store.getCondition(thingName, scenario.scenarioId))?.version).toBe(1);
  }, 30_000);

  it('schedules the deadline a failed Scheduler call left out, and checks it at once when already due', async () => {
    const thingName = 'loop-geomag-3';
    const registry = await import('../registry/store.js');
    await registry.putDeviceDirectory(lane(thingName)); // the deadline check reads the device
    const observedAt = new Date(Date.now() - 1_000).toISOString();
    const opened = await loop.planDeviceBatch(
      [{ device: lane(thingName), messages: [park(observedAt)] }],
      new Date().toISOString(),
    );
    await opened.apply();
    const violationId = engine.violationIdFor('fire-lane-occupied', thingName, observedAt);
    const schedules = await schedulesOf(violationId);
    expect(schedules).toHaveLength(1);
    // As if the Scheduler had refused it: the case stands without its deadline.
    for (const { name } of schedules) await schedulerClient.send(new DeleteScheduleCommand({ Name: name }));
    expect(await deadlinesOf(violationId)).toEqual([]);

    const again = await loop.planDeviceBatch(
      [{ device: lane(thingName), messages: [park(observedAt)] }],
      new Date().toISOString(),
    );
    expect(await again.apply()).toEqual({ failed: [] }); // nothing pushed again
    expect(await deadlinesOf(violationId)).toEqual([{ kind: 'ack', chainIndex: 0 }]);
    expect((await store.getViolation<Case, Order>(violationId))?.violation.chainIndex).toBe(0);

    // Redelivered after the acknowledgement deadline: it is checked then and there, and escalates.
    const ackDueAt = (await store.getViolation<Case, Order>(violationId))?.workOrders[0]?.ackDueAt ?? '';
    const late = await loop.planDeviceBatch(
      [{ device: lane(thingName), messages: [park(observedAt)] }],
      new Date(Date.parse(ackDueAt) + 1_000).toISOString(),
    );
    await late.apply();
    expect((await store.getViolation<Case, Order>(violationId))?.violation).toMatchObject({
      chainIndex: 1,
      assignee: 'property-manager',
    });
  }, 30_000);
});

describe('the handling deadline', () => {
  type Case = { status: string; chainIndex: number; assignee: string };
  type Order = { workOrderId: string; chainIndex: number; ackDueAt: string; handleDueAt: string };
  const openCase = async (thingName: string) => {
    const registry = await import('../registry/store.js');
    const lane = { ...device, thingName };
    await registry.putDeviceDirectory(lane); // the deadline check reads the device
    const observedAt = new Date(Date.now() - 1_000).toISOString();
    const plan = await loop.planDeviceBatch(
      [{ device: lane, messages: [{ signal: 'occupancy', observedAt, seq: 1, fields: { occupied: true } }] }],
      new Date().toISOString(),
    );
    await plan.apply(); // the push fails (the data plane is down); the case and its deadline stand
    const violationId = engine.violationIdFor('fire-lane-occupied', thingName, observedAt);
    const order = (await store.getViolation<Case, Order>(violationId))?.workOrders[0];
    if (order === undefined) throw new Error('no work order');
    return { violationId, order, lane, observedAt };
  };
  const ackDeadline = (violationId: string) =>
    ({ kind: 'deadline', violationId, deadline: { kind: 'ack', chainIndex: 0 } }) as const;

  it('is scheduled when the acknowledgement deadline passes on an acknowledged order, and escalates it', async () => {
    const { violationId, order } = await openCase('loop-geomag-4');
    await loop.onWorkOrderReport(
      { workOrderId: order.workOrderId, kind: 'ack', actor: 'handheld:loop-handheld' },
      new Date().toISOString(),
    );
    expect(await deadlinesOf(violationId)).toEqual([{ kind: 'ack', chainIndex: 0 }]);

    await loop.onTimer(ackDeadline(violationId), order.ackDueAt);
    expect((await store.getViolation<Case, Order>(violationId))?.violation.status).toBe('acknowledged');
    expect(await deadlinesOf(violationId)).toEqual(
      expect.arrayContaining([
        { kind: 'ack', chainIndex: 0 },
        { kind: 'handle', chainIndex: 0 },
      ]),
    );
    // The acknowledgement timer firing twice sets the same handling timer.
    await loop.onTimer(ackDeadline(violationId), order.ackDueAt);
    expect(await deadlinesOf(violationId)).toHaveLength(2);

    await loop.onTimer(
      { kind: 'deadline', violationId, deadline: { kind: 'handle', chainIndex: 0 } },
      order.handleDueAt,
    );
    expect((await store.getViolation<Case, Order>(violationId))?.violation).toMatchObject({
      status: 'dispatched',
      chainIndex: 1,
      assignee: 'property-manager',
    });
  }, 30_000);

  it('is checked at once when the acknowledgement deadline is checked after it', async () => {
    const { violationId, order } = await openCase('loop-geomag-5');
    await loop.onWorkOrderReport(
      { workOrderId: order.workOrderId, kind: 'ack', actor: 'handheld:loop-handheld' },
      new Date().toISOString(),
    );
    await loop.onTimer(ackDeadline(violationId), order.handleDueAt);
    expect((await store.getViolation<Case, Order>(violationId))?.violation).toMatchObject({
      chainIndex: 1,
      assignee: 'property-manager',
    });
  }, 30_000);

  it('is never scheduled for a case closed before the acknowledgement deadline', async () => {
    const { violationId, order, lane, observedAt } = await openCase('loop-geomag-6');
    const leave = await loop.planDeviceBatch(
      [
        {
          device: lane,
          messages: [
            {
              signal: 'occupancy',
              observedAt: new Date(Date.parse(observedAt) + 500).toISOString(),
              seq: 2,
              fields: { occupied: false },
            },
          ],
        },
      ],
      new Date().toISOString(),
    );
    expect(await leave.apply()).toEqual({ failed: [] });
    expect((await store.getViolation<Case, Order>(violationId))?.violation.status).toBe('closed');

    await loop.onTimer(ackDeadline(violationId), order.ackDueAt);
    expect(await deadlinesOf(violationId)).toEqual([{ kind: 'ack', chainIndex: 0 }]);
  }, 30_000);
});

describe('a newly registered device', () => {
  it('is watched for silence from its registration, and found silent if it never reports', async () => {
    const meter: DeviceDirectoryEntry = {
      ...device,
      thingName: 'loop-meter-1',
      type: 'water-meter',
      zoneId: 'home',
      zoneKind: 'residence',
    };
    await registry.putDeviceDirectory(meter);
    // An earlier device of the same thing name, decommissioned, left an active silence condition, the
    // state of a scenario the new device does not run, and a watermark.
    await store.putCondition(
      meter.thingName,
      'no-water-use',
      { scenarioId: 'no-water-use', thingName: meter.thingName, status: 'active', violationId: 'old' },
      0,
    );
    await store.putCondition(
      meter.thingName,
      'fire-lane-occupied',
      { scenarioId: 'fire-lane-occupied', thingName: meter.thingName, status: 'grace' },
      0,
    );
    const registeredAt = new Date().toISOString();
    const day = (days: number) => new Date(Date.parse(registeredAt) + days * 86_400_000).toISOString();

    expect(await watch.watchNewDevice(meter, registeredAt)).toEqual(['device-silent', 'no-water-use']);
    expect(await store.getCondition(meter.thingName, 'no-water-use')).toEqual({
      state: {
        scenarioId: 'no-water-use',
        thingName: meter.thingName,
        status: 'idle',
        watchedSince: registeredAt,
      },
      version: 1,
      dueAt: day(1),
    });
    expect(await store.getCondition(meter.thingName, 'fire-lane-occupied')).toBeUndefined();
    expect((await store.getCondition(meter.thingName, 'device-silent'))?.dueAt).toBe(
      new Date(Date.parse(registeredAt) + 3_600_000).toISOString(),
    );
    // A fire-lane sensor has no absence scenario but device-silent.
    expect(await watch.watchNewDevice({ ...device, thingName: 'loop-geomag-9' }, registeredAt)).toEqual([
      'device-silent',
    ]);

    // The sweep, a moment before a day of silence, lists the meter for device-silent only; at a day
    // it opens the no-water-use case, counted from the registration, and lists nothing more for it.
    const noWaterUse = engine.violationIdFor('no-water-use', meter.thingName, registeredAt);
    const due = async (now: string) =>
      (await store.listDueAbsences(now, 500)).filter(({ thingName }) => thingName === meter.thingName);
    expect(await due(day(0.99))).toEqual([{ thingName: meter.thingName, scenarioId: 'device-silent' }]);
    await loop.onAbsenceSweep(day(0.99));
    expect(await store.getViolation(noWaterUse)).toBeUndefined();
    await loop.onAbsenceSweep(day(1));
    const opened = await store.getViolation<
      { status: string; assignee: string; steps: { action: string; at: string }[] },
      unknown
    >(noWaterUse);
    expect(opened?.violation).toMatchObject({ status: 'dispatched', assignee: 'caseworker' });
    expect(opened?.violation.steps[0]).toMatchObject({ action: 'discovered', at: day(1) });
    expect(await due(day(2))).toEqual([]);
  }, 30_000);
});
