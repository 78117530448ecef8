/**
 * Foundation benchmarks, in memory on this machine: local cloud start-up, the raw MQTT loopback round
 * trip, the raw DynamoDB Local PutItem rate, and the rule → SQS → Lambda → DynamoDB pipeline beside them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { connectDevice, type Device } from '../device-shims/device.js';
import { FREE_PORTS, type LocalCloud, startLocalCloud } from '../local/cloud.js';
import { startBroker } from '../local/iot/broker.js';
import { ensureCa } from '../local/iot/ca.js';
import type { InvocationRecord } from '../local/lambda/service.js';
import {
  type Figure,
  ms,
  percentile,
  perSecond,
  printFigures,
  progress,
  rawPutItemRate,
  sleep,
} from './support.js';

/** Sequential publish → echo → receive through the bare broker: what MQTT on loopback costs. */
const rawMqttRoundTrip = async (samples: number): Promise<number[]> => {
  const dir = mkdtempSync(path.join(tmpdir(), 'civic-bench-ca-'));
  const ca = await ensureCa(dir);
  let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
  broker = await startBroker({
    ca,
    port: 0,
    onPublish: (message) => broker?.publish(message.topic.replace(/^dt\//, 'cmd/'), message.payload, 0),
  });
  const device = await connectDevice(await ca.issueDeviceCertificate('bench-echo'), {
    host: broker.host,
    port: broker.port,
  });
  const latencies: number[] = [];
  let pending: (() => void) | undefined;
  await device.subscribe('cmd/civic/bench/bench-echo/echo', () => pending?.());
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      pending = resolve;
      void device.publish('dt/civic/bench/bench-echo/echo', { i }, 0);
    });
    latencies.push(performance.now() - started);
  }
  await device.disconnect();
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
  return latencies;
};

/**
 * The pipeline is measured on devices the registry knows (ingest refuses others), in a zone no scenario
 * watches: what is measured is the rule → SQS → Lambda → DynamoDB path itself, not the violation engine.
 */
const registerBenchSensors = async (cloud: LocalCloud, count: number) => {
  const token = await cloud.token({ role: 'street-office', subDistrictId: 'sd-bench' });
  const post = async (route: string, body: unknown) => {
    const response = await fetch(`${cloud.endpoints.api}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`POST ${route} → ${response.status} ${await response.text()}`);
  };
  const position = { lat: 31.2, lon: 121.49 };
  await post('/compounds', { compoundId: 'bench', name: 'bench' });
  await post('/compounds/bench/zones', { zoneId: 'yard', kind: 'other', name: 'yard', position });
  for (let d = 0; d < count; d++) {
    await post('/compounds/bench/devices', {
      thingName: `bench-sensor-${d}`,
      type: 'geomagnetic-sensor',
      zoneId: 'yard',
      position,
    });
  }
};

/** Devices publish as fast as PUBACKs allow; each message is timed from publish to the ingest's end. */
const pipeline = async (
  cloud: LocalCloud,
  invocations: Map<string, number>,
  options: { devices: number; messagesPerDevice: number; ratePerSecond?: number; label: string },
) => {
  const devices: Device[] = await Promise.all(
    Array.from({ length: options.devices }, async (_, d) =>
      connectDevice(await cloud.ca.issueDeviceCertificate(`bench-sensor-${d}`), cloud.endpoints.mqtt),
    ),
  );
  const sentAt = new Map<string, number>();
  const total = options.devices * options.messagesPerDevice;
  const started = performance.now();
  let sent = 0;
  // With a rate, each device publishes on its own schedule (open loop); without, as fast as PUBACKs allow.
  const interval = options.ratePerSecond ? (1000 * options.devices) / options.ratePerSecond : 0;
  await Promise.all(
    devices.map(async (device, d) => {
      await sleep((interval / options.devices) * d);
      const first = performance.now();
      const publishes: Promise<void>[] = [];
      for (let seq = 0; seq < options.messagesPerDevice; seq++) {
        if (interval > 0) await sleep(Math.max(0, first + seq * interval - performance.now()));
        sentAt.set(`bench-sensor-${d}/${seq}`, performance.now());
        const publishing = device.publish(`dt/civic/bench/bench-sensor-${d}/occupancy`, {
          seq,
          occupied: seq % 2 === 0,
        });
        if (interval > 0) publishes.push(publishing);
        else await publishing;
        if (++sent % 200 === 0) progress(options.label, sent, total);
      }
      await Promise.all(publishes);
    }),
  );
  progress(options.label, total, total);
  const deadline = performance.now() + 120_000;
  while (invocations.size < total && performance.now() < deadline) await sleep(20);
  await cloud.drain();
  const latencies = [...sentAt].flatMap(([key, at]) => {
    const done = invocations.get(key);
    return done === undefined ? [] : [done - at];
  });
  const ended = Math.max(...invocations.values());
  await Promise.all(devices.map((device) => device.disconnect()));
  return { latencies, stored: latencies.length, total, seconds: (ended - started) / 1000 };
};

export const runFoundationBench = async (): Promise<void> => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civic-bench-'));
  const invocations = new Map<string, number>();
  // The ingest function takes SQS batches: every rule event in a finished batch is done at its end.
  const onInvocation = (record: InvocationRecord) => {
    const records = (record.event as { Records?: { body: string }[] }).Records;
    if (!record.ok || records === undefined) return;
    for (const { body } of records) {
      const event = JSON.parse(body) as { thingName?: string; payload?: string };
      if (event.payload === undefined || !event.thingName?.startsWith('bench-')) continue;
      const seq = (JSON.parse(Buffer.from(event.payload, 'base64').toString()) as { seq: number }).seq;
      invocations.set(`${event.thingName}/${seq}`, record.endedAt);
    }
  };

  const startedAt = performance.now();
  const cloud = await startLocalCloud({
    inMemory: true,
    dataDir,
    ports: FREE_PORTS,
    synth: 'auto',
    onInvocation,
  });
  const startup = performance.now() - startedAt;
  await registerBenchSensors(cloud, 10);

  try {
    process.stderr.write('  raw MQTT round trip …\n');
    const mqttSamples = await rawMqttRoundTrip(500);
    // DynamoDB Local is a JVM: its first thousands of requests run interpreted. Warm it, then measure.
    await rawPutItemRate(cloud.endpoints.dynamodb, cloud.tableName, 4_000, 'warm-up PutItem');
    const putRate = await rawPutItemRate(cloud.endpoints.dynamodb, cloud.tableName, 3_000, 'raw PutItem');
    // Warm the ingest function too (a Lambda cold start is not what this measures).
    await pipeline(cloud, invocations, { devices: 2, messagesPerDevice: 250, label: 'warm-up pipeline' });
    invocations.clear();
    const run = await pipeline(cloud, invocations, {
      devices: 10,
      messagesPerDevice: 200,
      label: 'pipeline, saturated',
    });
    const throughput = run.stored / run.seconds;
    invocations.clear();
    const paced = await pipeline(cloud, invocations, {
      devices: 10,
      messagesPerDevice: 100,
      ratePerSecond: 100,
      label: 'pipeline at 100 msg/s',
    });
    const mqttP50 = percentile(mqttSamples, 50);
    const figures: Figure[] = [
      { name: 'local cloud start-up (in memory, cdk.out reused)', value: ms(startup) },
      {
        name: 'raw MQTT round trip p50 / p99 (mTLS, QoS 0)',
        value: `${ms(mqttP50)} / ${ms(percentile(mqttSamples, 99))}`,
      },
      { name: 'raw DynamoDB Local PutItem rate (16 in flight)', value: perSecond(putRate) },
      {
        name: 'pipeline throughput (device → rule → SQS → Lambda → DynamoDB)',
        value: perSecond(throughput),
        note: `${(throughput / putRate).toFixed(2)}× the raw PutItem rate; ${run.stored}/${run.total} stored`,
      },
      {
        name: 'pipeline latency at 100 msg/s p50 / p90 / p99',
        value: `${ms(percentile(paced.latencies, 50))} / ${ms(percentile(paced.latencies, 90))} / ${ms(percentile(paced.latencies, 99))}`,
        note: `p50 is ${(percentile(paced.latencies, 50) / mqttP50).toFixed(1)}× the raw MQTT round trip; ${paced.stored}/${paced.total} stored`,
      },
      {
        name: 'pipeline latency saturated p50 / p99',
        value: `${ms(percentile(run.latencies, 50))} / ${ms(percentile(run.latencies, 99))}`,
        note: 'queueing behind the PutItem ceiling',
      },
    ];
    printFigures('Foundation (issue 2) — in memory, this machine', figures);
  } finally {
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};
