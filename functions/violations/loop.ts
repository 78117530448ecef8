/**
 * The closed loop's use cases, shared by the ingest, timer and API handlers: evaluate a device message
 * against the compound's scenarios, open and dispatch violations, push work orders to handhelds through
 * the IoT data plane, keep deadlines as EventBridge Scheduler one-time schedules, escalate, and record
 * acknowledgement, handling and verification. Every step is idempotent: ids are derived from what
 * happened, and state is written only if nobody wrote it meanwhile.
 */
import { createHash } from 'node:crypto';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import type { DeviceDirectoryEntry } from '../registry/store.js';
import { getDeviceDirectory, getRecord, listAllRecords, parentKeyOf } from '../registry/store.js';
import { RESIDENT_CODE_SCENARIOS, requestCaseForViolation } from '../resident/violation-event.js';
import { onFirstUse } from '../shared/clients.js';
import { requireEnv } from '../shared/env.js';
import { count, logger } from '../shared/observability.js';
import { timersFor } from '../shared/timers.js';
import {
  absenceDueAt,
  acknowledge,
  advancesWatermark,
  awaitsHandleDeadline,
  type ConditionAction,
  type ConditionState,
  clearBySensor,
  dispatch,
  freeSpaces,
  handle,
  missedDeadline,
  onAbsenceCheck,
  onDeadline,
  onGraceElapsed,
  onSignal,
  openViolation,
  type Violation,
  withWatermark,
} from './engine.js';
import { type Scenario, scenariosFor } from './scenarios.js';
import {
  conditionKey,
  getCondition,
  getConditions,
  getConditionsSeen,
  getViolation,
  listDueAbsences,
  putCondition,
  putViolation,
  type Seen,
  StaleWriteError,
  type StoredCondition,
} from './store.js';
import { effectiveScenarios } from './watch.js';

const iotData = onFirstUse(() => new IoTDataPlaneClient({}));

/** The work order a handheld receives, and what the violation keeps of each dispatch. */
export interface WorkOrder {
  workOrderId: string;
  violationId: string;
  chainIndex: number;
  assignee: string;
  staffId?: string;
  handheldThing?: string;
  dispatchedAt: string;
  ackDueAt: string;
  handleDueAt: string;
}

export type TimerEvent =
  | { kind: 'grace'; thingName: string; scenarioId: string; subDistrictId: string; compoundId: string }
  | { kind: 'deadline'; violationId: string; deadline: { kind: 'ack' | 'handle'; chainIndex: number } };

const digest = (...parts: string[]) =>
  createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
const MAX_ATTEMPTS = 5;
/** Absence conditions one sweep checks at most; the rest wait for the next sweep minutes later. */
const ABSENCE_SWEEP_LIMIT = 500;

/**
 * Per-container caches for the hot path (every device message): a compound's scenarios and the device
 * directory change rarely, so ingest reads them at most every CACHE_MS. A tuning or a decommissioning
 * therefore reaches running ingest containers within that time; the API always reads fresh.
 */
const CACHE_MS = 30_000;
const scenarioCache = new Map<string, { at: number; value: Promise<Scenario[]> }>();
const directoryCache = new Map<string, { at: number; value: Promise<DeviceDirectoryEntry | undefined> }>();

const cached = <T>(
  cache: Map<string, { at: number; value: Promise<T> }>,
  key: string,
  load: () => Promise<T>,
): Promise<T> => {
  const hit = cache.get(key);
  if (hit !== undefined && Date.now() - hit.at < CACHE_MS) return hit.value;
  const value = load();
  value.catch(() => cache.delete(key));
  cache.set(key, { at: Date.now(), value });
  return value;
};

/** Caches only what was found: a record created a moment ago is found at once. */
const positive = async <T>(
  cache: Map<string, { at: number; value: Promise<T | undefined> }>,
  key: string,
  load: () => Promise<T | undefined>,
) => {
  const value = await cached(cache, key, load);
  if (value === undefined) cache.delete(key);
  return value;
};

/** Only devices that exist are cached: a device registered a moment ago is found at once. */
export const cachedDeviceDirectory = (thingName: string) =>
  positive(directoryCache, thingName, () => getDeviceDirectory(thingName));

const publish = async (topic: string, payload: unknown) => {
  await iotData().send(new PublishCommand({ topic, qos: 1, payload: Buffer.from(JSON.stringify(payload)) }));
};

/** Grace periods and deadlines: one-time schedules that invoke the feature's timer function. */
const timers = timersFor<TimerEvent>({
  functionArn: requireEnv('TIMER_FUNCTION_ARN'),
  roleArn: requireEnv('SCHEDULER_ROLE_ARN'),
  group: process.env.SCHEDULE_GROUP,
});

const graceTimerName = (thingName: string, scenarioId: string, at: string) =>
  `grace-${digest(thingName, scenarioId, at)}`;

/** One action of a condition, with the state before the message that caused it. */
interface ConditionStep {
  action: ConditionAction;
  before?: ConditionState;
}

/**
 * Runs `step` on the stored condition and writes its result; on a concurrent write it reads again and
 * retries, so exactly one of two racing deliveries decides. The first read may be given (`prefetched`:
 * a batch reads all its conditions at once). A state without actions is written only when it moves
 * an absence deadline (a presence signal). Returns the actions to carry out.
 */
const withCondition = async (
  scenario: Scenario,
  thingName: string,
  step: (state: ConditionState | undefined) => { state: ConditionState; steps: ConditionStep[] },
  prefetched?: { stored: StoredCondition<ConditionState> | undefined },
): Promise<ConditionStep[]> => {
  for (let attempt = 1; ; attempt++) {
    const stored =
      attempt === 1 && prefetched !== undefined
        ? prefetched.stored
        : await getCondition<ConditionState>(thingName, scenario.scenarioId);
    const result = step(stored?.state);
    const dueAt = absenceDueAt(scenario, result.state);
    if (result.steps.length === 0 && dueAt === stored?.dueAt) return [];
    try {
      await putCondition(thingName, scenario.scenarioId, result.state, stored?.version ?? 0, dueAt);
      return result.steps;
    } catch (error) {
      if (!(error instanceof StaleWriteError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
};

/** A single transition as steps (timers and API calls change one condition at a time). */
const single = (
  before: ConditionState | undefined,
  result: { state: ConditionState; actions: ConditionAction[] },
) => ({
  state: result.state,
  steps: result.actions.filter((action) => action.kind !== 'ignore').map((action) => ({ action, before })),
});

export interface DeviceMessage {
  signal: string;
  observedAt: string;
  seq?: number;
  fields: Record<string, unknown>;
}

/** Device time, then sequence: the order the device meant, whatever order delivery chose. */
const byDeviceOrder = (a: DeviceMessage, b: DeviceMessage) =>
  a.observedAt < b.observedAt ? -1 : a.observedAt > b.observedAt ? 1 : (a.seq ?? 0) - (b.seq ?? 0);

/** The scenarios a device's messages concern, each with the messages (in device order) it listens to. */
const scenarioWork = async (device: DeviceDirectoryEntry, messages: DeviceMessage[]) => {
  const compoundScenarios = await cached(scenarioCache, `${device.subDistrictId}/${device.compoundId}`, () =>
    effectiveScenarios(device.subDistrictId, device.compoundId),
  );
  const work = new Map<string, { scenario: Scenario; messages: DeviceMessage[] }>();
  for (const message of [...messages].sort(byDeviceOrder)) {
    for (const scenario of scenariosFor(device.type, message.signal, compoundScenarios, device.zoneKind)) {
      const entry = work.get(scenario.scenarioId) ?? { scenario, messages: [] };
      entry.messages.push(message);
      work.set(scenario.scenarioId, entry);
    }
  }
  return [...work.values()];
};

/** A device's messages folded over one scenario's condition, in device order. */
const foldMessages =
  (scenario: Scenario, thingName: string, messages: DeviceMessage[], seen: Seen | undefined) =>
  (state: ConditionState | undefined): { state: ConditionState; steps: ConditionStep[] } => {
    let current = withWatermark(scenario, thingName, state, seen);
    const steps: ConditionStep[] = [];
    for (const message of messages) {
      const result = onSignal(scenario, current, { thingName, ...message });
      steps.push(...single(current, result).steps);
      current = result.state;
    }
    return { state: current as ConditionState, steps };
  };

/** A condition a batch changes (written by `fold`), or only resumes (`resumes`, nothing written). */
interface PlannedCondition {
  scenario: Scenario;
  fold?: (state: ConditionState | undefined) => { state: ConditionState; steps: ConditionStep[] };
  stored?: StoredCondition<ConditionState>;
  resumes: ConditionStep[];
}

export interface PlannedBatch {
  /** Watermarks of conditions the batch moved on without changing them: stored with the telemetry. */
  seen: Seen[];
  /** Writes the conditions that changed and carries out their actions; failed devices are returned. */
  apply(): Promise<{ failed: { device: DeviceDirectoryEntry; error: Error }[] }>;
}

/**
 * Evaluates a batch of accepted messages, per device and scenario: the device's messages are applied
 * in device order to the condition in one go. Every condition the batch touches is read, with its
 * watermark, in one BatchGetItem. A condition the messages merely moved on (nothing to do, no absence
 * deadline moved) is not written: its new watermark is returned in `seen`, for the caller to store
 * with the batch's telemetry, so a message older than it is stale however late it comes. The others
 * are written (conditionally, on the version read) and their actions carried out by `apply`, devices
 * in parallel; a device whose evaluation fails is reported (its messages are retried), the others
 * stand.
 */
export const planDeviceBatch = async (
  groups: { device: DeviceDirectoryEntry; messages: DeviceMessage[] }[],
  now: string,
): Promise<PlannedBatch> => {
  const planned = await Promise.all(
    groups.map(async ({ device, messages }) => ({ device, work: await scenarioWork(device, messages) })),
  );
  const read = await getConditionsSeen<ConditionState>(
    planned.flatMap(({ device, work }) =>
      work.map(({ scenario }) => ({ thingName: device.thingName, scenarioId: scenario.scenarioId })),
    ),
  );
  const seen: Seen[] = [];
  const writes = planned.map(({ device, work }) => ({
    device,
    conditions: work.flatMap(({ scenario, messages }): PlannedCondition[] => {
      const { stored, seen: watermark } =
        read.get(conditionKey({ thingName: device.thingName, scenarioId: scenario.scenarioId })) ?? {};
      const fold = foldMessages(scenario, device.thingName, messages, watermark);
      const before = withWatermark(scenario, device.thingName, stored?.state, watermark);
      const preview = fold(stored?.state);
      const changes = preview.steps.some(({ action }) => action.kind !== 'resume-violation');
      if (changes || absenceDueAt(scenario, preview.state) !== stored?.dueAt)
        return [{ scenario, fold, stored, resumes: [] }];
      if (advancesWatermark(before, preview.state))
        seen.push({
          thingName: device.thingName,
          scenarioId: scenario.scenarioId,
          lastObservedAt: preview.state.lastObservedAt as string,
          ...(preview.state.lastSeq === undefined ? {} : { lastSeq: preview.state.lastSeq }),
        });
      // A redelivered message that began an active episode: its case is resumed, the condition stays.
      return preview.steps.length > 0 ? [{ scenario, fold: undefined, stored, resumes: preview.steps }] : [];
    }),
  }));
  return {
    seen,
    apply: async () => {
      const outcomes = await Promise.allSettled(
        writes.map(async ({ device, conditions }) => {
          for (const { scenario, fold, stored, resumes } of conditions) {
            const steps =
              fold === undefined
                ? resumes
                : await withCondition(scenario, device.thingName, fold, { stored });
            await carryOut(device, scenario, steps, now);
          }
        }),
      );
      return {
        failed: outcomes.flatMap((outcome, index) =>
          outcome.status === 'rejected'
            ? [{ device: (writes[index] as (typeof writes)[number]).device, error: outcome.reason as Error }]
            : [],
        ),
      };
    },
  };
};

const carryOut = async (
  device: DeviceDirectoryEntry,
  scenario: Scenario,
  steps: ConditionStep[],
  now: string,
) => {
  for (const { action, before } of steps) {
    switch (action.kind) {
      case 'schedule-grace':
        await timers.schedule(graceTimerName(device.thingName, scenario.scenarioId, action.at), action.at, {
          kind: 'grace',
          thingName: device.thingName,
          scenarioId: scenario.scenarioId,
          subDistrictId: device.subDistrictId,
          compoundId: device.compoundId,
        });
        break;
      case 'cancel-grace':
        if (before?.graceUntil)
          await timers.cancel(graceTimerName(device.thingName, scenario.scenarioId, before.graceUntil));
        break;
      case 'open-violation':
        await openAndDispatch(device, scenario, action, now);
        break;
      case 'resume-violation':
        await resumeViolation(device, scenario, action, now);
        break;
      case 'clear': {
        const violationId = action.violationId ?? before?.violationId;
        if (violationId !== undefined) await clearViolation(violationId, scenario, device.thingName, now);
        break;
      }
      case 'command':
        await publish(`cmd/civic/${device.compoundId}/${device.thingName}/${action.command}`, {
          ...action.payload,
          scenarioId: scenario.scenarioId,
          at: now,
        });
        break;
      case 'guidance':
        await pushFreeSpaces(device, scenario, now);
        break;
      case 'ignore':
        break;
    }
  }
};

/** A compound's devices (registry records), cached per container like the directory. */
const compoundDevicesCache = new Map<
  string,
  { at: number; value: Promise<{ thingName: string; type?: string; zoneId?: string; status?: string }[]> }
>();

/**
 * Parking guidance: after a space in a zone changed, recounts the zone's free spaces from its sensors'
 * guidance conditions and pushes `{zoneId, free, total, countedAt}` to every guidance screen of the
 * compound on `cmd/civic/<compound>/<screen>/free-spaces`. Counts are read after the change was
 * written, so the latest `countedAt` a screen holds is never older than the latest change.
 */
const pushFreeSpaces = async (device: DeviceDirectoryEntry, scenario: Scenario, now: string) => {
  if (device.zoneId === undefined) return;
  const devices = await cached(
    compoundDevicesCache,
    `${device.subDistrictId}/${device.compoundId}`,
    async () =>
      (
        await listAllRecords<{ type?: string; zoneId?: string; status?: string }>(
          parentKeyOf(device.subDistrictId, { kind: 'compound', id: device.compoundId }, 'device'),
        )
      ).map((record) => ({ thingName: record.id, ...record.data })),
  );
  const active = devices.filter((candidate) => candidate.status !== 'decommissioned');
  const screens = active.filter((candidate) => candidate.type === 'guidance-screen');
  if (screens.length === 0) return;
  const sensors = new Set(
    active
      .filter((candidate) => candidate.type === device.type && candidate.zoneId === device.zoneId)
      .map((candidate) => candidate.thingName),
  );
  sensors.add(device.thingName); // registered after the cache was filled
  const states = await getConditions<ConditionState>(
    [...sensors].map((thingName) => ({ thingName, scenarioId: scenario.scenarioId })),
  );
  const counts = freeSpaces(
    device.zoneId,
    [...sensors],
    [...states.values()].map((stored) => stored.state),
  );
  const countedAt = new Date().toISOString();
  await Promise.all(
    screens.map((screen) =>
      publish(`cmd/civic/${device.compoundId}/${screen.thingName}/free-spaces`, { ...counts, countedAt }),
    ),
  );
  logger.info('Free spaces pushed', { ...counts, screens: screens.length, at: now });
};

/** The action's violation id derives from scenario, thing and episode: a retried delivery opens the same one. */
const openAndDispatch = async (
  device: DeviceDirectoryEntry,
  scenario: Scenario,
  { observedAt, violationId }: { observedAt: string; violationId: string },
  now: string,
) => {
  const companyId = await companyOf(device);
  const opened = openViolation({
    violationId,
    scenario,
    compoundId: device.compoundId,
    zoneId: device.zoneId,
    companyId,
    thingName: device.thingName,
    observedAt,
    now,
  });
  const { violation, assignee } = dispatch(opened, scenario, now);
  const workOrder = workOrderFor(violation, assignee, await recipientFor(device, assignee), now);
  // Opened and dispatched in one write: a sensor clearing a moment later finds a dispatched case.
  try {
    await putViolation<Violation, WorkOrder>(
      {
        violationId,
        subDistrictId: device.subDistrictId,
        compoundId: device.compoundId,
        violation,
        workOrders: [workOrder],
      },
      0,
      now,
    );
  } catch (error) {
    // Already opened by an earlier delivery, which sent the work order (and may have failed to open the
    // resident-code case; opening it is idempotent).
    if (error instanceof StaleWriteError) {
      await openResidentCase(device, scenario, violationId, observedAt, now);
      return;
    }
    throw error;
  }
  count('ViolationsOpened');
  logger.info('Violation opened', {
    violationId,
    scenarioId: scenario.scenarioId,
    thingName: device.thingName,
  });
  await sendWorkOrder(device, scenario, violation, workOrder, now);
  await openResidentCase(device, scenario, violationId, observedAt, now);
};

/**
 * Corridor clutter and garbage not sorted are also cases of the resident code, where a covenant of the
 * area binds (functions/resident): its timer function opens it, once per violation, naming the floor.
 */
const openResidentCase = async (
  device: DeviceDirectoryEntry,
  scenario: Scenario,
  violationId: string,
  observedAt: string,
  now: string,
) => {
  if (!RESIDENT_CODE_SCENARIOS.has(scenario.scenarioId)) return;
  await requestCaseForViolation(
    {
      subDistrictId: device.subDistrictId,
      compoundId: device.compoundId,
      ...(device.areaId === undefined ? {} : { areaId: device.areaId }),
      scenarioId: scenario.scenarioId,
      violationId,
      thingName: device.thingName,
      zoneId: device.zoneId,
      ...(device.building === undefined ? {} : { building: device.building }),
      ...(device.floor === undefined ? {} : { floor: device.floor }),
      observedAt,
    },
    now,
  );
};

/**
 * Makes sure a case whose activating message came again was carried through: the delivery that first
 * acted on it wrote the condition, and may then have failed (a crash, the table or the Scheduler
 * refusing) before storing the case or scheduling its deadline, after which nothing else would. A case
 * that is missing is opened and dispatched now, exactly as then; an open one gets its current work
 * order's acknowledgement deadline again (same name: a timer that exists is left as it is), or has it
 * checked at once when it is already past (which sets the handling deadline in turn, if that can still
 * matter). The push is not repeated for a stored case: a lost push is what the acknowledgement
 * deadline is for. Redeliveries by the broker come milliseconds after the original, so this usually
 * finds everything in place; racing the original, the case's conditional write lets one of the two
 * dispatch.
 */
const resumeViolation = async (
  device: DeviceDirectoryEntry,
  scenario: Scenario,
  { observedAt, violationId }: { observedAt: string; violationId: string },
  now: string,
) => {
  const stored = await getViolation<Violation, WorkOrder>(violationId);
  if (stored === undefined) {
    logger.warn('Resuming a case that was never stored', { violationId });
    await openAndDispatch(device, scenario, { observedAt, violationId }, now);
    return;
  }
  const { violation, workOrders } = stored;
  if (violation.status !== 'dispatched' && violation.status !== 'acknowledged') return;
  const workOrder = workOrders.find((order) => order.chainIndex === violation.chainIndex);
  if (workOrder === undefined) return;
  await armDeadline(violationId, workOrder, 'ack', now);
};

/** The area's property company, cached per container like the directory (positive results only). */
const companyCache = new Map<string, { at: number; value: Promise<string | undefined> }>();
const staffCache = new Map<
  string,
  { at: number; value: Promise<{ id: string; role: string; handheldThing?: string; areaIds: string[] }[]> }
>();
const zoneCache = new Map<
  string,
  { at: number; value: Promise<{ name?: string; position?: unknown } | undefined> }
>();

/** The property company serving the device's area now (its current contract), if any. */
const companyOf = (device: DeviceDirectoryEntry): Promise<string | undefined> => {
  const areaId = device.areaId;
  if (areaId === undefined) return Promise.resolve(undefined);
  return positive(companyCache, `${device.subDistrictId}/${areaId}`, async () => {
    const area = await getRecord(device.subDistrictId, 'area', areaId);
    return area?.companyId;
  });
};

/** Finds who carries out a chain step: the on-duty staff of the area's property company, by role. */
const recipientFor = async (
  device: DeviceDirectoryEntry,
  assignee: string,
): Promise<{ staffId?: string; handheldThing?: string }> => {
  const role =
    assignee === 'property-guard' ? 'guard' : assignee === 'property-manager' ? 'manager' : undefined;
  const areaId = device.areaId;
  if (role === undefined || areaId === undefined) return {};
  const companyId = await companyOf(device);
  if (companyId === undefined) return {};
  const staff = await cached(staffCache, `${device.subDistrictId}/${companyId}`, async () =>
    (
      await listAllRecords<{ role: string; handheldThing?: string; areaIds?: string[] }>(
        parentKeyOf(device.subDistrictId, { kind: 'company', id: companyId }, 'staff'),
      )
    ).map((member) => ({
      id: member.id,
      role: member.data.role,
      handheldThing: member.data.handheldThing,
      areaIds: member.data.areaIds ?? [],
    })),
  );
  const onDuty = staff.find(
    (member) => member.role === role && member.areaIds.includes(areaId) && member.handheldThing,
  );
  if (onDuty === undefined) {
    staffCache.delete(`${device.subDistrictId}/${companyId}`); // staff added a moment ago is found
    return {};
  }
  return { staffId: onDuty.id, handheldThing: onDuty.handheldThing };
};

const zoneOf = (device: DeviceDirectoryEntry) =>
  device.zoneId === undefined
    ? Promise.resolve(undefined)
    : positive(zoneCache, `${device.subDistrictId}/${device.compoundId}.${device.zoneId}`, async () => {
        const zone = await getRecord<{ name?: string; position?: unknown }>(
          device.subDistrictId,
          'zone',
          `${device.compoundId}.${device.zoneId}`,
        );
        return zone?.data;
      });

const deviceOf = (thingName: string) => getDeviceDirectory(thingName);

const workOrderFor = (
  violation: Violation,
  assignee: string,
  recipient: { staffId?: string; handheldThing?: string },
  now: string,
): WorkOrder => ({
  workOrderId: `${violation.violationId}.${violation.chainIndex}`,
  violationId: violation.violationId,
  chainIndex: violation.chainIndex,
  assignee,
  ...recipient,
  dispatchedAt: now,
  ackDueAt: violation.ackDueAt as string,
  handleDueAt: violation.handleDueAt as string,
});

/**
 * Sets one of a work order's deadlines: a one-time schedule at its time, named after the work order, or,
 * when that time has already come, the check itself, at once.
 */
const armDeadline = async (
  violationId: string,
  workOrder: WorkOrder,
  kind: 'ack' | 'handle',
  now: string,
) => {
  const dueAt = kind === 'ack' ? workOrder.ackDueAt : workOrder.handleDueAt;
  const event: TimerEvent = {
    kind: 'deadline',
    violationId,
    deadline: { kind, chainIndex: workOrder.chainIndex },
  };
  if (Date.parse(dueAt) <= Date.parse(now)) await onTimer(event, now);
  else await timers.schedule(`${kind}-${digest(workOrder.workOrderId)}`, dueAt, event);
};

/**
 * Sends a recorded work order: the push to its handheld, then its acknowledgement deadline. The
 * deadline is set whatever became of the push, so a push that fails (the IoT publish throwing) still
 * leaves it, and it escalates the case: a redelivery of the message resumes a stored case without
 * pushing it again (`resumeViolation`). The push goes first and alone, as it is what the guard is
 * waiting for: CreateSchedule calls sent beside it took CPU from it, in this function and in the
 * service (at 200 messages/s, from the publish call to its return: p50 9.6 ms beside two of them, 5.5 ms
 * alone). The handling deadline, which never falls before the acknowledgement deadline (the scenario
 * schema refuses a shorter one), is set when that one has passed, and only if it can still matter
 * (`onTimer`): most cases close before either, and then one schedule is all they cost. Timer names
 * derive from the work order, so a second attempt's timer is the first's.
 */
const sendWorkOrder = async (
  device: DeviceDirectoryEntry,
  scenario: Scenario,
  violation: Violation,
  workOrder: WorkOrder,
  now: string,
) => {
  const zone = workOrder.handheldThing === undefined ? undefined : await zoneOf(device);
  const pushed = await pushWorkOrder(device, scenario, violation, workOrder, zone).then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await armDeadline(violation.violationId, workOrder, 'ack', now);
  if (!pushed.ok) throw pushed.error;
};

/** Pushes a recorded work order to its handheld (when its assignee has one). */
const pushWorkOrder = async (
  device: DeviceDirectoryEntry,
  scenario: Scenario,
  violation: Violation,
  workOrder: WorkOrder,
  zone: { name?: string; position?: unknown } | undefined,
) => {
  if (workOrder.handheldThing !== undefined) {
    await publish(`cmd/civic/${device.compoundId}/${workOrder.handheldThing}/work-orders`, {
      workOrderId: workOrder.workOrderId,
      violationId: violation.violationId,
      scenarioId: scenario.scenarioId,
      title: scenario.title,
      severity: violation.severity,
      zone: { zoneId: device.zoneId, name: zone?.name, position: zone?.position },
      building: device.building,
      sensor: { thingName: device.thingName, position: device.position },
      assignee: workOrder.assignee,
      ackDueAt: workOrder.ackDueAt,
      handleDueAt: workOrder.handleDueAt,
    });
  }
  logger.info('Work order dispatched', {
    workOrderId: workOrder.workOrderId,
    assignee: workOrder.assignee,
    handheld: workOrder.handheldThing,
  });
};

const scenarioFor = async (subDistrictId: string, compoundId: string, scenarioId: string) =>
  (await effectiveScenarios(subDistrictId, compoundId)).find(
    (scenario) => scenario.scenarioId === scenarioId,
  );

/** Applies a change to a stored violation, retrying on concurrent writes; returns the result. */
export const updateViolation = async (
  violationId: string,
  change: (violation: Violation, workOrders: WorkOrder[]) => Violation,
  now: string,
) => {
  for (let attempt = 1; ; attempt++) {
    const stored = await getViolation<Violation, WorkOrder>(violationId);
    if (stored === undefined) return undefined;
    const violation = change(stored.violation, stored.workOrders);
    if (violation === stored.violation) return stored;
    try {
      await putViolation({ ...stored, violation }, stored.version, now);
      return { ...stored, violation, version: stored.version + 1 };
    } catch (error) {
      if (!(error instanceof StaleWriteError) || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
};

const clearViolation = async (violationId: string, scenario: Scenario, thingName: string, now: string) => {
  await updateViolation(violationId, (violation) => clearBySensor(violation, scenario, thingName, now), now);
};

/** Timer events: a grace period that elapsed, or a deadline to check. */
export const onTimer = async (event: TimerEvent, now: string) => {
  if (event.kind === 'grace') {
    const scenario = await scenarioFor(event.subDistrictId, event.compoundId, event.scenarioId);
    const device = await deviceOf(event.thingName);
    if (scenario === undefined || device === undefined) return;
    const stored = await getCondition<ConditionState>(event.thingName, event.scenarioId);
    if (stored === undefined) return;
    const steps = await withCondition(
      scenario,
      event.thingName,
      (state) =>
        state === undefined
          ? { state: stored.state, steps: [] }
          : single(state, onGraceElapsed(scenario, state, now)),
      { stored },
    );
    await carryOut(device, scenario, steps, now);
    return;
  }
  const stored = await getViolation<Violation, WorkOrder>(event.violationId);
  if (stored === undefined) return;
  const scenario = await scenarioFor(stored.subDistrictId, stored.compoundId, stored.violation.scenarioId);
  const device = await deviceOf(stored.violation.thingName);
  if (scenario === undefined || device === undefined) return;
  // The escalation and the next step's work order are one write, so nothing can slip in between.
  for (let attempt = 1; ; attempt++) {
    const current = attempt === 1 ? stored : await getViolation<Violation, WorkOrder>(event.violationId);
    if (current === undefined) return;
    const { violation, escalatedTo } = onDeadline(current.violation, scenario, event.deadline, now);
    if (escalatedTo === undefined) {
      // At the last step a missed deadline has nobody to escalate to: it is overdue all the same.
      if (missedDeadline(current.violation, event.deadline, now)) count('WorkOrdersOverdue');
      // Acknowledged in time, or the last step: the handling deadline comes next, if it can still act.
      if (
        event.deadline.kind !== 'ack' ||
        !awaitsHandleDeadline(violation, scenario, event.deadline.chainIndex, now)
      )
        return;
      const order = current.workOrders.find(({ chainIndex }) => chainIndex === event.deadline.chainIndex);
      if (order !== undefined) await armDeadline(event.violationId, order, 'handle', now);
      return;
    }
    const workOrder = workOrderFor(violation, escalatedTo, await recipientFor(device, escalatedTo), now);
    try {
      await putViolation(
        { ...current, violation, workOrders: [...current.workOrders, workOrder] },
        current.version,
        now,
      );
    } catch (error) {
      if (error instanceof StaleWriteError && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
    count('WorkOrdersOverdue');
    count('WorkOrdersEscalated');
    logger.info('Violation escalated', { violationId: event.violationId, escalatedTo });
    await sendWorkOrder(device, scenario, violation, workOrder, now);
    return;
  }
};

/**
 * The periodic absence check (an EventBridge rule every few minutes): every absence condition whose
 * silence has lasted its duration opens its case, dispatched like any other. A condition of a device
 * that is gone, or of a scenario no longer an absence, leaves the list. Returns how many were checked.
 */
export const onAbsenceSweep = async (now: string): Promise<number> => {
  const due = await listDueAbsences(now, ABSENCE_SWEEP_LIMIT);
  const outcomes = await Promise.allSettled(
    due.map(async ({ thingName, scenarioId }) => {
      const device = await deviceOf(thingName);
      const scenario =
        device === undefined || device.status !== 'active'
          ? undefined
          : await scenarioFor(device.subDistrictId, device.compoundId, scenarioId);
      if (device === undefined || scenario === undefined || scenario.condition.kind !== 'absence') {
        const stored = await getCondition<ConditionState>(thingName, scenarioId);
        if (stored !== undefined) await putCondition(thingName, scenarioId, stored.state, stored.version);
        return;
      }
      const steps = await withCondition(scenario, thingName, (state) =>
        single(state, onAbsenceCheck(scenario, undefined, state, now, thingName)),
      );
      await carryOut(device, scenario, steps, now);
    }),
  );
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.status === 'rejected')
      logger.error('Absence check failed; the next sweep tries again', {
        ...due[index],
        error: (outcome.reason as Error).message,
      });
  }
  return due.length;
};

/** A handheld (or the API) acknowledges or reports handling of a work order. */
export const onWorkOrderReport = async (
  report: { workOrderId: string; kind: 'ack' | 'handled'; actor: string; note?: string },
  now: string,
) => {
  const violationId = report.workOrderId.split('.')[0] as string;
  return updateViolation(
    violationId,
    (violation) =>
      report.kind === 'ack'
        ? acknowledge(violation, report.actor, now)
        : handle(violation, report.actor, report.note ?? '', now),
    now,
  );
};
