import { EventEmitter, once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { iot, mqtt } from 'aws-iot-device-sdk-v2';
import { connectAsync, type IClientOptions, type MqttClient as MqttJsClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type DeniedEvent,
  type DevicePublish,
  type LocalBroker,
  MAX_PAYLOAD_BYTES,
  startBroker,
} from './broker.js';
import { type DeviceCertificate, ensureCa, type LocalCa } from './ca.js';
import { type LocalIotDataPlane, startIotDataPlane } from './data-plane.js';

const SENSOR = 'fire-lane-sensor-01';
const NEIGHBOUR = 'fire-lane-sensor-02';

let dir: string;
let foreignDir: string;
let ca: LocalCa;
let sensor: DeviceCertificate;
let neighbour: DeviceCertificate;
let foreign: DeviceCertificate;

let broker: LocalBroker;
let published: DevicePublish[];
let denied: DeniedEvent[];
let errors: unknown[];
const bus = new EventEmitter();

const crtConnections: mqtt.MqttClientConnection[] = [];
const mqttJsClients: MqttJsClient[] = [];
const closeables: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'civic-cell-iot-'));
  foreignDir = await mkdtemp(path.join(tmpdir(), 'civic-cell-iot-foreign-'));
  ca = await ensureCa(dir);
  sensor = await ca.issueDeviceCertificate(SENSOR);
  neighbour = await ca.issueDeviceCertificate(NEIGHBOUR);
  foreign = await (await ensureCa(foreignDir)).issueDeviceCertificate(SENSOR);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(foreignDir, { recursive: true, force: true });
});

beforeEach(async () => {
  published = [];
  denied = [];
  errors = [];
  broker = await start(ca);
});

afterEach(async () => {
  // aws-crt keeps the worker alive while a connection is open (it also keeps reconnecting): end them all.
  await Promise.all(crtConnections.splice(0).map((connection) => connection.disconnect().catch(() => {})));
  await Promise.all(mqttJsClients.splice(0).map((client) => client.endAsync(true).catch(() => {})));
  await Promise.all(closeables.splice(0).map((closeable) => closeable.close()));
});

async function start(localCa: LocalCa): Promise<LocalBroker> {
  const started = await startBroker({
    ca: localCa,
    port: 0,
    onPublish: (message) => {
      published.push(message);
      bus.emit('change');
    },
    onDenied: (event) => {
      denied.push(event);
      bus.emit('change');
    },
    onError: (error) => {
      errors.push(error);
      bus.emit('change');
    },
  });
  closeables.push(started);
  return started;
}

/** Resolves with the first recorded item that matches, now or when it arrives. */
function eventually<T>(items: () => T[], predicate: (item: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const check = () => {
      const found = items().find(predicate);
      if (found === undefined) return;
      bus.off('change', check);
      resolve(found);
    };
    bus.on('change', check);
    check();
  });
}

/** A device as the project's shims build it: aws-iot-device-sdk-v2's MQTT 3.1.1 client over mutual TLS. */
function crtDevice(
  certificate: DeviceCertificate,
  clientId = certificate.thingName,
): mqtt.MqttClientConnection {
  const config = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(
    certificate.certificatePath,
    certificate.privateKeyPath,
  )
    .with_certificate_authority_from_path(undefined, ca.caPath)
    .with_endpoint('127.0.0.1')
    .with_port(broker.port)
    .with_client_id(clientId)
    .with_clean_session(true)
    .build();
  // The 1.28 builder has no setter for MQTT 3.1.1; without this the SDK appends metrics to the username.
  config.disable_metrics = true;
  const connection = new mqtt.MqttClient().new_connection(config);
  connection.on('error', () => {}); // connect failures also reject connect(); unhandled 'error' would throw
  return connection;
}

async function connectCrt(connection: mqtt.MqttClientConnection): Promise<mqtt.MqttClientConnection> {
  await connection.connect();
  crtConnections.push(connection);
  return connection;
}

async function mqttJsDevice(
  certificate: DeviceCertificate,
  overrides: IClientOptions = {},
): Promise<MqttJsClient> {
  const client = await connectAsync(broker.url, {
    key: certificate.privateKeyPem,
    cert: certificate.certificatePem,
    ca: ca.caCertificatePem,
    clientId: certificate.thingName,
    protocolVersion: 4,
    reconnectPeriod: 0,
    ...overrides,
  });
  mqttJsClients.push(client);
  return client;
}

function closeOf(client: MqttJsClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

function dataPlaneClient(dataPlane: LocalIotDataPlane): IoTDataPlaneClient {
  const client = new IoTDataPlaneClient({
    endpoint: dataPlane.endpoint,
    region: 'cn-north-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  closeables.push({ close: async () => client.destroy() });
  return client;
}

describe('device telemetry', () => {
  it('reaches onPublish from an aws-iot-device-sdk-v2 device connected over mutual TLS', async () => {
    const device = await connectCrt(crtDevice(sensor));
    const topic = `dt/civic/jinqiao-1/${SENSOR}/occupancy`;

    await device.publish(topic, JSON.stringify({ occupied: true }), mqtt.QoS.AtLeastOnce);

    const message = await eventually(
      () => published,
      (m) => m.topic === topic,
    );
    expect(message).toEqual({
      topic,
      payload: Buffer.from('{"occupied":true}'),
      clientId: SENSOR,
      qos: 1,
    });
  });

  it("drops a publish to another thing's topic and disconnects the device, as AWS IoT does", async () => {
    const device = await connectCrt(crtDevice(sensor));
    const interrupted = once(device, 'interrupt');
    const resumed = once(device, 'resume');
    const forged = `dt/civic/jinqiao-1/${NEIGHBOUR}/occupancy`;

    await device.publish(forged, '{"occupied":false}', mqtt.QoS.AtMostOnce);

    expect(
      await eventually(
        () => denied,
        (e) => e.action === 'publish',
      ),
    ).toMatchObject({ clientId: SENSOR, thingName: SENSOR, topic: forged });
    await interrupted;
    expect(published.filter((m) => m.topic === forged)).toEqual([]);

    await resumed;
    const own = `dt/civic/jinqiao-1/${SENSOR}/occupancy`;
    await device.publish(own, '{"occupied":true}', mqtt.QoS.AtLeastOnce);
    await eventually(
      () => published,
      (m) => m.topic === own,
    );
    expect(published.map((m) => m.topic)).toEqual([own]);
  });

  it.each([
    ['QoS 2, which AWS IoT does not support', `dt/civic/c1/${SENSOR}/x`, 'x', 2 as const, /QoS 2/],
    [
      'a payload above 128 KB',
      `dt/civic/c1/${SENSOR}/x`,
      'x'.repeat(MAX_PAYLOAD_BYTES + 1),
      0 as const,
      /payload/,
    ],
    ['a command topic', `cmd/civic/c1/${SENSOR}/x`, 'x', 0 as const, /dt\/civic/],
  ])('refuses %s', async (_case, topic, payload, qos, reason) => {
    const device = await mqttJsDevice(sensor);
    const closed = closeOf(device);

    device.publish(topic, payload, { qos });

    expect(
      await eventually(
        () => denied,
        (e) => e.action === 'publish',
      ),
    ).toMatchObject({ topic, reason: expect.stringMatching(reason) });
    await closed;
    expect(published).toEqual([]);
  });

  it('reports a failing onPublish through onError and keeps serving', async () => {
    await broker.close();
    broker = await startBroker({
      ca,
      onPublish: async () => {
        throw new Error('rules engine down');
      },
      onError: (error) => {
        errors.push(error);
        bus.emit('change');
      },
    });
    closeables.push(broker);
    const device = await mqttJsDevice(sensor);

    await device.publishAsync(`dt/civic/c1/${SENSOR}/x`, 'x', { qos: 1 });

    expect(
      await eventually(
        () => errors,
        () => true,
      ),
    ).toMatchObject({ message: 'rules engine down' });
    expect(device.connected).toBe(true);
  });
});

describe('device commands', () => {
  it("refuses a subscription to another thing's commands with a SUBACK failure", async () => {
    const device = await connectCrt(crtDevice(sensor));

    const granted = await device.subscribe(`cmd/civic/+/${NEIGHBOUR}/#`, mqtt.QoS.AtLeastOnce, () => {});

    expect(granted.qos).toBe(128);
    expect(denied).toEqual([
      expect.objectContaining({ action: 'subscribe', clientId: SENSOR, topic: `cmd/civic/+/${NEIGHBOUR}/#` }),
    ]);
  });

  it('delivers data-plane PublishCommand messages only to the thing they address', async () => {
    const dataPlane = await startIotDataPlane({ broker, port: 0 });
    closeables.push(dataPlane);
    const cloud = dataPlaneClient(dataPlane);
    const [sensorInbox, neighbourInbox] = await Promise.all([
      listenForCommands(sensor),
      listenForCommands(neighbour),
    ]);

    await cloud.send(
      new PublishCommand({
        topic: `cmd/civic/jinqiao-1/${NEIGHBOUR}/display`,
        payload: Buffer.from('{"free":0}'),
        qos: 1,
      }),
    );
    await cloud.send(
      new PublishCommand({
        topic: `cmd/civic/jinqiao-1/${SENSOR}/display`,
        payload: Buffer.from('{"free":3}'),
        qos: 1,
      }),
    );

    // One subscriber receives in publish order, so the sensor's first message proves it skipped the other.
    expect(await sensorInbox.first).toEqual({
      topic: `cmd/civic/jinqiao-1/${SENSOR}/display`,
      payload: '{"free":3}',
    });
    expect(await neighbourInbox.first).toEqual({
      topic: `cmd/civic/jinqiao-1/${NEIGHBOUR}/display`,
      payload: '{"free":0}',
    });
  });
});

/** Connects the device with aws-crt, subscribes to its own commands and resolves `first` on the first one. */
async function listenForCommands(certificate: DeviceCertificate) {
  const device = await connectCrt(crtDevice(certificate));
  let resolveFirst: (message: { topic: string; payload: string }) => void = () => {};
  const first = new Promise<{ topic: string; payload: string }>((resolve) => {
    resolveFirst = resolve;
  });
  const granted = await device.subscribe(
    `cmd/civic/+/${certificate.thingName}/#`,
    mqtt.QoS.AtLeastOnce,
    (topic, payload) => resolveFirst({ topic, payload: Buffer.from(payload).toString() }),
  );
  expect(granted.qos).toBe(1);
  return { first };
}

describe('connection', () => {
  it('refuses a client id that is not the certificate CN', async () => {
    await expect(crtDevice(sensor, NEIGHBOUR).connect()).rejects.toMatch(/Failed to connect/);

    expect(denied).toEqual([
      expect.objectContaining({
        action: 'connect',
        clientId: NEIGHBOUR,
        thingName: SENSOR,
        reason: expect.stringMatching(/client id/),
      }),
    ]);
  });

  it('answers the refused CONNECT with return code 5, not authorized', async () => {
    // aws-crt reports any CONNACK refusal as AWS_ERROR_MQTT_PROTOCOL_ERROR; mqtt.js shows the code.
    await expect(mqttJsDevice(sensor, { clientId: 'someone-else' })).rejects.toMatchObject({ code: 5 });
  });

  it('refuses a certificate that the local CA did not sign, during the TLS handshake', async () => {
    await expect(crtDevice(foreign).connect()).rejects.toMatch(/Failed to connect/);

    expect(
      await eventually(
        () => denied,
        (e) => e.action === 'connect',
      ),
    ).toMatchObject({ reason: expect.stringMatching(/TLS handshake/) });
  });

  it('closes the live session of a revoked certificate and refuses it from then on, across a restart', async () => {
    const gate = await ca.issueDeviceCertificate('gate-revoked-01');
    const live = await connectCrt(crtDevice(gate));
    const interrupted = once(live, 'interrupt');

    await ca.revoke('gate-revoked-01');

    await interrupted;
    await live.disconnect();
    await expect(crtDevice(gate).connect()).rejects.toMatch(/Failed to connect/);
    expect(denied).toContainEqual(
      expect.objectContaining({
        action: 'connect',
        clientId: 'gate-revoked-01',
        reason: 'certificate revoked',
      }),
    );

    await broker.close();
    const reloaded = await ensureCa(dir);
    broker = await start(reloaded);
    await expect(mqttJsDevice(gate)).rejects.toMatchObject({ code: 5 });

    const replacement = await reloaded.issueDeviceCertificate('gate-revoked-01');
    await expect(connectCrt(crtDevice(replacement))).resolves.toBeDefined();
  });

  it('ends connected clients promptly on close()', async () => {
    const device = await mqttJsDevice(sensor);
    const closed = closeOf(device);

    await broker.close();

    await closed;
    expect(device.connected).toBe(false);
  });
});
