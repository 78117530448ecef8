import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CivicApi, identityIn, writeCredentials } from '../../device-shims/cloud-client.js';
import {
  ElevatorCamera,
  GeomagneticSensor,
  GuidanceScreen,
  WaterMeter,
} from '../../device-shims/devices/index.js';
import { connectShim, type DeviceShim, type ShimClass } from '../../device-shims/shim.js';
import type { LocalCloud } from '../../local/cloud.js';
import { eventually, startTestCloud } from '../support/cloud.js';

/**
 * The loops beside the fire lane, end to end with real shims over mutual TLS: parking guidance counts
 * on the screens, the elevator told to hold its doors for an e-bike, an elder's water meter gone quiet
 * found by the periodic absence sweep, and the ingest queue's partial batch failures. The sweep's
 * rate() rule runs faster here (timeScale); silence is still judged on real time, with the duration
 * shortened through the scenario configuration API.
 */
const COMPOUND = 'loops';
const POSITION = { lat: 31.2061, lon: 121.4889 };

/** A violation as the API presents it. */
interface PresentedViolation {
  violationId: string;
  scenarioId: string;
  thingName: string;
  status: string;
  assignee?: string;
  steps: { action: string; at: string }[];
  workOrders: { assignee: string }[];
}

describe('community loops: guidance, e-bike in the elevator, no water use, ingest batches', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let logs: string[];
  let api: CivicApi;
  const credentialsDir = mkdtempSync(path.join(tmpdir(), 'civic-loops-'));
  const shims: DeviceShim[] = [];

  const must = async (method: string, route: string, body?: unknown) => {
    const response = await api.request(method, route, body);
    expect(response.status, `${method} ${route}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body as Record<string, unknown>;
  };
  const connect = async <T extends DeviceShim>(Shim: ShimClass<T>, thingName: string, zoneId: string) => {
    writeCredentials(
      credentialsDir,
      await api.registerDevice(COMPOUND, { thingName, type: Shim.deviceType, zoneId, position: POSITION }),
    );
    const identity = identityIn(credentialsDir, thingName, cloud.caPath);
    if (!identity) throw new Error(`no credentials for ${thingName}`);
    const shim = await connectShim(Shim, identity, cloud.endpoints.mqtt, { compoundId: COMPOUND });
    shims.push(shim);
    return shim;
  };
  const ingest = () => {
    const found = cloud.stack.functions.find((fn) => fn.logicalId.startsWith('ViolationsIngest'));
    if (found === undefined) throw new Error('no ingest function in the template');
    return found;
  };
  const violationsOf = async (thingName: string, scenarioId: string) => {
    const body = (await must('GET', '/violations?limit=100')) as unknown as { items: PresentedViolation[] };
    return body.items.filter((item) => item.thingName === thingName && item.scenarioId === scenarioId);
  };
  /** The device's first violation of the scenario, once the API lists one. */
  const firstViolation = async (thingName: string, scenarioId: string, timeoutMs: number, what: string) =>
    (
      await eventually(
        async () => {
          const found = await violationsOf(thingName, scenarioId);
          return found.length > 0 ? found : undefined;
        },
        timeoutMs,
        what,
      )
    )[0];

  beforeAll(async () => {
    // rate(5 minutes) → 0.6 s: the absence sweep runs often enough for a test.
    ({ cloud, stop, logs } = await startTestCloud({ timeScale: 0.002 }));
    api = new CivicApi(
      cloud.endpoints.api,
      await cloud.token({ role: 'street-office', subDistrictId: 'sd-loops' }),
    );
    await must('POST', '/compounds', { compoundId: COMPOUND, name: '环路苑' });
    await must('POST', '/companies', { companyId: 'loops-pm', name: '环路物业' });
    await must('POST', `/compounds/${COMPOUND}/areas`, { areaId: 'loops-a', name: 'A 区' });
    await must('POST', '/areas/loops-a/contracts', {
      companyId: 'loops-pm',
      startsOn: '2025-01-01',
      endsOn: '2028-12-31',
      feePerSquareMetreFen: 180,
    });
    for (const [zoneId, kind] of [
      ['lot', 'parking-space'],
      ['lift-2', 'elevator'],
      ['home-3-101', 'residence'],
    ] as const) {
      await must('POST', `/compounds/${COMPOUND}/zones`, {
        zoneId,
        kind,
        name: zoneId,
        areaId: 'loops-a',
        position: POSITION,
      });
    }
    // Tuned before any device speaks: ingest reads a compound's scenarios at most every 30 s. Silence
    // counts from a meter's registration, so its first usage must come within forSeconds of it.
    await must('PUT', `/compounds/${COMPOUND}/scenarios/no-water-use`, { forSeconds: 4 });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(shims.map((shim) => shim.disconnect()));
    await stop?.();
    rmSync(credentialsDir, { recursive: true, force: true });
  });

  it('pushes the free spaces of a parking zone to the guidance screens whenever a space changes', async () => {
    const screen = await connect(GuidanceScreen, 'loops-screen-1', 'lot');
    const first = await connect(GeomagneticSensor, 'loops-space-1', 'lot');
    await connect(GeomagneticSensor, 'loops-space-2', 'lot');

    await first.occupancy(true);
    expect(await screen.nextUpdate(15_000)).toMatchObject({ zoneId: 'lot', free: 1, total: 2 });
    await first.occupancy(true); // no change: nothing pushed
    await first.occupancy(false);
    expect(await screen.nextUpdate(15_000)).toMatchObject({ zoneId: 'lot', free: 2, total: 2 });
    expect(screen.updates.all).toHaveLength(2);
    // Guidance is a count, never a case.
    expect(await violationsOf('loops-space-1', 'parking-guidance')).toEqual([]);
  });

  it('tells the elevator to hold its doors when its camera sees an e-bike, and opens a case', async () => {
    const camera = await connect(ElevatorCamera, 'loops-lift-cam', 'lift-2');
    await camera.event('e-bike-detected');
    const command = await camera.nextHoldDoors(15_000);
    expect(command.topic).toBe(`cmd/civic/${COMPOUND}/loops-lift-cam/hold-doors`);
    expect(command.payload).toMatchObject({ seconds: 60, scenarioId: 'e-bike-in-elevator' });
    const opened = await firstViolation(
      'loops-lift-cam',
      'e-bike-in-elevator',
      15_000,
      'the e-bike violation',
    );
    expect(opened?.status).toBe('dispatched');

    await camera.event('clear');
    await eventually(
      async () => {
        const [found] = await violationsOf('loops-lift-cam', 'e-bike-in-elevator');
        return found?.status === 'closed' ? found : undefined;
      },
      15_000,
      'the e-bike violation closed by the camera',
    );
    expect(camera.holdDoors.all).toHaveLength(1);
  });

  it('finds an elder whose water meter has gone quiet, and notes when water flows again', async () => {
    const meter = await connect(WaterMeter, 'loops-meter-101', 'home-3-101');
    await meter.usage(12);
    // Nothing while water was used less than forSeconds ago.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await violationsOf('loops-meter-101', 'no-water-use')).toEqual([]);

    const silent = await firstViolation(
      'loops-meter-101',
      'no-water-use',
      20_000,
      'the no-water-use violation',
    );
    expect(silent).toMatchObject({ status: 'dispatched', assignee: 'caseworker' });
    expect(silent?.workOrders.map((order) => order.assignee)).toEqual(['caseworker']);

    // Still silent: the sweep keeps running but opens nothing more.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await violationsOf('loops-meter-101', 'no-water-use')).toHaveLength(1);

    await meter.usage(3);
    const cleared = await eventually(
      async () => {
        const body = (await must(
          'GET',
          `/violations/${silent?.violationId}`,
        )) as unknown as PresentedViolation;
        return body.steps.some((step) => step.action === 'cleared') ? body : undefined;
      },
      15_000,
      'the violation marked cleared by the meter',
    );
    // Not automatically verified: a caseworker's visit is the evidence for an elder.
    expect(cleared.status).toBe('dispatched');
  });

  it('finds a water meter silent from its registration when it never reports', async () => {
    const registering = Date.now();
    await api.registerDevice(COMPOUND, {
      thingName: 'loops-meter-102',
      type: 'water-meter',
      zoneId: 'home-3-101',
      position: POSITION,
    });
    const registered = Date.now();
    expect(await violationsOf('loops-meter-102', 'no-water-use')).toEqual([]);
    const silent = await firstViolation(
      'loops-meter-102',
      'no-water-use',
      20_000,
      'the no-water-use violation of a meter that never reported',
    );
    expect(silent).toMatchObject({ status: 'dispatched', assignee: 'caseworker' });
    // Discovered when forSeconds (4 s) of silence had passed since the registration, and opened then.
    const at = (action: string) => Date.parse(silent?.steps.find((step) => step.action === action)?.at ?? '');
    expect(at('discovered')).toBeGreaterThanOrEqual(registering + 4_000);
    expect(at('discovered')).toBeLessThanOrEqual(registered + 4_000);
    expect(at('opened')).toBeGreaterThanOrEqual(at('discovered'));
    // The hour-long device-silent watch started too, and is not due yet.
    expect(await violationsOf('loops-meter-102', 'device-silent')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await violationsOf('loops-meter-102', 'no-water-use')).toHaveLength(1);
  });

  it('acts on a full batch (messages queueing behind it) once, and stores its telemetry', async () => {
    // A full batch stores its telemetry beside its cases' writes instead of after them.
    await api.registerDevice(COMPOUND, {
      thingName: 'loops-lift-cam-2',
      type: 'elevator-camera',
      zoneId: 'lift-2',
      position: POSITION,
    });
    const startedAt = Date.now() - 60_000;
    const event = (seq: number, kind: string) => ({
      payload: Buffer.from(
        JSON.stringify({ ts: new Date(startedAt + seq * 1_000).toISOString(), seq, event: kind }),
      ).toString('base64'),
      compoundId: COMPOUND,
      thingName: 'loops-lift-cam-2',
      signal: 'event',
      clientId: 'loops-lift-cam-2',
      receivedAt: Date.now(),
      topic: `dt/civic/${COMPOUND}/loops-lift-cam-2/event`,
    });
    // Ten records, nine messages (seq 3 twice, as a redelivery would bring it), out of device order:
    // an e-bike from seq 3 to 5, gone at seq 6.
    const kinds = ['clear', 'clear', 'e-bike-detected', 'e-bike-detected', 'e-bike-detected', 'clear'];
    const order = [2, 1, 3, 3, 5, 4, 6, 8, 7, 9];
    const result = (await cloud.lambda.invoke(ingest().functionName, {
      Records: order.map((seq, index) => ({
        messageId: `full-${index}`,
        receiptHandle: `full-${index}`,
        body: JSON.stringify(event(seq, kinds[seq - 1] ?? 'clear')),
      })),
    })) as { batchItemFailures: unknown[] };
    expect(result.batchItemFailures).toEqual([]);

    const cases = await violationsOf('loops-lift-cam-2', 'e-bike-in-elevator');
    expect(cases.map(({ violationId, status }) => ({ violationId, status }))).toEqual([
      {
        violationId: `e-bike-in-elevator~loops-lift-cam-2~${new Date(startedAt + 3_000).toISOString().replace(/[-:.]/g, '')}`,
        status: 'closed',
      },
    ]);
    const telemetry = (await must('GET', `/compounds/${COMPOUND}/devices/loops-lift-cam-2/telemetry`)) as {
      items: { seq?: number }[];
    };
    expect(telemetry.items.map((item) => item.seq).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });

  it('reports only the records it could not handle back to the queue, and stores the rest', async () => {
    const ruleEvent = {
      payload: Buffer.from(JSON.stringify({ seq: 9, occupied: false })).toString('base64'),
      compoundId: COMPOUND,
      thingName: 'loops-space-2',
      signal: 'occupancy',
      clientId: 'loops-space-2',
      receivedAt: Date.now(),
      topic: `dt/civic/${COMPOUND}/loops-space-2/occupancy`,
    };
    const record = (messageId: string, body: string) => ({ messageId, receiptHandle: messageId, body });
    const result = (await cloud.lambda.invoke(ingest().functionName, {
      Records: [
        record('good', JSON.stringify(ruleEvent)),
        record('not-json', '{"payload": '),
        record('not-a-rule-event', JSON.stringify({ hello: 'world' })),
      ],
    })) as { batchItemFailures: { itemIdentifier: string }[] };
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([
      'not-a-rule-event',
      'not-json',
    ]);
    const telemetry = (await must('GET', `/compounds/${COMPOUND}/devices/loops-space-2/telemetry`)) as {
      items: { seq?: number }[];
    };
    expect(telemetry.items.map((item) => item.seq)).toContain(9);
    expect(logs.some((line) => line.includes('Queue message is not an ingest rule event'))).toBe(true);
  });
});
