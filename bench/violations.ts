/**
 * Smart-community benchmarks, in memory: sensor publish → handheld receive latency at 200 messages/s on
 * a zero-grace scenario (fire lane with its grace tuned to 0 through the API), beside the raw MQTT round
 * trip; telemetry throughput beside the raw PutItem rate; and with 10 % duplicated and 5 % reordered
 * messages, how many were lost and how many work orders were duplicated.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connectDevice, type Device } from '../device-shims/device.js';
import { FREE_PORTS, startLocalCloud } from '../local/cloud.js';
import { ms, percentile, perSecond, printFigures, progress, sleep } from './support.js';

const COMPOUND = 'bench';
const AREA = 'bench-area';
const position = { lat: 31.2, lon: 121.49 };

export const runViolationsBench = async (
  options: { sensors?: number; ratePerSecond?: number; seconds?: number } = {},
): Promise<void> => {
  const sensors = options.sensors ?? 20;
  const rate = options.ratePerSecond ?? 200;
  const seconds = options.seconds ?? 10;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civic-bench-violations-'));
  const credentials = mkdtempSync(path.join(tmpdir(), 'civic-bench-creds-'));
  const cloud = await startLocalCloud({
    inMemory: true,
    dataDir,
    ports: FREE_PORTS,
    synth: 'auto',
    functionLog: process.env.CIVIC_DEBUG_LOGS
      ? (name, line) => {
          if (/ERROR|WARN/.test(line)) console.error(name, line.slice(0, 900));
        }
      : undefined,
    log: process.env.CIVIC_DEBUG_LOGS
      ? (line) => {
          if (/fail|error/i.test(line)) console.error(line.slice(0, 600));
        }
      : undefined,
  });
  process.stderr.write('  smart-community bench: setting up …\n');
  const devices: Device[] = [];
  try {
    const token = await cloud.token({ role: 'street-office', subDistrictId: 'sd-bench' });
    const call = async (route: string, method = 'GET', body?: unknown) => {
      const response = await fetch(`${cloud.endpoints.api}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      if (!response.ok) throw new Error(`${method} ${route} → ${response.status} ${await response.text()}`);
      return response.json() as Promise<any>;
    };
    for (const [route, body] of [
      ['/compounds', { compoundId: COMPOUND, name: 'bench' }],
      ['/companies', { companyId: 'bench-co', name: 'bench' }],
      [`/compounds/${COMPOUND}/areas`, { areaId: AREA, name: 'bench' }],
      [
        `/areas/${AREA}/contracts`,
        { companyId: 'bench-co', startsOn: '2025-01-01', endsOn: '2027-12-31', feePerSquareMetreFen: 100 },
      ],
      [
        '/companies/bench-co/staff',
        { staffId: 'guard', name: 'guard', role: 'guard', handheldThing: 'bench-handheld', areaIds: [AREA] },
      ],
      [
        `/compounds/${COMPOUND}/zones`,
        { zoneId: 'lane', kind: 'fire-lane', name: 'lane', areaId: AREA, position },
      ],
    ] as const) {
      await call(route, 'POST', body);
    }
    await call(`/compounds/${COMPOUND}/scenarios/fire-lane-occupied`, 'PUT', { graceSeconds: 0 });
    const connect = async (thingName: string, type: string) => {
      const created = await call(`/compounds/${COMPOUND}/devices`, 'POST', {
        thingName,
        type,
        zoneId: 'lane',
        position,
      });
      const certificatePath = path.join(credentials, `${thingName}.crt`);
      const privateKeyPath = path.join(credentials, `${thingName}.key`);
      writeFileSync(certificatePath, created.credentials.certificatePem);
      writeFileSync(privateKeyPath, created.credentials.privateKey);
      const device = await connectDevice(
        { thingName, certificatePath, privateKeyPath, caPath: cloud.caPath },
        cloud.endpoints.mqtt,
      );
      devices.push(device);
      return device;
    };

    const handheld = await connect('bench-handheld', 'handheld');
    const received: { sensor: string; at: number; violationId: string }[] = [];
    await handheld.subscribe(`cmd/civic/${COMPOUND}/bench-handheld/work-orders`, (_topic, payload) => {
      const order = JSON.parse(payload.toString()) as { sensor: { thingName: string }; violationId: string };
      received.push({
        sensor: order.sensor.thingName,
        at: performance.now(),
        violationId: order.violationId,
      });
    });
    const fleet = await Promise.all(
      Array.from({ length: sensors }, (_, i) => connect(`bench-lane-${i}`, 'geomagnetic-sensor')),
    );

    // Each sensor reports every 100 ms; one report in ten parks a car on the lane and the next one moves
    // it away, so 200 msg/s carry 10 violations (and work orders) per second.
    const perSensorInterval = (1000 * sensors) / rate;
    const total = Math.floor(rate * seconds);
    const parkedAt = new Map<string, number[]>();
    let sent = 0;
    let duplicated = 0;
    let reordered = 0;
    const uniqueMessages = new Set<string>();
    const started = performance.now();
    await Promise.all(
      fleet.map(async (sensor, index) => {
        await sleep((perSensorInterval / sensors) * index);
        const first = performance.now();
        const pending: Promise<void>[] = [];
        for (let seq = 1; sent < total; seq++) {
          await sleep(Math.max(0, first + seq * perSensorInterval - performance.now()));
          const occupied = seq % 20 === 1;
          const message = { ts: new Date().toISOString(), seq, occupied };
          const topic = `dt/civic/${COMPOUND}/${sensor.thingName}/occupancy`;
          uniqueMessages.add(`${sensor.thingName}/${seq}`);
          if (occupied)
            parkedAt.set(sensor.thingName, [...(parkedAt.get(sensor.thingName) ?? []), performance.now()]);
          const roll = Math.random();
          const publish = () => sensor.publish(topic, message);
          if (roll < 0.05) {
            reordered++;
            pending.push(sleep(perSensorInterval * 1.5).then(publish));
          } else {
            pending.push(publish());
          }
          if (Math.random() < 0.1) {
            duplicated++;
            pending.push(sleep(5).then(publish));
          }
          if (++sent % 200 === 0) progress('fire-lane load', sent, total);
        }
        await Promise.all(pending);
      }),
    );
    progress('fire-lane load', total, total);
    const publishSeconds = (performance.now() - started) / 1000;
    await sleep(3_000);
    await cloud.drain();

    const latencies: number[] = [];
    for (const [thing, times] of parkedAt) {
      const orders = received.filter((order) => order.sensor === thing);
      orders.forEach((order, k) => {
        const at = times[k];
        if (at !== undefined) latencies.push(order.at - at);
      });
    }
    let stored = 0;
    for (const sensor of fleet) {
      let cursor: string | undefined;
      do {
        const page = await call(
          `/compounds/${COMPOUND}/devices/${sensor.thingName}/telemetry?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        );
        stored += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
    }
    const violations = new Set(received.map((order) => order.violationId));
    if (cloud.lambda.asyncFailures.length > 0) {
      console.error(
        `  ${cloud.lambda.asyncFailures.length} async invocations failed; first: ${JSON.stringify(cloud.lambda.asyncFailures[0]?.responsePayload)}`,
      );
    }
    printFigures('Smart community (issue 4) — in memory, this machine', [
      {
        name: `sensor publish → handheld work order, ${rate} msg/s, grace 0, p50 / p99`,
        value: `${ms(percentile(latencies, 50))} / ${ms(percentile(latencies, 99))}`,
        note: `${latencies.length} work orders; target p99 ≤ 100 ms`,
      },
      {
        name: 'telemetry throughput (unique messages stored per second)',
        value: perSecond(stored / publishSeconds),
        note: `${stored} stored in ${publishSeconds.toFixed(1)} s`,
      },
      {
        name: 'messages sent / duplicated / reordered',
        value: `${uniqueMessages.size} / ${duplicated} / ${reordered}`,
      },
      { name: 'lost (unique sent − stored)', value: String(uniqueMessages.size - stored) },
      {
        name: 'duplicate work orders (orders − distinct violations)',
        value: String(received.length - violations.size),
      },
    ]);
  } finally {
    await Promise.all(devices.map((device) => device.disconnect()));
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(credentials, { recursive: true, force: true });
  }
};
