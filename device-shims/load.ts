/**
 * The load mode: registers N geomagnetic sensors through the API, connects them over mutual TLS,
 * publishes occupancy at a total rate, and counts what was sent, acknowledged (PUBACK) and what the
 * cloud made of it; then decommissions the sensors.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type CivicApi, identityIn, writeCredentials } from './cloud-client.js';
import type { DeviceEndpoint } from './device.js';
import { GeomagneticSensor } from './devices/geomagnetic-sensor.js';
import { connectShim } from './shim.js';

export interface LoadOptions {
  api: CivicApi;
  mqtt: DeviceEndpoint;
  caPath: string;
  compoundId: string;
  zoneId: string;
  devices: number;
  /** Messages per second, all devices together. */
  rate: number;
  /** Default 10 s. */
  durationSeconds?: number;
  /** Stop after this many messages even if time is left. */
  messages?: number;
  /** Leave the devices registered (and their credentials in `credentialsDir`). */
  keep?: boolean;
  /** Where credentials are written; default a temporary folder, removed at the end unless `keep`. */
  credentialsDir?: string;
  position?: { lat: number; lon: number };
  onProgress?: (progress: LoadProgress) => void;
  log?: (line: string) => void;
}

export interface LoadProgress {
  phase: 'registering' | 'connecting' | 'publishing' | 'draining' | 'decommissioning';
  done: number;
  total: number;
  sent: number;
  acknowledged: number;
  errors: number;
}

export interface LoadSummary {
  devices: number;
  registered: number;
  connected: number;
  sent: number;
  acknowledged: number;
  errors: number;
  /** The first few errors, for the report. */
  errorSamples: string[];
  publishSeconds: number;
  /** Acknowledged messages per second while publishing. */
  achievedRate: number;
  /** Violations / work orders naming one of the load devices; undefined when the route is not there. */
  violations: number | undefined;
  workOrders: number | undefined;
  notes: string[];
  decommissioned: number;
  thingNames: string[];
  credentialsDir?: string;
}

/** Runs `work` over `items` with at most `concurrency` at a time; failures are reported, not thrown. */
const pool = async <T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  onFailure: (item: T, error: Error) => void,
): Promise<void> => {
  let index = 0;
  const worker = async () => {
    while (index < items.length) {
      const item = items[index++] as T;
      await work(item).catch((error: Error) => onFailure(item, error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
};

const mentions = (item: unknown, things: Set<string>): boolean => {
  const text = JSON.stringify(item);
  for (const thing of things) if (text.includes(`"${thing}"`)) return true;
  return false;
};

export const runLoad = async (options: LoadOptions): Promise<LoadSummary> => {
  if (!Number.isInteger(options.devices) || options.devices < 1) throw new Error('devices must be ≥ 1');
  if (!(options.rate > 0)) throw new Error('rate must be > 0');
  const durationSeconds = options.durationSeconds ?? 10;
  const total = Math.min(
    options.messages ?? Number.POSITIVE_INFINITY,
    Math.ceil(options.rate * durationSeconds),
  );
  const log = options.log ?? (() => undefined);
  const runId = randomBytes(3).toString('hex');
  const thingNames = Array.from(
    { length: options.devices },
    (_, i) => `${options.compoundId}-load-${runId}-${String(i + 1).padStart(4, '0')}`,
  );
  const ownDir = options.credentialsDir === undefined;
  const credentialsDir = options.credentialsDir ?? mkdtempSync(path.join(tmpdir(), 'civic-load-'));
  const errorSamples: string[] = [];
  let errors = 0;
  const fail = (what: string, error: Error) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(`${what}: ${error.message}`);
  };
  let sent = 0;
  let acknowledged = 0;
  const progress = (phase: LoadProgress['phase'], done: number, of: number) =>
    options.onProgress?.({ phase, done, total: of, sent, acknowledged, errors });

  const registered: string[] = [];
  const sensors: GeomagneticSensor[] = [];
  let publishSeconds = 0;
  let decommissioned = 0;
  const notes: string[] = [];
  let violations: number | undefined;
  let workOrders: number | undefined;
  try {
    progress('registering', 0, thingNames.length);
    await pool(
      thingNames,
      8,
      async (thingName) => {
        const credentials = await options.api.registerDevice(options.compoundId, {
          thingName,
          type: GeomagneticSensor.deviceType,
          zoneId: options.zoneId,
          position: options.position ?? { lat: 31.2048, lon: 121.4904 },
        });
        writeCredentials(credentialsDir, credentials);
        registered.push(thingName);
        progress('registering', registered.length, thingNames.length);
      },
      (thingName, error) => fail(`register ${thingName}`, error),
    );

    progress('connecting', 0, registered.length);
    await pool(
      [...registered],
      16,
      async (thingName) => {
        const identity = identityIn(credentialsDir, thingName, options.caPath);
        if (!identity) throw new Error('no credentials on disk');
        sensors.push(
          await connectShim(GeomagneticSensor, identity, options.mqtt, {
            compoundId: options.compoundId,
            log,
          }),
        );
        progress('connecting', sensors.length, registered.length);
      },
      (thingName, error) => fail(`connect ${thingName}`, error),
    );
    if (sensors.length === 0) throw new Error(`No load device connected (${errorSamples.join('; ')})`);

    const inFlight = new Set<Promise<void>>();
    const started = performance.now();
    const deadline = started + durationSeconds * 1000;
    const occupied = new Map<string, boolean>();
    const tickMs = Math.max(5, Math.min(50, 1000 / options.rate));
    while (sent < total && performance.now() < deadline) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.rate) + 1);
      while (sent < due) {
        const sensor = sensors[sent % sensors.length] as GeomagneticSensor;
        const next = !(occupied.get(sensor.thingName) ?? false);
        occupied.set(sensor.thingName, next);
        sent++;
        const publishing = sensor.occupancy(next).then(
          () => {
            acknowledged++;
          },
          (error: Error) => fail(`publish ${sensor.thingName}`, error),
        );
        inFlight.add(publishing);
        void publishing.finally(() => inFlight.delete(publishing));
      }
      progress('publishing', sent, Number.isFinite(total) ? total : sent);
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
    progress('draining', acknowledged, sent);
    await Promise.race([
      Promise.all(inFlight),
      new Promise((resolve) => setTimeout(resolve, 15_000).unref()),
    ]);
    publishSeconds = (performance.now() - started) / 1000;
    progress('publishing', sent, sent);

    const things = new Set(registered);
    const violationList = await options.api.listAll(`/violations?compoundId=${options.compoundId}`);
    if ('items' in violationList) {
      const ours = violationList.items.filter((item) => mentions(item, things));
      violations = ours.length;
      // A violation carries the work orders dispatched for it.
      workOrders = ours.reduce(
        (sum, item) => sum + (Array.isArray(item.workOrders) ? item.workOrders.length : 0),
        0,
      );
    } else {
      notes.push(`violations and work orders not read: GET /violations answered ${violationList.status}`);
    }
  } finally {
    await Promise.all(sensors.map((sensor) => sensor.disconnect()));
    if (!options.keep) {
      progress('decommissioning', 0, registered.length);
      await pool(
        registered,
        8,
        async (thingName) => {
          await options.api.decommissionDevice(thingName);
          decommissioned++;
          progress('decommissioning', decommissioned, registered.length);
        },
        (thingName, error) => fail(`decommission ${thingName}`, error),
      );
      if (ownDir) rmSync(credentialsDir, { recursive: true, force: true });
    }
  }
  return {
    devices: options.devices,
    registered: registered.length,
    connected: sensors.length,
    sent,
    acknowledged,
    errors,
    errorSamples,
    publishSeconds,
    achievedRate: publishSeconds > 0 ? acknowledged / publishSeconds : 0,
    violations,
    workOrders,
    notes,
    decommissioned,
    thingNames: registered,
    ...(options.keep ? { credentialsDir } : {}),
  };
};
