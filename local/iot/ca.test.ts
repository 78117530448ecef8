import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CaStoreError,
  ensureCa,
  InvalidThingNameError,
  type LocalCa,
  type RevocationEvent,
  ThingNotFoundError,
} from './ca.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'civic-cell-ca-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (file: string) => (await stat(file)).mode & 0o777;

describe('ensureCa', () => {
  it('creates a CA and a broker certificate for loopback names', async () => {
    const ca = await ensureCa(dir);

    const caCert = new X509Certificate(ca.caCertificatePem);
    const server = new X509Certificate(ca.serverCertificatePem);
    expect(caCert.ca).toBe(true);
    expect(server.checkIssued(caCert)).toBe(true);
    expect(server.verify(caCert.publicKey)).toBe(true);
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(server.subjectAltName).toMatch(/IP Address:(0:0:0:0:0:0:0:1|::1)/);
    expect(server.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(await readFile(ca.caPath, 'utf8')).toContain(ca.caCertificatePem);
    expect(await mode(path.join(dir, 'ca.key.pem'))).toBe(0o600);
    expect(await mode(path.join(dir, 'server.key.pem'))).toBe(0o600);
  });

  it('loads the same CA and broker certificate on a second start', async () => {
    const first = await ensureCa(dir);

    const second = await ensureCa(dir);

    expect(second.caCertificatePem).toBe(first.caCertificatePem);
    expect(second.serverCertificatePem).toBe(first.serverCertificatePem);
  });

  it('shares one load between concurrent callers of the same directory', async () => {
    const [a, b] = await Promise.all([ensureCa(dir), ensureCa(path.join(dir, '.'))]);

    expect(a).toBe(b);
  });

  it('refuses a half-written CA instead of silently replacing it', async () => {
    await ensureCa(dir);
    await unlink(path.join(dir, 'ca.cert.pem'));

    await expect(ensureCa(dir)).rejects.toBeInstanceOf(CaStoreError);
  });

  it('refuses a CA certificate that does not belong to the key', async () => {
    const other = await mkdtemp(path.join(tmpdir(), 'civic-cell-ca-other-'));
    try {
      await ensureCa(dir);
      const foreign = await ensureCa(other);
      await writeFile(path.join(dir, 'ca.cert.pem'), foreign.caCertificatePem);

      await expect(ensureCa(dir)).rejects.toBeInstanceOf(CaStoreError);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

/** Key generation dominates these tests, so each describe below shares one CA. */
async function sharedCa(prefix: string) {
  const caDir = await mkdtemp(path.join(tmpdir(), prefix));
  return { caDir, ca: await ensureCa(caDir) };
}

describe('issueDeviceCertificate', () => {
  let ca: LocalCa;
  let caDir: string;

  beforeAll(async () => {
    ({ ca, caDir } = await sharedCa('civic-cell-ca-issue-'));
  });

  afterAll(async () => {
    await rm(caDir, { recursive: true, force: true });
  });

  it('issues a client certificate whose CN is the thing name, written under things/<name>/', async () => {
    const device = await ca.issueDeviceCertificate('fire-lane-sensor-01');

    const certificate = new X509Certificate(device.certificatePem);
    expect(certificate.subject).toBe('CN=fire-lane-sensor-01');
    expect(certificate.checkIssued(new X509Certificate(ca.caCertificatePem))).toBe(true);
    expect(certificate.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    expect(certificate.checkPrivateKey(createPrivateKey(device.privateKeyPem))).toBe(true);
    expect(device.certificatePath).toBe(
      path.join(caDir, 'things', 'fire-lane-sensor-01', 'certificate.pem.crt'),
    );
    expect(await readFile(device.certificatePath, 'utf8')).toBe(device.certificatePem);
    expect(await readFile(device.privateKeyPath, 'utf8')).toBe(device.privateKeyPem);
    expect(await mode(device.privateKeyPath)).toBe(0o600);
    expect(device.caPath).toBe(ca.caPath);
    expect(device.caCertificatePem.trim()).toBe(ca.caCertificatePem.trim());
    expect(device.privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
  });

  it('gives every certificate its own serial number', async () => {
    const [a, b] = await Promise.all([
      ca.issueDeviceCertificate('gate-01'),
      ca.issueDeviceCertificate('gate-01'),
    ]);

    expect(a.serialNumber).not.toBe(b.serialNumber);
  });

  it.each(['a', 'Thing_1:zone-2', 'x'.repeat(128)])('accepts the thing name %s', async (thingName) => {
    await expect(ca.issueDeviceCertificate(thingName)).resolves.toMatchObject({ thingName });
  });

  it.each(['', 'a b', 'x'.repeat(129), 'thing/1', '../escape', 'thing+', '电表', 'CN=x,O=y'])(
    'rejects the thing name %j',
    async (thingName) => {
      await expect(ca.issueDeviceCertificate(thingName)).rejects.toBeInstanceOf(InvalidThingNameError);
    },
  );
});

describe('revoke', () => {
  let ca: LocalCa;
  let caDir: string;

  beforeAll(async () => {
    ({ ca, caDir } = await sharedCa('civic-cell-ca-revoke-'));
  });

  afterAll(async () => {
    await rm(caDir, { recursive: true, force: true });
  });

  it('revokes every certificate of the thing, by PEM, serial or peer certificate', async () => {
    const old = await ca.issueDeviceCertificate('charger-07');
    const current = await ca.issueDeviceCertificate('charger-07');
    const bystander = await ca.issueDeviceCertificate('charger-08');

    const revoked = await ca.revoke('charger-07');

    expect(revoked.sort()).toEqual([old.serialNumber, current.serialNumber].sort());
    expect(ca.isRevoked(current.certificatePem)).toBe(true);
    expect(ca.isRevoked(old.serialNumber.toLowerCase())).toBe(true);
    expect(ca.isRevoked({ serialNumber: `00${current.serialNumber}` })).toBe(true);
    expect(ca.isRevoked(bystander.certificatePem)).toBe(false);
  });

  it('persists, so a reloaded CA keeps refusing the certificate', async () => {
    const device = await ca.issueDeviceCertificate('light-01');
    await ca.revoke('light-01');

    const reloaded = await ensureCa(caDir);

    expect(reloaded).not.toBe(ca);
    expect(reloaded.isRevoked(device.certificatePem)).toBe(true);
  });

  it('lets a thing get a new, valid certificate after revocation', async () => {
    await ca.issueDeviceCertificate('light-02');
    await ca.revoke('light-02');

    const replacement = await ca.issueDeviceCertificate('light-02');

    expect(ca.isRevoked(replacement.certificatePem)).toBe(false);
  });

  it('tells listeners once, and is idempotent', async () => {
    const device = await ca.issueDeviceCertificate('light-03');
    const events: RevocationEvent[] = [];
    const stop = ca.onRevoked((event) => events.push(event));

    await ca.revoke('light-03');
    const again = await ca.revoke('light-03');
    stop();

    expect(again).toEqual([]);
    expect(events).toEqual([{ thingName: 'light-03', serialNumbers: [device.serialNumber] }]);
  });

  it('refuses a thing that never had a certificate', async () => {
    await expect(ca.revoke('ghost-01')).rejects.toBeInstanceOf(ThingNotFoundError);
  });
});
