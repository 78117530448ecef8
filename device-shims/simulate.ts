/**
 * `npm run simulate -- …`: simulated devices against a running cloud.
 *
 *   --scenario fire-lane|e-bike|smoke   play a story with the demo devices and print its timeline
 *       --wait-seconds N        how long to wait for the cloud's reaction (default 330 for fire-lane,
 *                               whose grace period is 5 minutes server-side; 30 for the instant ones)
 *       --settle-seconds N      how long to keep listening after the device clears (default 5)
 *       --heartbeat-seconds N   heartbeat period of the story's devices (default 10)
 *   --load                              register, connect and drive N geomagnetic sensors
 *       --devices N (default 10)  --rate R messages/s in total (default 50)  --duration S (default 10)
 *       --messages M              stop after M messages     --compound ID (xiling)  --zone ID (parking-a)
 *       --keep                    leave the load devices registered (credentials under <data-dir>/devices)
 *   --device TYPE --thing NAME          one device (any registry type), e.g. against AWS IoT Core:
 *       --compound ID --cert FILE --key FILE [--signal S --send JSON] [--duration S to stay and listen]
 *
 * Connection (all modes): --data-dir DIR (default .local: cloud.json, ca/, devices/);
 *   --endpoint HOST --port N --ca FILE override the MQTT endpoint and CA, e.g. your account's
 *   `aws iot describe-endpoint --endpoint-type iot:Data-ATS` host, 8883 and AmazonRootCA1.pem.
 */
import '../local/quiet-warnings.js';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { CivicApi, fetchToken, identityIn, type LocalCloudInfo, readLocalCloud } from './cloud-client.js';
import type { DeviceEndpoint, DeviceIdentity } from './device.js';
import { SHIMS } from './devices/index.js';
import { type LoadProgress, runLoad } from './load.js';
import { runScenario, SCENARIOS, type ScenarioName } from './scenarios.js';
import { connectShim, type DeviceShim, type ShimClass } from './shim.js';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    'wait-seconds': { type: 'string' },
    'settle-seconds': { type: 'string', default: '5' },
    'heartbeat-seconds': { type: 'string', default: '10' },
    load: { type: 'boolean', default: false },
    devices: { type: 'string', default: '10' },
    rate: { type: 'string', default: '50' },
    duration: { type: 'string' },
    messages: { type: 'string' },
    compound: { type: 'string', default: 'xiling' },
    zone: { type: 'string', default: 'parking-a' },
    keep: { type: 'boolean', default: false },
    device: { type: 'string' },
    thing: { type: 'string' },
    signal: { type: 'string' },
    send: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    ca: { type: 'string' },
    endpoint: { type: 'string' },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

class UsageError extends Error {
  override name = 'UsageError';
}

const number = (name: string, value: string | undefined, fallback?: number): number => {
  if (value === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new UsageError(`--${name} must be a non-negative number`);
  return parsed;
};

const dataDir = values['data-dir'] ? path.resolve(values['data-dir']) : path.join(PROJECT_ROOT, '.local');
const out = (line: string) => console.log(line);

const localCloud = (() => {
  let info: LocalCloudInfo | undefined;
  return () => {
    info ??= readLocalCloud(dataDir);
    return info;
  };
})();

const mqttEndpoint = (): DeviceEndpoint =>
  values.endpoint
    ? { host: values.endpoint, port: number('port', values.port, 8883) }
    : { ...localCloud().endpoints.mqtt, ...(values.port ? { port: number('port', values.port) } : {}) };

const caPath = (): string => (values.ca ? path.resolve(values.ca) : localCloud().caPath);

const streetOffice = async (): Promise<CivicApi> => {
  const cloud = localCloud();
  return new CivicApi(cloud.endpoints.api, await fetchToken(cloud.endpoints.control, 'street-office'));
};

const scenario = async (name: string): Promise<number> => {
  if (!(SCENARIOS as readonly string[]).includes(name))
    throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  const ctx = {
    api: await streetOffice(),
    mqtt: mqttEndpoint(),
    caPath: caPath(),
    devicesDir: path.join(dataDir, 'devices'),
    // The fire lane's grace period is server-side (5 minutes in the scenario catalogue); the others are instant.
    waitSeconds: number('wait-seconds', values['wait-seconds'], name === 'fire-lane' ? 330 : 30),
    settleSeconds: number('settle-seconds', values['settle-seconds']),
    heartbeatSeconds: Math.max(1, number('heartbeat-seconds', values['heartbeat-seconds'])),
    out,
  };
  out(`Scenario ${name} against ${ctx.api.baseUrl} and mqtts://${ctx.mqtt.host}:${ctx.mqtt.port}\n`);
  const result = await runScenario(name as ScenarioName, ctx);
  out(
    result.workOrder
      ? `\nDone: work order ${result.workOrder.workOrderId} received, acknowledged and reported handled.`
      : `\nDone: the story ran, but no work order arrived within ${ctx.waitSeconds} s${result.holdDoors ? ' (hold-doors did arrive)' : ''}.`,
  );
  return 0;
};

const bar = (progress: LoadProgress): string => {
  const width = 30;
  const ratio = progress.total > 0 ? Math.min(1, progress.done / progress.total) : 0;
  const filled = Math.round(ratio * width);
  return `${progress.phase.padEnd(15)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${progress.done}/${progress.total}  sent ${progress.sent}  acked ${progress.acknowledged}  errors ${progress.errors}`;
};

const load = async (): Promise<number> => {
  const cloud = localCloud();
  const devices = number('devices', values.devices);
  const rate = number('rate', values.rate);
  const durationSeconds = number('duration', values.duration, 10);
  let lastLine = 0;
  const summary = await runLoad({
    api: await streetOffice(),
    mqtt: mqttEndpoint(),
    caPath: caPath(),
    compoundId: values.compound,
    zoneId: values.zone,
    devices,
    rate,
    durationSeconds,
    messages: values.messages === undefined ? undefined : number('messages', values.messages),
    keep: values.keep,
    credentialsDir: values.keep ? path.join(dataDir, 'devices') : undefined,
    onProgress: (progress) => {
      if (process.stderr.isTTY) {
        process.stderr.write(`\r${bar(progress)}\u001b[K`);
      } else if (Date.now() - lastLine > 1000 || progress.done === progress.total) {
        lastLine = Date.now();
        process.stderr.write(`${bar(progress)}\n`);
      }
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  const show = (value: number | undefined) => (value === undefined ? 'n/a' : String(value));
  out(
    `Load against ${cloud.endpoints.api}: ${devices} geomagnetic sensors in ${values.compound}/${values.zone}`,
  );
  out(`  registered      ${summary.registered}`);
  out(`  connected       ${summary.connected}`);
  out(`  sent            ${summary.sent}  (target ${rate}/s for ${durationSeconds} s)`);
  out(
    `  acknowledged    ${summary.acknowledged}  (PUBACK; ${summary.achievedRate.toFixed(1)}/s over ${summary.publishSeconds.toFixed(1)} s)`,
  );
  out(`  violations      ${show(summary.violations)}`);
  out(`  work orders     ${show(summary.workOrders)}`);
  out(`  errors          ${summary.errors}`);
  for (const sample of summary.errorSamples) out(`    ${sample}`);
  for (const note of summary.notes) out(`  note: ${note}`);
  out(
    values.keep
      ? `  kept ${summary.registered} devices registered; credentials in ${summary.credentialsDir}`
      : `  decommissioned  ${summary.decommissioned}`,
  );
  return summary.errors === 0 ? 0 : 1;
};

/** One device, e.g. with real certificates against AWS IoT Core; prints what it receives. */
const single = async (type: string): Promise<number> => {
  const Shim: ShimClass<DeviceShim> | undefined = SHIMS[type as keyof typeof SHIMS];
  if (!Shim) throw new UsageError(`--device must be one of ${Object.keys(SHIMS).join(', ')}`);
  if (!values.thing) throw new UsageError('--thing is required with --device');
  const identity: DeviceIdentity | undefined =
    values.cert && values.key
      ? {
          thingName: values.thing,
          certificatePath: path.resolve(values.cert),
          privateKeyPath: path.resolve(values.key),
          caPath: caPath(),
        }
      : identityIn(path.join(dataDir, 'devices'), values.thing, caPath());
  if (!identity) throw new UsageError(`No credentials for ${values.thing}: pass --cert and --key`);
  const shim = await connectShim(Shim, identity, mqttEndpoint(), {
    compoundId: values.compound,
    log: (line) => out(line),
  });
  try {
    out(`${values.thing}: connected as ${Shim.deviceType}`);
    const beat = await shim.heartbeat();
    out(`→ ${beat.topic} ${JSON.stringify(beat.payload)}`);
    if (values.send !== undefined) {
      if (!values.signal) throw new UsageError('--signal is required with --send');
      const fields = JSON.parse(values.send) as Record<string, unknown>;
      const sent = await shim.send(values.signal, fields);
      out(`→ ${sent.topic} ${JSON.stringify(sent.payload)}`);
    }
    const stay = number('duration', values.duration, 0);
    if (stay > 0) {
      shim.startHeartbeat(number('heartbeat-seconds', values['heartbeat-seconds']) * 1000);
      out(`listening ${stay} s on ${shim.commandTopic('#')} …`);
      await new Promise((resolve) => setTimeout(resolve, stay * 1000));
    }
  } finally {
    await shim.disconnect();
  }
  return 0;
};

const main = async (): Promise<number> => {
  if (values.help) {
    out(
      'usage: npm run simulate -- --scenario fire-lane|e-bike|smoke | --load | --device TYPE (see device-shims/README.md)',
    );
    return 0;
  }
  if (values.scenario) return scenario(values.scenario);
  if (values.load) return load();
  if (values.device) return single(values.device);
  throw new UsageError('Choose --scenario NAME, --load or --device TYPE (--help for usage)');
};

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`\n${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
