/**
 * The smart-community bench's sensors, in a worker thread of their own: real sensors are not on the
 * cloud's machine, so their MQTT clients and pacing timers should not share the cloud's main thread.
 * The latency stages cross threads and the rule engine, which stamps Date.now(): they are all taken with
 * Date.now() (the one system clock, whole milliseconds). Each thread's timeOrigin + now() was finer but
 * differed from Date.now() by a fraction of a millisecond, which made a short stage come out negative.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { connectDevice, type Device, type DeviceIdentity } from '../device-shims/device.js';
import { violationIdFor } from '../functions/violations/engine.js';
import { progress, sleep } from './support.js';

export const epochNow = () => performance.timeOrigin + performance.now();

/** One report in this many parks a car (5 % of messages); the next report moves it away. */
const PARK_EVERY = 20;

interface FleetSetup {
  identities: DeviceIdentity[];
  endpoint: { host: string; port: number };
  compoundId: string;
  scenarioId: string;
}

type Command =
  | { type: 'drive'; label: string; seconds: number; rate: number }
  | { type: 'saturate'; perSensor: number }
  | { type: 'stop' };

export interface DriveResult {
  /** Each park's publish time (epoch ms) by the violation it opens. */
  parkedAt: [string, number][];
  unique: number;
  duplicated: number;
  reordered: number;
  publishSeconds: number;
}

export interface Fleet {
  drive(label: string, seconds: number, rate: number): Promise<DriveResult>;
  /** Publishes `perSensor` messages per sensor as fast as PUBACKs allow; resolves with the start (epoch ms). */
  saturate(perSensor: number): Promise<{ startedAt: number; total: number }>;
  stop(): Promise<void>;
}

export const startFleet = async (setup: FleetSetup): Promise<Fleet> => {
  const worker = new Worker(new URL('./fleet-worker.mjs', import.meta.url), { workerData: setup });
  const replies: ((value: unknown) => void)[] = [];
  worker.on('message', (message) => replies.shift()?.(message));
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  const ask = <T>(command: Command) => {
    const reply = new Promise<T>((resolve) => replies.push(resolve as (value: unknown) => void));
    worker.postMessage(command);
    return Promise.race([reply, failed]);
  };
  await ask<'ready'>({ type: 'drive', label: '', seconds: 0, rate: 1 });
  return {
    drive: (label, seconds, rate) => ask<DriveResult>({ type: 'drive', label, seconds, rate }),
    saturate: (perSensor) => ask({ type: 'saturate', perSensor }),
    stop: async () => {
      await ask({ type: 'stop' });
      await worker.terminate();
    },
  };
};

const runWorker = async (setup: FleetSetup) => {
  const port = parentPort;
  if (port === null) return;
  const fleet: Device[] = [];
  for (const identity of setup.identities) fleet.push(await connectDevice(identity, setup.endpoint));
  const nextSeq = new Map<string, number>();
  const topicOf = (sensor: Device) => `dt/civic/${setup.compoundId}/${sensor.thingName}/occupancy`;
  const next = (sensor: Device) => {
    const seq = (nextSeq.get(sensor.thingName) ?? 0) + 1;
    nextSeq.set(sensor.thingName, seq);
    return seq;
  };
  // Sensors are independent: each parks on its own phase, so the fleet's parks are spread evenly in
  // time. (In step, all twenty parked within one 100 ms tick every two seconds: a burst of twenty cases
  // opening at once, which is not the load of independent lanes at 200 msg/s.)
  const parks = (index: number, seq: number) => (seq + index) % PARK_EVERY === 1;

  // Each sensor reports at rate/sensors per second; one report in twenty parks a car on the lane and
  // the next one moves it away. 10 % of messages are sent twice, 5 % held back past the next one.
  const drive = async (label: string, seconds: number, rate: number): Promise<DriveResult> => {
    const total = Math.floor(rate * seconds);
    const interval = (1000 * fleet.length) / rate;
    const parkedAt: [string, number][] = [];
    let sent = 0;
    let duplicated = 0;
    let reordered = 0;
    const started = performance.now();
    await Promise.all(
      fleet.map(async (sensor, index) => {
        await sleep((interval / fleet.length) * index);
        const first = performance.now();
        const pending: Promise<void>[] = [];
        for (let tick = 1; sent < total; tick++) {
          await sleep(Math.max(0, first + tick * interval - performance.now()));
          const seq = next(sensor);
          const message = { ts: new Date().toISOString(), seq, occupied: parks(index, seq) };
          // A park's time is when it first goes out: a message held back to arrive out of order is
          // timed from its late publish, not from the moment the sensor meant to send it.
          let unsent = true;
          const publish = () => {
            if (unsent && message.occupied)
              parkedAt.push([violationIdFor(setup.scenarioId, sensor.thingName, message.ts), Date.now()]);
            unsent = false;
            return sensor.publish(topicOf(sensor), message);
          };
          if (Math.random() < 0.05) {
            reordered++;
            pending.push(sleep(interval * 1.5).then(publish));
          } else pending.push(publish());
          if (Math.random() < 0.1) {
            duplicated++;
            pending.push(sleep(5).then(publish));
          }
          if (++sent % 200 === 0) progress(label, sent, total);
        }
        await Promise.all(pending);
      }),
    );
    if (total > 0) progress(label, total, total);
    return {
      parkedAt,
      unique: sent,
      duplicated,
      reordered,
      publishSeconds: (performance.now() - started) / 1000,
    };
  };

  port.on('message', async (command: Command) => {
    if (command.type === 'drive')
      port.postMessage(
        command.seconds === 0 ? 'ready' : await drive(command.label, command.seconds, command.rate),
      );
    else if (command.type === 'saturate') {
      const startedAt = epochNow();
      await Promise.all(
        fleet.map(async (sensor, index) => {
          for (let i = 0; i < command.perSensor; i++) {
            const seq = next(sensor);
            await sensor.publish(topicOf(sensor), {
              ts: new Date().toISOString(),
              seq,
              occupied: parks(index, seq),
            });
          }
        }),
      );
      port.postMessage({ startedAt, total: command.perSensor * fleet.length });
    } else {
      await Promise.all(fleet.map((sensor) => sensor.disconnect()));
      port.postMessage('stopped');
    }
  });
};

if (!isMainThread && (workerData as FleetSetup | undefined)?.identities)
  await runWorker(workerData as FleetSetup);
