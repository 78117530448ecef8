/**
 * The stories the simulator plays against a running cloud with the demo devices. Grace periods and
 * deadlines are the server's: a story waits for a work order as long as it is told, and when none
 * comes it still finishes, says so, and reports what it saw.
 */
import { DEMO } from '../local/demo-data.js';
import { type CivicApi, identityIn, writeCredentials } from './cloud-client.js';
import type { DeviceEndpoint, DeviceIdentity } from './device.js';
import { ElevatorCamera } from './devices/elevator-camera.js';
import { GeomagneticSensor } from './devices/geomagnetic-sensor.js';
import { Handheld, type WorkOrder } from './devices/handheld.js';
import { SmokeDetector } from './devices/smoke-detector.js';
import { CommandTimeoutError, connectShim, type DeviceShim, type ShimClass } from './shim.js';

export const SCENARIOS = ['fire-lane', 'e-bike', 'smoke'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioContext {
  api: CivicApi;
  mqtt: DeviceEndpoint;
  caPath: string;
  /** Where device credentials are (`<dir>/<thing>/…`), as the demo seed writes them. */
  devicesDir: string;
  /** How long to wait for the cloud's reaction (work order, hold-doors). */
  waitSeconds: number;
  /** How long to keep listening after the device clears (closure notices …). */
  settleSeconds: number;
  heartbeatSeconds: number;
  out: (line: string) => void;
}

export interface ScenarioResult {
  scenario: ScenarioName;
  workOrder?: WorkOrder;
  holdDoors?: boolean;
  received: number;
  timeline: string[];
}

export class MissingDeviceError extends Error {
  override name = 'MissingDeviceError';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Timeline {
  readonly #started = performance.now();
  readonly lines: string[] = [];
  constructor(private readonly out: (line: string) => void) {}

  add(actor: string, text: string): void {
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1).padStart(6);
    const line = `+${seconds}s  ${actor.padEnd(24)} ${text}`;
    this.lines.push(line);
    this.out(line);
  }
}

const SMOKE_THING = 'xl-smoke-b3-01';
const SMOKE_ZONE = {
  zoneId: 'corridor-3',
  kind: 'corridor',
  name: '3号楼楼道',
  areaId: 'xiling-north',
  building: '3',
  position: { lat: 31.20552, lon: 121.48968 },
};

/**
 * A demo device's identity: its credentials from the devices folder, or — if the thing was never
 * registered (a store seeded without it) — registered now through the API and written there.
 */
const demoIdentity = async (ctx: ScenarioContext, thingName: string): Promise<DeviceIdentity> => {
  const onDisk = identityIn(ctx.devicesDir, thingName, ctx.caPath);
  if (onDisk) return onDisk;
  const known = await ctx.api.request('GET', `/devices/${thingName}`);
  if (known.status === 200) {
    throw new MissingDeviceError(
      `${thingName} is registered but its credentials are not in ${ctx.devicesDir} (they are returned once, ` +
        'when the demo data is first seeded): use the data dir the cloud was seeded with (--data-dir), or start a fresh store.',
    );
  }
  const demo = DEMO.devices.find((device) => device.thingName === thingName);
  const device =
    demo ??
    (thingName === SMOKE_THING
      ? {
          compoundId: 'xiling',
          thingName,
          type: 'smoke-detector',
          zoneId: SMOKE_ZONE.zoneId,
          position: SMOKE_ZONE.position,
        }
      : undefined);
  if (!device) throw new MissingDeviceError(`${thingName} is not a demo device and has no credentials`);
  if (thingName === SMOKE_THING) {
    const zone = await ctx.api.request('POST', '/compounds/xiling/zones', SMOKE_ZONE);
    if (zone.status !== 201 && zone.status !== 409)
      throw new MissingDeviceError(
        `Could not create zone ${SMOKE_ZONE.zoneId}: ${zone.status} ${JSON.stringify(zone.body)}`,
      );
  }
  const { compoundId, ...body } = device;
  const credentials = await ctx.api.registerDevice(compoundId, { ...body, thingName });
  writeCredentials(ctx.devicesDir, credentials);
  ctx.out(`registered ${thingName} through the API (credentials in ${ctx.devicesDir}/${thingName}/)`);
  return identityIn(ctx.devicesDir, thingName, ctx.caPath) as DeviceIdentity;
};

const connect = async <T extends DeviceShim>(
  ctx: ScenarioContext,
  Shim: ShimClass<T>,
  thingName: string,
  compoundId: string,
  timeline: Timeline,
  heartbeats = true,
): Promise<T> => {
  const shim = await connectShim(Shim, await demoIdentity(ctx, thingName), ctx.mqtt, {
    compoundId,
    heartbeatMs: heartbeats ? ctx.heartbeatSeconds * 1000 : 0,
    log: (line) => {
      if (/interrupted|resumed|failure|error|rejected/.test(line))
        timeline.add(thingName, line.slice(thingName.length + 2));
    },
  });
  timeline.add(thingName, `connected (mutual TLS, ${Shim.deviceType})`);
  return shim;
};

const describeWorkOrder = (order: WorkOrder): string =>
  [
    `work order ${order.workOrderId} [${order.severity}] ${order.title}`,
    `zone ${order.zone.zoneId}${order.zone.name ? ` (${order.zone.name})` : ''}${order.building ? `, building ${order.building}` : ''}`,
    `sensor ${order.sensor.thingName}${order.sensor.position ? ` at ${order.sensor.position.lat},${order.sensor.position.lon}` : ''}`,
    `ack by ${order.ackDueAt}, handle by ${order.handleDueAt}`,
  ].join(' · ');

const watchHandheld = (handheld: Handheld, timeline: Timeline) =>
  handheld.onReceive((message) =>
    timeline.add(
      handheld.thingName,
      `← ${message.command}${message.duplicate ? ' (redelivered)' : ''} ${JSON.stringify(message.payload)}`,
    ),
  );

const waitForWorkOrder = async (
  ctx: ScenarioContext,
  handheld: Handheld,
  timeline: Timeline,
): Promise<WorkOrder | undefined> => {
  try {
    const order = await handheld.nextWorkOrder(ctx.waitSeconds * 1000);
    timeline.add(handheld.thingName, describeWorkOrder(order));
    return order;
  } catch (error) {
    if (!(error instanceof CommandTimeoutError)) throw error;
    timeline.add(handheld.thingName, `no work order within ${ctx.waitSeconds} s`);
    return undefined;
  }
};

const reportViolations = async (ctx: ScenarioContext, thingName: string, timeline: Timeline) => {
  const result = await ctx.api.listAll('/violations?compoundId=xiling');
  if (!('items' in result)) {
    timeline.add('api', `GET /violations answered ${result.status}: violations are not readable yet`);
    return;
  }
  const ours = result.items.filter((item) => JSON.stringify(item).includes(`"${thingName}"`));
  timeline.add('api', `${ours.length} violation(s) from ${thingName}`);
  for (const violation of ours.slice(-3)) {
    const steps = Array.isArray(violation.steps)
      ? (violation.steps as { action?: string; actor?: string }[])
          .map((step) => `${step.action ?? '?'}${step.actor ? ` (${step.actor})` : ''}`)
          .join(' → ')
      : '';
    timeline.add(
      'api',
      `${String(violation.violationId ?? '?')}: ${String(violation.status ?? '?')}${steps ? ` — ${steps}` : ''}`,
    );
  }
};

const NO_WORK_ORDER = (ctx: ScenarioContext) =>
  `No work order reached the handheld within ${ctx.waitSeconds} s. Either the violation engine is not ` +
  'deployed yet, or its grace period for this scenario is longer: run again with a larger --wait-seconds.';

/** Acknowledges, lets `clear` happen, reports handling, then listens a little longer. */
const handle = async (
  ctx: ScenarioContext,
  handheld: Handheld,
  order: WorkOrder | undefined,
  timeline: Timeline,
  clear: () => Promise<void>,
  note: string,
) => {
  if (order) {
    const ack = await handheld.acknowledge(order.workOrderId);
    timeline.add(handheld.thingName, `→ ack ${order.workOrderId} (seq ${ack.payload.seq})`);
    await sleep(1000);
  }
  await clear();
  if (order) {
    const handled = await handheld.reportHandled(order.workOrderId, note);
    timeline.add(handheld.thingName, `→ handled ${order.workOrderId}: ${note} (seq ${handled.payload.seq})`);
  }
  if (ctx.settleSeconds > 0) {
    timeline.add('simulator', `listening ${ctx.settleSeconds} s more for closure …`);
    await sleep(ctx.settleSeconds * 1000);
  }
};

const fireLane = async (ctx: ScenarioContext, timeline: Timeline): Promise<ScenarioResult> => {
  const sensorThing = 'xl-geomag-fire-lane-01';
  const handheld = await connect(ctx, Handheld, 'hh-anju-guard-li', 'xiling', timeline);
  const sensor = await connect(ctx, GeomagneticSensor, sensorThing, 'xiling', timeline).catch(
    async (error) => {
      await handheld.disconnect();
      throw error;
    },
  );
  watchHandheld(handheld, timeline);
  try {
    const parked = await sensor.occupancy(true);
    timeline.add(
      sensorThing,
      `→ occupancy occupied=true (seq ${parked.payload.seq}): a car parks on fire lane east`,
    );
    timeline.add('simulator', `waiting up to ${ctx.waitSeconds} s for a work order …`);
    const order = await waitForWorkOrder(ctx, handheld, timeline);
    if (!order) ctx.out(NO_WORK_ORDER(ctx));
    await handle(
      ctx,
      handheld,
      order,
      timeline,
      async () => {
        const left = await sensor.occupancy(false);
        timeline.add(sensorThing, `→ occupancy occupied=false (seq ${left.payload.seq}): the car leaves`);
      },
      '车辆已驶离消防通道 / the car has left the fire lane',
    );
    await reportViolations(ctx, sensorThing, timeline);
    return {
      scenario: 'fire-lane',
      workOrder: order,
      received: handheld.received.length,
      timeline: timeline.lines,
    };
  } finally {
    await Promise.all([sensor.disconnect(), handheld.disconnect()]);
  }
};

const eBike = async (ctx: ScenarioContext, timeline: Timeline): Promise<ScenarioResult> => {
  const cameraThing = 'xl-elevator-cam-3';
  const handheld = await connect(ctx, Handheld, 'hh-anju-guard-li', 'xiling', timeline);
  const camera = await connect(ctx, ElevatorCamera, cameraThing, 'xiling', timeline).catch(async (error) => {
    await handheld.disconnect();
    throw error;
  });
  watchHandheld(handheld, timeline);
  try {
    const detected = await camera.event('e-bike-detected');
    timeline.add(
      cameraThing,
      `→ event e-bike-detected (seq ${detected.payload.seq}): an e-bike is wheeled in`,
    );
    timeline.add('simulator', `waiting up to ${ctx.waitSeconds} s for hold-doors and a work order …`);
    const [hold, order] = await Promise.all([
      camera.nextHoldDoors(ctx.waitSeconds * 1000).then(
        (command) => {
          timeline.add(cameraThing, `← hold-doors ${JSON.stringify(command.payload)}: doors held open`);
          return true;
        },
        (error) => {
          if (!(error instanceof CommandTimeoutError)) throw error;
          timeline.add(cameraThing, `no hold-doors command within ${ctx.waitSeconds} s`);
          return false;
        },
      ),
      waitForWorkOrder(ctx, handheld, timeline),
    ]);
    if (!hold && !order)
      ctx.out(NO_WORK_ORDER(ctx).replace('No work order', 'Neither hold-doors nor a work order'));
    await handle(
      ctx,
      handheld,
      order,
      timeline,
      async () => {
        const clear = await camera.event('clear');
        timeline.add(cameraThing, `→ event clear (seq ${clear.payload.seq}): the e-bike is out`);
      },
      '电动车已推出电梯 / the e-bike has been taken out of the elevator',
    );
    await reportViolations(ctx, cameraThing, timeline);
    return {
      scenario: 'e-bike',
      workOrder: order,
      holdDoors: hold,
      received: handheld.received.length + camera.holdDoors.all.length,
      timeline: timeline.lines,
    };
  } finally {
    await Promise.all([camera.disconnect(), handheld.disconnect()]);
  }
};

const smoke = async (ctx: ScenarioContext, timeline: Timeline): Promise<ScenarioResult> => {
  const handheld = await connect(ctx, Handheld, 'hh-anju-guard-li', 'xiling', timeline);
  const detector = await connect(ctx, SmokeDetector, SMOKE_THING, 'xiling', timeline).catch(async (error) => {
    await handheld.disconnect();
    throw error;
  });
  watchHandheld(handheld, timeline);
  try {
    const alarm = await detector.alarm(true, 0.82);
    timeline.add(
      SMOKE_THING,
      `→ alarm smoke=true level=0.82 (seq ${alarm.payload.seq}): smoke in building 3's corridor`,
    );
    timeline.add('simulator', `waiting up to ${ctx.waitSeconds} s for a work order …`);
    const order = await waitForWorkOrder(ctx, handheld, timeline);
    if (!order) ctx.out(NO_WORK_ORDER(ctx));
    await handle(
      ctx,
      handheld,
      order,
      timeline,
      async () => {
        const clear = await detector.alarm(false, 0.02);
        timeline.add(
          SMOKE_THING,
          `→ alarm smoke=false level=0.02 (seq ${clear.payload.seq}): the smoke has cleared`,
        );
      },
      '已到场处置，烟雾已散 / on site, smoke cleared',
    );
    await reportViolations(ctx, SMOKE_THING, timeline);
    return {
      scenario: 'smoke',
      workOrder: order,
      received: handheld.received.length,
      timeline: timeline.lines,
    };
  } finally {
    await Promise.all([detector.disconnect(), handheld.disconnect()]);
  }
};

export const runScenario = (name: ScenarioName, ctx: ScenarioContext): Promise<ScenarioResult> => {
  const timeline = new Timeline(ctx.out);
  const story = { 'fire-lane': fireLane, 'e-bike': eBike, smoke }[name];
  return story(ctx, timeline);
};
