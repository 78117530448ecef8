import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, type Device } from '../../device-shims/device.js';
import type { LocalCloud } from '../../local/cloud.js';
import { eventually, startTestCloud } from '../support/cloud.js';

/**
 * The headline story end to end, with real device clients over mutual TLS against the local cloud.
 * Grace periods and deadlines are shortened through the scenario configuration API, never by faking a
 * clock: the product runs on real time.
 */
const COMPOUND = 'xiling';
const AREA = 'xiling-north';
const position = { lat: 31.20521, lon: 121.49012 };

interface WorkOrderMessage {
  workOrderId: string;
  violationId: string;
  scenarioId: string;
  zone: { zoneId: string; position?: unknown };
  sensor: { thingName: string; position?: unknown };
  ackDueAt: string;
  assignee: string;
}

describe('fire lane: sensor → violation → work order on the handheld → acknowledged → cleared → closed', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let logs: string[];
  let token: string;
  const devices: Device[] = [];
  const received = new Map<string, WorkOrderMessage[]>();
  const dir = mkdtempSync(path.join(tmpdir(), 'civic-e2e-'));

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

  const register = async (thingName: string, type: string, zoneId: string): Promise<Device> => {
    const created = await api(`/compounds/${COMPOUND}/devices`, 'POST', {
      thingName,
      type,
      zoneId,
      position,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const certificatePath = path.join(dir, `${thingName}.crt`);
    const privateKeyPath = path.join(dir, `${thingName}.key`);
    writeFileSync(certificatePath, created.body.credentials.certificatePem);
    writeFileSync(privateKeyPath, created.body.credentials.privateKey);
    const device = await connectDevice(
      { thingName, certificatePath, privateKeyPath, caPath: cloud.caPath },
      cloud.endpoints.mqtt,
    );
    devices.push(device);
    return device;
  };

  const handheld = async (thingName: string) => {
    const device = await register(thingName, 'handheld', 'fire-lane-east');
    received.set(thingName, []);
    await device.subscribe(`cmd/civic/${COMPOUND}/${thingName}/work-orders`, (_topic, payload) =>
      received.get(thingName)?.push(JSON.parse(payload.toString()) as WorkOrderMessage),
    );
    return device;
  };

  const violationsOf = async (thingName: string) =>
    (
      (await api(`/violations?compoundId=${COMPOUND}&limit=100`)).body.items as {
        violationId: string;
        thingName: string;
        status: string;
        escalations: number;
        workOrders: unknown[];
      }[]
    ).filter((item) => item.thingName === thingName);

  let guard: Device;
  let seq = 0;
  const occupancy = (sensor: Device, occupied: boolean, at = new Date()) =>
    sensor.publish(`dt/civic/${COMPOUND}/${sensor.thingName}/occupancy`, {
      ts: at.toISOString(),
      seq: ++seq,
      occupied,
    });

  beforeAll(async () => {
    ({ cloud, stop, logs } = await startTestCloud());
    token = await cloud.token({ role: 'street-office' });
    const setup: [string, unknown][] = [
      ['/compounds', { compoundId: COMPOUND, name: '西凌新村' }],
      ['/companies', { companyId: 'anju', name: '安居物业' }],
      [`/compounds/${COMPOUND}/areas`, { areaId: AREA, name: '北区' }],
      [
        `/areas/${AREA}/contracts`,
        { companyId: 'anju', startsOn: '2025-01-01', endsOn: '2027-12-31', feePerSquareMetreFen: 150 },
      ],
      [
        '/companies/anju/staff',
        { staffId: 'guard-li', name: '李师傅', role: 'guard', handheldThing: 'hh-guard-li', areaIds: [AREA] },
      ],
      [
        '/companies/anju/staff',
        {
          staffId: 'manager-zhou',
          name: '周经理',
          role: 'manager',
          handheldThing: 'hh-manager-zhou',
          areaIds: [AREA],
        },
      ],
      [
        `/compounds/${COMPOUND}/zones`,
        { zoneId: 'fire-lane-east', kind: 'fire-lane', name: '东侧消防通道', areaId: AREA, position },
      ],
    ];
    for (const [route, body] of setup) expect((await api(route, 'POST', body)).status, route).toBe(201);
    const tuned = await api(`/compounds/${COMPOUND}/scenarios/fire-lane-occupied`, 'PUT', {
      graceSeconds: 2,
      chain: [
        { assignee: 'property-guard', ackSeconds: 3, handleSeconds: 60 },
        { assignee: 'property-manager', ackSeconds: 3, handleSeconds: 60 },
        { assignee: 'command-centre', ackSeconds: 3, handleSeconds: 60 },
      ],
    });
    expect(tuned.status, JSON.stringify(tuned.body)).toBe(200);
    guard = await handheld('hh-guard-li');
    await handheld('hh-manager-zhou');
  }, 180_000);

  afterAll(async () => {
    if (process.env.CIVIC_DEBUG_LOGS)
      console.log(logs.filter((line) => /ERROR|WARN|escalat|dispatch|attempt/i.test(line)).join('\n'));
    await Promise.all(devices.map((device) => device.disconnect()));
    await stop?.();
  });

  it('opens nothing before the grace period, then a violation and a work order that reaches the guard with the location; ack; clear; closed', async () => {
    const sensor = await register('fl-sensor-a', 'geomagnetic-sensor', 'fire-lane-east');
    await occupancy(sensor, true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await violationsOf('fl-sensor-a')).toEqual([]);

    const order = await eventually(
      async () => received.get('hh-guard-li')?.find((item) => item.sensor.thingName === 'fl-sensor-a'),
      15_000,
      'the work order',
    );
    expect(order).toMatchObject({
      scenarioId: 'fire-lane-occupied',
      assignee: 'property-guard',
      zone: { zoneId: 'fire-lane-east', position },
      sensor: { thingName: 'fl-sensor-a', position },
    });

    await guard.publish(`dt/civic/${COMPOUND}/hh-guard-li/ack`, {
      workOrderId: order.workOrderId,
      seq: ++seq,
    });
    await eventually(
      async () => ((await violationsOf('fl-sensor-a'))[0]?.status === 'acknowledged' ? true : undefined),
      10_000,
      'acknowledged',
    );

    await occupancy(sensor, false);
    const closed = await eventually(
      async () => {
        const [violation] = await violationsOf('fl-sensor-a');
        return violation?.status === 'closed' ? violation : undefined;
      },
      10_000,
      'closed by the sensor',
    );
    expect(closed.escalations).toBe(0);
    const detail = (await api(`/violations/${encodeURIComponent(closed.violationId)}`)).body as {
      steps: { action: string; actor: string }[];
    };
    expect(detail.steps.map((step) => step.action)).toEqual(
      expect.arrayContaining(['discovered', 'opened', 'dispatched', 'acknowledged', 'verified', 'closed']),
    );
    expect(detail.steps.find((step) => step.action === 'acknowledged')?.actor).toBe('handheld:hh-guard-li');
  });

  it('escalates twice when nobody acknowledges: guard → manager → command centre', async () => {
    const sensor = await register('fl-sensor-b', 'geomagnetic-sensor', 'fire-lane-east');
    await occupancy(sensor, true);
    const escalated = await eventually(
      async () => {
        const [violation] = await violationsOf('fl-sensor-b');
        // The escalation is recorded first, then the next work order is dispatched: wait for both.
        return violation !== undefined && violation.escalations >= 2 && violation.workOrders.length >= 3
          ? violation
          : undefined;
      },
      30_000,
      'two escalations',
    );
    expect(escalated.workOrders).toHaveLength(3);
    expect(received.get('hh-manager-zhou')?.some((item) => item.sensor.thingName === 'fl-sensor-b')).toBe(
      true,
    );
  });

  it('opens nothing when the car leaves within the grace period', async () => {
    const sensor = await register('fl-sensor-c', 'geomagnetic-sensor', 'fire-lane-east');
    await occupancy(sensor, true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await occupancy(sensor, false);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await cloud.drain();
    expect(await violationsOf('fl-sensor-c')).toEqual([]);
  });

  it('opens exactly one violation and one work order despite duplicated and reordered messages', async () => {
    const sensor = await register('fl-sensor-d', 'geomagnetic-sensor', 'fire-lane-east');
    const parked = new Date();
    const earlier = new Date(parked.getTime() - 60_000);
    const park = { ts: parked.toISOString(), seq: 100, occupied: true };
    await sensor.publish(`dt/civic/${COMPOUND}/fl-sensor-d/occupancy`, park);
    await sensor.publish(`dt/civic/${COMPOUND}/fl-sensor-d/occupancy`, park);
    await sensor.publish(`dt/civic/${COMPOUND}/fl-sensor-d/occupancy`, {
      ts: earlier.toISOString(),
      seq: 99,
      occupied: false,
    });
    await sensor.publish(`dt/civic/${COMPOUND}/fl-sensor-d/occupancy`, park);
    await eventually(
      async () => ((await violationsOf('fl-sensor-d')).length > 0 ? true : undefined),
      15_000,
      'the violation',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await cloud.drain();
    const violations = await violationsOf('fl-sensor-d');
    expect(violations).toHaveLength(1);
    expect(
      received.get('hh-guard-li')?.filter((item) => item.sensor.thingName === 'fl-sensor-d'),
    ).toHaveLength(1);
  });

  it('opens nothing for a park that arrives after the sensor already said the lane is free', async () => {
    const sensor = await register('fl-sensor-late', 'geomagnetic-sensor', 'fire-lane-east');
    const topic = `dt/civic/${COMPOUND}/fl-sensor-late/occupancy`;
    const now = Date.now();
    // The sensor saw the car at seq 1 and the lane free at seq 2; the network delivers seq 2 first.
    await sensor.publish(topic, { ts: new Date(now).toISOString(), seq: 2, occupied: false });
    await cloud.drain();
    await sensor.publish(topic, { ts: new Date(now - 1_000).toISOString(), seq: 1, occupied: true });
    await cloud.drain();
    // Past the grace period (2 s): a late park that had been taken for news would have opened by now.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    await cloud.drain();
    expect(await violationsOf('fl-sensor-late')).toEqual([]);
    const telemetry = await api(`/compounds/${COMPOUND}/devices/fl-sensor-late/telemetry?limit=10`);
    expect(telemetry.body.items).toHaveLength(2);
  });

  it('refuses bad scenario configuration and foreign-compound telemetry with reasons, disturbing nothing', async () => {
    const negative = await api(`/compounds/${COMPOUND}/scenarios/fire-lane-occupied`, 'PUT', {
      graceSeconds: -1,
    });
    expect(negative.status).toBe(400);
    expect(negative.body.errors[0].pointer).toBe('/body/graceSeconds');
    const empty = await api(`/compounds/${COMPOUND}/scenarios/fire-lane-occupied`, 'PUT', { chain: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].pointer).toBe('/body/chain');
    const graceOnInstant = await api(`/compounds/${COMPOUND}/scenarios/smoke-alarm`, 'PUT', {
      graceSeconds: 5,
    });
    expect(graceOnInstant.status).toBe(400);
    const current = (await api(`/compounds/${COMPOUND}/scenarios`)).body.items.find(
      (item: { scenarioId: string }) => item.scenarioId === 'fire-lane-occupied',
    );
    expect(current.condition.graceSeconds).toBe(2);

    const sensor = await register('fl-sensor-e', 'geomagnetic-sensor', 'fire-lane-east');
    await sensor.publish('dt/civic/yaojiang/fl-sensor-e/occupancy', { seq: 1, occupied: true });
    const rejected = await eventually(async () => {
      const items = (await api('/compounds/yaojiang/rejected-telemetry')).body.items as {
        clientId: string;
        reason: string;
      }[];
      return items.find((item) => item.clientId === 'fl-sensor-e');
    });
    expect(rejected.reason).toContain('belongs to another compound');
    expect(await violationsOf('fl-sensor-e')).toEqual([]);
    // Another sub-district's office, with a compound of the same id, sees none of it.
    const ownToken = token;
    token = await cloud.token({ role: 'street-office', subDistrictId: 'sd-elsewhere' });
    expect((await api('/compounds', 'POST', { compoundId: COMPOUND, name: 'same id' })).status).toBe(201);
    const foreign = await api('/compounds/yaojiang/rejected-telemetry');
    expect(foreign.status).toBe(200);
    expect(foreign.body.items).toEqual([]);
    expect((await api(`/compounds/${COMPOUND}/devices/fl-sensor-e/telemetry`)).status).toBe(404);
    token = ownToken;
  });

  it('gives the command centre statistics over the period', async () => {
    const from = new Date(Date.now() - 10 * 60_000).toISOString();
    const stats = await api(`/violations/stats?from=${encodeURIComponent(from)}&compoundId=${COMPOUND}`);
    expect(stats.status).toBe(200);
    expect(stats.body.count).toBeGreaterThanOrEqual(3);
    expect(stats.body.closed).toBeGreaterThanOrEqual(1);
    expect(stats.body.escalationRate).toBeGreaterThan(0);
    expect(stats.body.timeToAcknowledge.median).toBeGreaterThan(0);
    expect(stats.body.repeatLocations).toEqual([expect.objectContaining({ zoneId: 'fire-lane-east' })]);

    // Per property company: every case here opened in 安居物业's area, so its group is the whole.
    const byCompany = await api(
      `/violations/stats?from=${encodeURIComponent(from)}&compoundId=${COMPOUND}&groupBy=company`,
    );
    expect(byCompany.status).toBe(200);
    expect(byCompany.body.groups).toEqual([
      expect.objectContaining({ key: 'anju', count: stats.body.count, closed: stats.body.closed }),
    ]);
    const anju = await api(`/violations/stats?from=${encodeURIComponent(from)}&companyId=anju`);
    expect(anju.body.count).toBe(stats.body.count);
    const other = await api(`/violations/stats?from=${encodeURIComponent(from)}&companyId=lvyuan`);
    expect(other.body.count).toBe(0);
    const bad = await api(`/violations/stats?from=${encodeURIComponent(from)}&groupBy=guard`);
    expect(bad.status).toBe(400);
  });
});
