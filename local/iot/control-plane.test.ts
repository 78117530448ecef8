import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CertificateStateException,
  CreateKeysAndCertificateCommand,
  type CreateKeysAndCertificateCommandOutput,
  CreateThingCommand,
  DeleteThingCommand,
  DescribeCertificateCommand,
  DescribeEndpointCommand,
  DescribeThingCommand,
  DetachThingPrincipalCommand,
  InvalidRequestException,
  IoTClient,
  ListAttachedPoliciesCommand,
  ListThingPrincipalsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectDevice, type Device, DeviceConnectError } from '../../device-shims/device.js';
import { type DeniedEvent, type DevicePublish, type LocalBroker, startBroker } from './broker.js';
import { ensureCa, type LocalCa } from './ca.js';
import { type LocalIotControlPlane, startIotControlPlane } from './control-plane.js';

const POLICY = 'CivicCell-DevicesDevicePolicy-LOCAL';
const CERT_ARN = /^arn:aws:iot:us-east-1:000000000000:cert\/[0-9a-f]{64}$/;

let dir: string;
let ca: LocalCa;
let broker: LocalBroker;
let control: LocalIotControlPlane;
let iot: IoTClient;
let published: DevicePublish[];
let denied: DeniedEvent[];
const devices: Device[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'civic-cell-iot-control-'));
  await start();
});

afterAll(async () => {
  await stop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  published = [];
  denied = [];
});

afterEach(async () => {
  // aws-crt keeps reconnecting (and the worker alive) while a connection is open.
  await Promise.all(devices.splice(0).map((device) => device.disconnect()));
});

/** Loads the CA from disk and starts a broker and a control plane on it: what a (re)started cloud does. */
async function start(): Promise<void> {
  ca = await ensureCa(dir);
  broker = await startBroker({
    ca,
    port: 0,
    onPublish: (message) => {
      published.push(message);
    },
    onDenied: (event) => denied.push(event),
  });
  control = await startIotControlPlane({ ca, port: 0, brokerHost: broker.host, policyNames: [POLICY] });
  iot = new IoTClient({
    endpoint: control.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

async function stop(): Promise<void> {
  iot.destroy();
  await control.close();
  await broker.close();
}

/** Registration as the registry handler does it: thing, keys and certificate, policy, attachment. */
async function register(thingName: string): Promise<CreateKeysAndCertificateCommandOutput> {
  await iot.send(
    new CreateThingCommand({ thingName, attributePayload: { attributes: { compound: 'jq-01' } } }),
  );
  const keys = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
  await iot.send(new AttachPolicyCommand({ policyName: POLICY, target: keys.certificateArn }));
  await iot.send(new AttachThingPrincipalCommand({ thingName, principal: keys.certificateArn }));
  return keys;
}

/** Writes the PEMs as a device keeps them and connects with the project's device shim. */
async function connectAs(
  clientId: string,
  keys: CreateKeysAndCertificateCommandOutput,
  options: { onInterrupted?: (error: Error) => void } = {},
): Promise<Device> {
  const certificatePath = path.join(dir, `${keys.certificateId}.pem.crt`);
  const privateKeyPath = path.join(dir, `${keys.certificateId}.private.pem.key`);
  await writeFile(certificatePath, keys.certificatePem ?? '');
  await writeFile(privateKeyPath, keys.keyPair?.PrivateKey ?? '', { mode: 0o600 });
  const { endpointAddress } = await iot.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }));
  const device = await connectDevice(
    { thingName: clientId, certificatePath, privateKeyPath, caPath: ca.caPath },
    { host: endpointAddress ?? '', port: broker.port },
    { timeoutMs: 5_000, ...options },
  );
  devices.push(device);
  return device;
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('registration through @aws-sdk/client-iot', () => {
  it('creates keys and a certificate from the local CA, bound to no thing', async () => {
    const keys = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));

    expect(keys.certificateArn).toMatch(CERT_ARN);
    expect(keys.certificateArn).toBe(`arn:aws:iot:us-east-1:000000000000:cert/${keys.certificateId}`);
    expect(keys.keyPair?.PrivateKey).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(keys.keyPair?.PublicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const certificate = new X509Certificate(keys.certificatePem ?? '');
    expect(certificate.subject).toBe('CN=AWS IoT Certificate');
    expect(certificate.verify(new X509Certificate(ca.caCertificatePem).publicKey)).toBe(true);
    expect(certificate.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(keys.certificateId);
    const { certificateDescription } = await iot.send(
      new DescribeCertificateCommand({ certificateId: keys.certificateId }),
    );
    expect(certificateDescription).toMatchObject({ status: 'ACTIVE', certificateId: keys.certificateId });
    expect(certificateDescription?.creationDate).toBeInstanceOf(Date);
  });

  it('leaves a certificate INACTIVE unless setAsActive', async () => {
    const keys = await iot.send(new CreateKeysAndCertificateCommand({}));

    const { certificateDescription } = await iot.send(
      new DescribeCertificateCommand({ certificateId: keys.certificateId }),
    );
    expect(certificateDescription?.status).toBe('INACTIVE');
  });

  it('creates a thing idempotently and refuses the same name with other attributes', async () => {
    const first = await iot.send(
      new CreateThingCommand({ thingName: 'screen-01', attributePayload: { attributes: { floor: '1' } } }),
    );
    const again = await iot.send(
      new CreateThingCommand({ thingName: 'screen-01', attributePayload: { attributes: { floor: '1' } } }),
    );

    expect(first).toMatchObject({
      thingName: 'screen-01',
      thingArn: 'arn:aws:iot:us-east-1:000000000000:thing/screen-01',
    });
    expect(again.thingId).toBe(first.thingId);
    await expect(
      iot.send(
        new CreateThingCommand({ thingName: 'screen-01', attributePayload: { attributes: { floor: '2' } } }),
      ),
    ).rejects.toBeInstanceOf(ResourceAlreadyExistsException);
    expect(await iot.send(new DescribeThingCommand({ thingName: 'screen-01' }))).toMatchObject({
      thingName: 'screen-01',
      defaultClientId: 'screen-01',
      attributes: { floor: '1' },
      version: 1,
    });
  });

  it('attaches the policy and the thing, and lists them', async () => {
    const keys = await register('gate-01');

    const { principals } = await iot.send(new ListThingPrincipalsCommand({ thingName: 'gate-01' }));
    expect(principals).toEqual([keys.certificateArn]);
    const { policies } = await iot.send(new ListAttachedPoliciesCommand({ target: keys.certificateArn }));
    expect(policies).toEqual([
      { policyName: POLICY, policyArn: `arn:aws:iot:us-east-1:000000000000:policy/${POLICY}` },
    ]);
    expect(await iot.send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }))).toMatchObject({
      endpointAddress: '127.0.0.1',
    });
  });

  it.each([
    ['ListThingPrincipals', () => new ListThingPrincipalsCommand({ thingName: 'no-such-thing' })],
    ['DescribeThing', () => new DescribeThingCommand({ thingName: 'no-such-thing' })],
    [
      'AttachThingPrincipal',
      () =>
        new AttachThingPrincipalCommand({
          thingName: 'no-such-thing',
          principal: `arn:aws:iot:us-east-1:000000000000:cert/${'a'.repeat(64)}`,
        }),
    ],
    [
      'UpdateCertificate',
      () => new UpdateCertificateCommand({ certificateId: 'b'.repeat(64), newStatus: 'INACTIVE' }),
    ],
    [
      'AttachPolicy (unknown policy)',
      () =>
        new AttachPolicyCommand({
          policyName: 'NotTheDevicePolicy',
          target: `arn:aws:iot:us-east-1:000000000000:cert/${'c'.repeat(64)}`,
        }),
    ],
  ])('answers %s for something unknown with ResourceNotFoundException', async (_operation, command) => {
    // biome-ignore lint/suspicious/noExplicitAny: one table for commands of different types
    await expect(iot.send(command() as any)).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses what AWS refuses with InvalidRequestException', async () => {
    const keys = await register('light-01');

    await expect(iot.send(new DeleteThingCommand({ thingName: 'light-01' }))).rejects.toThrow(
      /still attached to one or more principals/,
    );
    await expect(
      iot.send(
        new UpdateCertificateCommand({ certificateId: keys.certificateId, newStatus: 'PENDING_TRANSFER' }),
      ),
    ).rejects.toBeInstanceOf(InvalidRequestException);
    await expect(
      iot.send(new AttachThingPrincipalCommand({ thingName: 'light-01', principal: 'us-east-1:cognito-id' })),
    ).rejects.toBeInstanceOf(InvalidRequestException);
    await expect(
      iot.send(new UpdateCertificateCommand({ certificateId: 'not-hex', newStatus: 'ACTIVE' })),
    ).rejects.toBeInstanceOf(InvalidRequestException);
    await expect(
      iot.send(new DescribeEndpointCommand({ endpointType: 'iot:CredentialProvider' })),
    ).rejects.toBeInstanceOf(InvalidRequestException);
  });

  it('decommissions: detach, deactivate, delete; a revoked certificate stays revoked', async () => {
    const keys = await register('charger-01');

    const { principals } = await iot.send(new ListThingPrincipalsCommand({ thingName: 'charger-01' }));
    for (const principal of principals ?? []) {
      await iot.send(new DetachThingPrincipalCommand({ thingName: 'charger-01', principal }));
      await iot.send(
        new UpdateCertificateCommand({ certificateId: principal.split('/')[1], newStatus: 'REVOKED' }),
      );
    }
    await iot.send(new DeleteThingCommand({ thingName: 'charger-01' }));

    await expect(iot.send(new DescribeThingCommand({ thingName: 'charger-01' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    // Deleting a thing that does not exist succeeds, as in AWS.
    await expect(iot.send(new DeleteThingCommand({ thingName: 'charger-01' }))).resolves.toBeDefined();
    await expect(
      iot.send(new UpdateCertificateCommand({ certificateId: keys.certificateId, newStatus: 'ACTIVE' })),
    ).rejects.toBeInstanceOf(CertificateStateException);
  });
});

describe('the broker honours the registry', () => {
  it('lets the certificate connect as its thing, and the publish reaches the broker', async () => {
    const keys = await register('parking-sensor-01');
    const device = await connectAs('parking-sensor-01', keys);

    await device.publish('dt/civic/jq-01/parking-sensor-01/occupancy', { occupied: true });

    await until(() => published.length > 0);
    expect(published).toEqual([
      expect.objectContaining({
        clientId: 'parking-sensor-01',
        topic: 'dt/civic/jq-01/parking-sensor-01/occupancy',
      }),
    ]);
    expect(JSON.parse(published[0]?.payload.toString() ?? '')).toEqual({ occupied: true });
  });

  it('refuses the certificate as another client id, even another registered thing', async () => {
    const keys = await register('parking-sensor-02');
    await iot.send(new CreateThingCommand({ thingName: 'parking-sensor-03' }));

    await expect(connectAs('parking-sensor-03', keys)).rejects.toBeInstanceOf(DeviceConnectError);
    expect(denied).toContainEqual(
      expect.objectContaining({
        action: 'connect',
        clientId: 'parking-sensor-03',
        reason: expect.stringMatching(/not a thing the certificate is attached to/),
      }),
    );
  });

  it('refuses a certificate without a policy, and one not attached to any thing', async () => {
    await iot.send(new CreateThingCommand({ thingName: 'smoke-01' }));
    const noPolicy = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
    await iot.send(
      new AttachThingPrincipalCommand({ thingName: 'smoke-01', principal: noPolicy.certificateArn }),
    );
    const unattached = await iot.send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
    await iot.send(new AttachPolicyCommand({ policyName: POLICY, target: unattached.certificateArn }));

    await expect(connectAs('smoke-01', noPolicy)).rejects.toBeInstanceOf(DeviceConnectError);
    await expect(connectAs('smoke-01', unattached)).rejects.toBeInstanceOf(DeviceConnectError);
    expect(denied.map((event) => event.reason)).toEqual([
      'no policy attached to the certificate',
      expect.stringMatching(/not a thing the certificate is attached to/),
    ]);
  });

  it('closes the live session when the certificate is set INACTIVE, and refuses it until ACTIVE again', async () => {
    const keys = await register('gate-02');
    let interrupted = false;
    await connectAs('gate-02', keys, { onInterrupted: () => (interrupted = true) });

    await iot.send(
      new UpdateCertificateCommand({ certificateId: keys.certificateId, newStatus: 'INACTIVE' }),
    );

    await until(() => interrupted);
    expect(denied).toContainEqual(
      expect.objectContaining({ action: 'connect', reason: 'certificate INACTIVE: live session closed' }),
    );
    await expect(connectAs('gate-02', keys)).rejects.toBeInstanceOf(DeviceConnectError);
    expect(denied).toContainEqual(
      expect.objectContaining({ action: 'connect', clientId: 'gate-02', reason: 'certificate INACTIVE' }),
    );

    await iot.send(new UpdateCertificateCommand({ certificateId: keys.certificateId, newStatus: 'ACTIVE' }));
    await expect(connectAs('gate-02', keys)).resolves.toBeDefined();
  });

  it('keeps CN-named certificates from the local CA working', async () => {
    const issued = await ca.issueDeviceCertificate('legacy-sensor-01');

    const device = await connectDevice(
      issued,
      { host: broker.host, port: broker.port },
      { timeoutMs: 5_000 },
    );
    devices.push(device);

    expect(denied).toEqual([]);
  });
});

describe('persistence', () => {
  it('keeps things, certificates, statuses and attachments across a restart on the same directory', async () => {
    const active = await register('elder-water-01');
    const revoked = await register('elder-water-02');
    await iot.send(
      new UpdateCertificateCommand({ certificateId: revoked.certificateId, newStatus: 'REVOKED' }),
    );

    await stop();
    await start();

    expect(JSON.parse(await readFile(path.join(dir, 'iot-registry.json'), 'utf8'))).toMatchObject({
      things: expect.arrayContaining([expect.objectContaining({ thingName: 'elder-water-01' })]),
    });
    expect(await iot.send(new ListThingPrincipalsCommand({ thingName: 'elder-water-01' }))).toMatchObject({
      principals: [active.certificateArn],
    });
    const { certificateDescription } = await iot.send(
      new DescribeCertificateCommand({ certificateId: revoked.certificateId }),
    );
    expect(certificateDescription?.status).toBe('REVOKED');
    await expect(connectAs('elder-water-01', active)).resolves.toBeDefined();
    await expect(connectAs('elder-water-02', revoked)).rejects.toBeInstanceOf(DeviceConnectError);
    expect(denied).toContainEqual(expect.objectContaining({ reason: 'certificate REVOKED' }));
  });
});
