import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CivicApi, identityIn, writeCredentials } from '../../device-shims/cloud-client.js';
import { DeviceClosedError } from '../../device-shims/device.js';
import {
  ElevatorCamera,
  GeomagneticSensor,
  GuidanceScreen,
  Handheld,
  type WorkOrder,
} from '../../device-shims/devices/index.js';
import { runLoad } from '../../device-shims/load.js';
import { connectShim, type DeviceShim, type ShimClass } from '../../device-shims/shim.js';
import type { LocalCloud } from '../../local/cloud.js';
import { eventually, startTestCloud } from '../support/cloud.js';

const COMPOUND = 'shim-court';
const ZONE = 'lot-1';
const POSITION = { lat: 31.2048, lon: 121.4904 };

interface StoredTelemetry {
  signal: string;
  seq?: number;
  fields: Record<string, unknown>;
}

describe('device shims against the local cloud', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let api: CivicApi;
  let dataPlane: IoTDataPlaneClient;
  const credentialsDir = mkdtempSync(path.join(tmpdir(), 'civic-shims-'));
  const shims: DeviceShim[] = [];

  const connect = async <T extends DeviceShim>(Shim: ShimClass<T>, thingName: string): Promise<T> => {
    writeCredentials(
      credentialsDir,
      await api.registerDevice(COMPOUND, {
        thingName,
        type: Shim.deviceType,
        zoneId: ZONE,
        position: POSITION,
      }),
    );
    const identity = identityIn(credentialsDir, thingName, cloud.caPath);
    if (!identity) throw new Error(`no credentials for ${thingName}`);
    const shim = await connectShim(Shim, identity, cloud.endpoints.mqtt, { compoundId: COMPOUND });
    shims.push(shim);
    return shim;
  };
  const telemetryOf = async (thingName: string): Promise<StoredTelemetry[]> => {
    const { status, body } = await api.request(
      'GET',
      `/compounds/${COMPOUND}/devices/${thingName}/telemetry`,
    );
    expect(status).toBe(200);
    return (body as { items: StoredTelemetry[] }).items;
  };
  const command = (thingName: string, name: string, payload: unknown) =>
    dataPlane.send(
      new PublishCommand({
        topic: `cmd/civic/${COMPOUND}/${thingName}/${name}`,
        qos: 1,
        payload: Buffer.from(JSON.stringify(payload)),
      }),
    );

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    api = new CivicApi(
      cloud.endpoints.api,
      await cloud.token({ role: 'street-office', subDistrictId: 'sd-shims' }),
    );
    dataPlane = new IoTDataPlaneClient({
      endpoint: cloud.endpoints.iotData,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    expect((await api.request('POST', '/compounds', { compoundId: COMPOUND, name: '垫片苑' })).status).toBe(
      201,
    );
    expect(
      (
        await api.request('POST', `/compounds/${COMPOUND}/zones`, {
          zoneId: ZONE,
          kind: 'parking-space',
          name: '一号停车场',
          position: POSITION,
        })
      ).status,
    ).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(shims.map((shim) => shim.disconnect()));
    dataPlane?.destroy();
    await stop?.();
    rmSync(credentialsDir, { recursive: true, force: true });
  });

  it('stores what a sensor publishes over mutual TLS, with a sequence per signal', async () => {
    const sensor = await connect(GeomagneticSensor, 'shim-geomag-01');

    const published = [
      await sensor.occupancy(true),
      await sensor.occupancy(false),
      await sensor.occupancy(true),
    ];
    await sensor.heartbeat();

    expect(published.map(({ topic, payload }) => [topic, payload.seq, payload.occupied])).toEqual([
      [`dt/civic/${COMPOUND}/shim-geomag-01/occupancy`, 1, true],
      [`dt/civic/${COMPOUND}/shim-geomag-01/occupancy`, 2, false],
      [`dt/civic/${COMPOUND}/shim-geomag-01/occupancy`, 3, true],
    ]);
    const stored = await eventually(
      async () => {
        const items = await telemetryOf('shim-geomag-01');
        return items.filter((item) => item.signal === 'occupancy').length === 3 &&
          items.some((item) => item.signal === 'heartbeat')
          ? items
          : undefined;
      },
      15_000,
      'the sensor telemetry',
    );
    const occupancy = stored.filter((item) => item.signal === 'occupancy').reverse(); // newest first → oldest first
    expect(occupancy.map((item) => [item.seq, item.fields.occupied])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    expect(stored.find((item) => item.signal === 'heartbeat')?.seq).toBe(1);
  });

  it('delivers a work order published through the IoT data plane to the handheld, which acknowledges it', async () => {
    const handheld = await connect(Handheld, 'shim-hh-guard');
    const order: WorkOrder = {
      workOrderId: 'wo-0001',
      violationId: 'v-0001',
      scenarioId: 'fire-lane',
      title: '消防通道占用 / car on the fire lane',
      severity: 'high',
      zone: { zoneId: ZONE, name: '一号停车场', position: POSITION },
      sensor: { thingName: 'shim-geomag-01', position: POSITION },
      ackDueAt: '2030-01-01T00:05:00.000Z',
      handleDueAt: '2030-01-01T00:30:00.000Z',
    };

    await command('shim-hh-guard', 'work-orders', order);
    await command('shim-hh-guard', 'work-orders', order); // at least once: a redelivery is not a new order

    expect(await handheld.nextWorkOrder(5_000)).toEqual(order);
    await eventually(
      async () => (handheld.received.length === 2 ? true : undefined),
      5_000,
      'the redelivery',
    );
    expect(handheld.received.map((message) => message.duplicate ?? false)).toEqual([false, true]);
    expect([...handheld.workOrders.keys()]).toEqual(['wo-0001']);
    await expect(handheld.nextWorkOrder(200)).rejects.toThrow(/No work order within 200 ms/);

    await handheld.acknowledge('wo-0001');
    await handheld.reportHandled('wo-0001', 'car moved');
    const stored = await eventually(
      async () => {
        const items = await telemetryOf('shim-hh-guard');
        return items.length === 2 ? items : undefined;
      },
      15_000,
      'the ack and handled messages',
    );
    expect(stored.map((item) => [item.signal, item.seq, item.fields.workOrderId]).sort()).toEqual([
      ['ack', 1, 'wo-0001'],
      ['handled', 1, 'wo-0001'],
    ]);
  });

  it('keeps a malformed work order out of the queue and records why', async () => {
    const handheld = shims.find((shim): shim is Handheld => shim instanceof Handheld) as Handheld;
    await command('shim-hh-guard', 'work-orders', { workOrderId: 'wo-bad' });
    await eventually(
      async () => (handheld.rejectedCommands.length > 0 ? true : undefined),
      5_000,
      'a rejection',
    );
    expect(handheld.rejectedCommands[0]?.topic).toBe(`cmd/civic/${COMPOUND}/shim-hh-guard/work-orders`);
    expect(handheld.workOrders.has('wo-bad')).toBe(false);
  });

  it('delivers hold-doors to the elevator camera', async () => {
    const camera = await connect(ElevatorCamera, 'shim-elevator-cam');
    const detected = await camera.event('e-bike-detected');
    expect(detected.payload).toMatchObject({ event: 'e-bike-detected', seq: 1 });

    await command('shim-elevator-cam', 'hold-doors', { violationId: 'v-0002', seconds: 120 });

    const hold = await camera.nextHoldDoors(5_000);
    expect(hold.payload).toEqual({ violationId: 'v-0002', seconds: 120 });
    expect(hold.topic).toBe(`cmd/civic/${COMPOUND}/shim-elevator-cam/hold-doors`);
  });

  it('shows the latest free-space counts on the guidance screen', async () => {
    const screen = await connect(GuidanceScreen, 'shim-guidance-01');

    await command('shim-guidance-01', 'free-spaces', { zoneId: ZONE, free: 12, total: 40 });
    await screen.nextUpdate(5_000);
    await command('shim-guidance-01', 'free-spaces', { zoneId: ZONE, free: 11, total: 40 });
    await screen.nextUpdate(5_000);

    expect(screen.counts.get(ZONE)).toMatchObject({ zoneId: ZONE, free: 11, total: 40 });
  });

  it('goes silent when heartbeats stop, and refuses to publish after disconnect', async () => {
    const sensor = shims.find((shim): shim is GeomagneticSensor => shim instanceof GeomagneticSensor)!;
    const before = sensor.seqOf('heartbeat');
    sensor.startHeartbeat(50);
    await eventually(
      async () => (sensor.seqOf('heartbeat') >= before + 3 ? true : undefined),
      5_000,
      'heartbeats',
    );
    sensor.stopHeartbeat();
    const stopped = sensor.seqOf('heartbeat');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sensor.seqOf('heartbeat')).toBe(stopped);

    await sensor.disconnect();
    expect(sensor.device.state).toBe('disconnected');
    await expect(sensor.occupancy(true)).rejects.toBeInstanceOf(DeviceClosedError);
    await sensor.disconnect(); // idempotent
  });

  it('runs a tiny load: every message sent is acknowledged, and the devices are decommissioned', async () => {
    const progress: string[] = [];
    const summary = await runLoad({
      api,
      mqtt: cloud.endpoints.mqtt,
      caPath: cloud.caPath,
      compoundId: COMPOUND,
      zoneId: ZONE,
      devices: 3,
      rate: 200,
      messages: 20,
      onProgress: (p) => progress.push(p.phase),
    });

    expect(summary).toMatchObject({
      devices: 3,
      registered: 3,
      connected: 3,
      sent: 20,
      acknowledged: 20,
      errors: 0,
      decommissioned: 3,
    });
    expect(new Set(progress)).toEqual(
      new Set(['registering', 'connecting', 'publishing', 'draining', 'decommissioning']),
    );
    const [first] = summary.thingNames;
    const device = await api.request('GET', `/devices/${first}`);
    expect(device.body).toMatchObject({ status: 'decommissioned' });
    const stored = await eventually(
      async () => {
        const items = await telemetryOf(first as string);
        return items.length >= 6 ? items : undefined;
      },
      15_000,
      'the load telemetry',
    );
    expect(stored.every((item) => item.signal === 'occupancy')).toBe(true);
  });
});
