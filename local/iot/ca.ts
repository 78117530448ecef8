import {
  createHash,
  createPrivateKey,
  createPublicKey,
  X509Certificate as NodeX509Certificate,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import './reflect-polyfill.js';
import * as x509 from '@peculiar/x509';

/**
 * A certificate authority on disk, standing in for AWS IoT's certificate registry: it signs the broker's
 * server certificate and one certificate per thing, and remembers which certificates were revoked so a
 * restarted local cloud keeps refusing them.
 */
export interface LocalCa {
  /** The directory that holds the CA (keys are mode 0600). */
  readonly dir: string;
  /** PEM file of the CA certificate: what devices pass as their certificate authority. */
  readonly caPath: string;
  readonly caCertificatePem: string;
  /** The broker's certificate (SAN localhost, 127.0.0.1, ::1) and its private key. */
  readonly serverCertificatePem: string;
  readonly serverPrivateKeyPem: string;
  /** Issues a fresh key pair and certificate with CN = thing name, written under `things/<thingName>/`. */
  issueDeviceCertificate(thingName: string): Promise<DeviceCertificate>;
  /**
   * Issues a key pair and a client certificate bound to no thing, as AWS IoT's CreateKeysAndCertificate does
   * (subject `CN=AWS IoT Certificate`): nothing is written or recorded here, the IoT control plane keeps the
   * certificate's status and attachments, and the private key is returned only this once.
   */
  createKeysAndCertificate(): Promise<KeysAndCertificate>;
  /**
   * Revokes every certificate issued to the thing so far and persists it; returns the revoked serial
   * numbers (empty when they were all revoked already). A certificate issued afterwards is valid.
   */
  revoke(thingName: string): Promise<string[]>;
  /** Whether the certificate (a PEM, a hex serial number, or anything with `serialNumber`) is revoked. */
  isRevoked(certificate: CertificateRef): boolean;
  /** Lets the broker close live sessions of revoked certificates; returns the unsubscribe function. */
  onRevoked(listener: (event: RevocationEvent) => void): () => void;
}

export interface DeviceCertificate {
  thingName: string;
  serialNumber: string;
  certificatePem: string;
  privateKeyPem: string;
  caCertificatePem: string;
  certificatePath: string;
  privateKeyPath: string;
  caPath: string;
}

export interface KeysAndCertificate {
  /** AWS IoT's certificate id: the SHA-256 of the DER certificate, 64 lower-case hex digits. */
  certificateId: string;
  serialNumber: string;
  certificatePem: string;
  /** PKCS#1 (`RSA PRIVATE KEY`), as AWS hands it out. */
  privateKeyPem: string;
  /** SPKI (`PUBLIC KEY`). */
  publicKeyPem: string;
}

/** AWS IoT's certificate id for a certificate: the SHA-256 of its DER encoding, lower-case hex. */
export function certificateIdOf(certificate: { readonly fingerprint256: string } | string): string {
  const fingerprint =
    typeof certificate === 'string'
      ? new NodeX509Certificate(certificate).fingerprint256
      : certificate.fingerprint256;
  return fingerprint.replace(/:/g, '').toLowerCase();
}

export interface RevocationEvent {
  thingName: string;
  serialNumbers: string[];
}

export type CertificateRef = string | { readonly serialNumber: string };

export class InvalidThingNameError extends Error {
  override readonly name = 'InvalidThingNameError';
  constructor(readonly thingName: string) {
    super(
      `invalid thing name ${JSON.stringify(thingName)}: AWS IoT allows 1-128 characters of [a-zA-Z0-9:_-]`,
    );
  }
}

export class ThingNotFoundError extends Error {
  override readonly name = 'ThingNotFoundError';
  constructor(readonly thingName: string) {
    super(`no certificate was ever issued to thing ${JSON.stringify(thingName)}`);
  }
}

/** The CA directory is unreadable or inconsistent (half-written, key and certificate not a pair …). */
export class CaStoreError extends Error {
  override readonly name = 'CaStoreError';
}

const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;

/** Throws {@link InvalidThingNameError} unless the name is one AWS IoT accepts. */
export function assertThingName(thingName: string): void {
  if (typeof thingName !== 'string' || !THING_NAME.test(thingName)) {
    throw new InvalidThingNameError(String(thingName));
  }
}

/**
 * Serial numbers are compared as upper-case hex without leading zeros, the form Node's
 * `getPeerCertificate().serialNumber` uses; @peculiar/x509 reports lower case with padding.
 */
export function normalizeSerialNumber(serialNumber: string): string {
  return serialNumber
    .replace(/:/g, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');
}

const crypto = webcrypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const RSA: webcrypto.RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const DAY_MS = 24 * 60 * 60 * 1000;
/** Back-dated so a device whose clock runs a little behind still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;

const FILES = {
  caKey: 'ca.key.pem',
  caCert: 'ca.cert.pem',
  serverKey: 'server.key.pem',
  serverCert: 'server.cert.pem',
  registry: 'certificates.json',
  things: 'things',
  deviceCert: 'certificate.pem.crt',
  deviceKey: 'private.pem.key',
} as const;

interface RegistryEntry {
  serialNumber: string;
  thingName: string;
  issuedAt: string;
  revokedAt?: string;
}

interface Registry {
  certificates: RegistryEntry[];
}

const pending = new Map<string, Promise<LocalCa>>();

/**
 * Creates the CA in `dir` the first time, loads it afterwards. Calls for the same directory in one process
 * share one load, so two components starting together cannot write two different CAs.
 */
export function ensureCa(dir: string): Promise<LocalCa> {
  const key = path.resolve(dir);
  const existing = pending.get(key);
  if (existing) return existing;
  const loading = loadOrCreate(key).finally(() => pending.delete(key));
  pending.set(key, loading);
  return loading;
}

async function loadOrCreate(dir: string): Promise<LocalCa> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const authority = await loadOrCreateAuthority(dir);
  const server = await loadOrCreateServer(dir, authority);
  const registry = await readRegistry(dir);
  return new FileCa(dir, authority, server, registry);
}

interface Authority {
  certificate: x509.X509Certificate;
  certificatePem: string;
  signingKey: CryptoKey;
}

async function loadOrCreateAuthority(dir: string): Promise<Authority> {
  const keyPath = path.join(dir, FILES.caKey);
  const certPath = path.join(dir, FILES.caCert);
  const [keyPem, certPem] = await Promise.all([readOptional(keyPath), readOptional(certPath)]);
  if (keyPem !== undefined && certPem !== undefined) {
    if (!new NodeX509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) {
      throw new CaStoreError(`${certPath} does not belong to ${keyPath}; delete ${dir} to start a new CA`);
    }
    return {
      certificate: new x509.X509Certificate(certPem),
      certificatePem: pem(certPem),
      signingKey: await importSigningKey(keyPem),
    };
  }
  if (keyPem !== undefined || certPem !== undefined) {
    throw new CaStoreError(
      `incomplete CA in ${dir} (one of ${FILES.caKey}, ${FILES.caCert} is missing); delete it to start a new CA`,
    );
  }
  const keys = await generateKeys();
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      name: 'CN=civic-cell local CA, O=civic-cell local cloud',
      notBefore,
      notAfter: new Date(notBefore.getTime() + 20 * 365 * DAY_MS),
      keys,
      signingAlgorithm: RSA,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const certificatePem = pem(certificate.toString('pem'));
  await writeAtomic(keyPath, await exportPrivateKeyPem(keys.privateKey, 'pkcs8'), 0o600);
  await writeAtomic(certPath, certificatePem, 0o644);
  return { certificate, certificatePem, signingKey: keys.privateKey };
}

interface ServerIdentity {
  certificatePem: string;
  privateKeyPem: string;
}

/** Reuses the server certificate while it is signed by this CA and valid for at least another day. */
async function loadOrCreateServer(dir: string, authority: Authority): Promise<ServerIdentity> {
  const keyPath = path.join(dir, FILES.serverKey);
  const certPath = path.join(dir, FILES.serverCert);
  const [keyPem, certPem] = await Promise.all([readOptional(keyPath), readOptional(certPath)]);
  if (
    keyPem !== undefined &&
    certPem !== undefined &&
    isUsableServerCertificate(certPem, keyPem, authority)
  ) {
    return { certificatePem: pem(certPem), privateKeyPem: keyPem };
  }
  const keys = await generateKeys();
  const certificate = await issue(authority, keys, 'CN=localhost, O=civic-cell local cloud', 825, [
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
    ]),
  ]);
  const server = {
    certificatePem: pem(certificate.toString('pem')),
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey, 'pkcs8'),
  };
  await writeAtomic(keyPath, server.privateKeyPem, 0o600);
  await writeAtomic(certPath, server.certificatePem, 0o644);
  return server;
}

function isUsableServerCertificate(certPem: string, keyPem: string, authority: Authority): boolean {
  try {
    const certificate = new NodeX509Certificate(certPem);
    const caCertificate = new NodeX509Certificate(authority.certificatePem);
    return (
      certificate.checkIssued(caCertificate) &&
      certificate.verify(caCertificate.publicKey) &&
      certificate.checkPrivateKey(createPrivateKey(keyPem)) &&
      new Date(certificate.validTo).getTime() > Date.now() + DAY_MS
    );
  } catch {
    return false;
  }
}

class FileCa implements LocalCa {
  readonly caPath: string;
  readonly caCertificatePem: string;
  readonly serverCertificatePem: string;
  readonly serverPrivateKeyPem: string;
  readonly #authority: Authority;
  readonly #registry: Registry;
  readonly #revoked: Set<string>;
  readonly #listeners = new Set<(event: RevocationEvent) => void>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    authority: Authority,
    server: ServerIdentity,
    registry: Registry,
  ) {
    this.caPath = path.join(dir, FILES.caCert);
    this.caCertificatePem = authority.certificatePem;
    this.serverCertificatePem = server.certificatePem;
    this.serverPrivateKeyPem = server.privateKeyPem;
    this.#authority = authority;
    this.#registry = registry;
    this.#revoked = new Set(
      registry.certificates
        .filter((entry) => entry.revokedAt)
        .map((entry) => normalizeSerialNumber(entry.serialNumber)),
    );
  }

  async issueDeviceCertificate(thingName: string): Promise<DeviceCertificate> {
    assertThingName(thingName);
    const keys = await generateKeys();
    const certificate = await issue(this.#authority, keys, `CN=${thingName}`, 10 * 365, [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ]);
    const thingDir = path.join(this.dir, FILES.things, thingName);
    const device: DeviceCertificate = {
      thingName,
      serialNumber: normalizeSerialNumber(certificate.serialNumber),
      certificatePem: pem(certificate.toString('pem')),
      privateKeyPem: await exportPrivateKeyPem(keys.privateKey, 'pkcs1'),
      caCertificatePem: this.caCertificatePem,
      certificatePath: path.join(thingDir, FILES.deviceCert),
      privateKeyPath: path.join(thingDir, FILES.deviceKey),
      caPath: this.caPath,
    };
    await mkdir(thingDir, { recursive: true, mode: 0o700 });
    await writeAtomic(device.privateKeyPath, device.privateKeyPem, 0o600);
    await writeAtomic(device.certificatePath, device.certificatePem, 0o644);
    await this.#update(() => {
      this.#registry.certificates.push({
        serialNumber: device.serialNumber,
        thingName,
        issuedAt: new Date().toISOString(),
      });
      return true;
    });
    return device;
  }

  async createKeysAndCertificate(): Promise<KeysAndCertificate> {
    const keys = await generateKeys();
    const certificate = await issue(this.#authority, keys, 'CN=AWS IoT Certificate', 10 * 365, [
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ]);
    const privateKeyPem = await exportPrivateKeyPem(keys.privateKey, 'pkcs1');
    return {
      certificateId: createHash('sha256').update(Buffer.from(certificate.rawData)).digest('hex'),
      serialNumber: normalizeSerialNumber(certificate.serialNumber),
      certificatePem: pem(certificate.toString('pem')),
      privateKeyPem,
      publicKeyPem: createPublicKey(privateKeyPem).export({ format: 'pem', type: 'spki' }).toString(),
    };
  }

  async revoke(thingName: string): Promise<string[]> {
    assertThingName(thingName);
    const revoked: string[] = [];
    await this.#update(() => {
      const issued = this.#registry.certificates.filter((entry) => entry.thingName === thingName);
      if (issued.length === 0) throw new ThingNotFoundError(thingName);
      const revokedAt = new Date().toISOString();
      for (const entry of issued) {
        if (entry.revokedAt) continue;
        entry.revokedAt = revokedAt;
        revoked.push(entry.serialNumber);
      }
      return revoked.length > 0;
    });
    if (revoked.length > 0) {
      for (const serialNumber of revoked) this.#revoked.add(normalizeSerialNumber(serialNumber));
      const event = { thingName, serialNumbers: [...revoked] };
      for (const listener of this.#listeners) listener(event);
    }
    return revoked;
  }

  isRevoked(certificate: CertificateRef): boolean {
    return this.#revoked.has(normalizeSerialNumber(serialNumberOf(certificate)));
  }

  onRevoked(listener: (event: RevocationEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Registry changes run one at a time, so concurrent issues and revocations never lose a write. */
  #update(change: () => boolean): Promise<void> {
    const next = this.#queue.then(async () => {
      const before = structuredClone(this.#registry);
      try {
        if (change())
          await writeAtomic(
            path.join(this.dir, FILES.registry),
            `${JSON.stringify(this.#registry, null, 2)}\n`,
            0o600,
          );
      } catch (error) {
        this.#registry.certificates = before.certificates;
        throw error;
      }
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

/** PEM text as written to disk: trailing whitespace trimmed, one final newline. */
function pem(text: string): string {
  return `${text.trimEnd()}\n`;
}

function serialNumberOf(certificate: CertificateRef): string {
  if (typeof certificate !== 'string') return certificate.serialNumber;
  if (certificate.includes('-----BEGIN')) return new NodeX509Certificate(certificate).serialNumber;
  return certificate;
}

async function issue(
  authority: Authority,
  keys: CryptoKeyPair,
  subject: string,
  validityDays: number,
  extensions: x509.Extension[],
): Promise<x509.X509Certificate> {
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS);
  const notAfter = new Date(
    Math.min(notBefore.getTime() + validityDays * DAY_MS, authority.certificate.notAfter.getTime()),
  );
  return x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialNumber(),
      subject,
      issuer: authority.certificate.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: authority.signingKey,
      signingAlgorithm: RSA,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        ...extensions,
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(authority.certificate.publicKey, false, crypto),
      ],
    },
    crypto,
  );
}

function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(RSA, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** A positive 128-bit serial: the high bit cleared so DER needs no sign byte, never zero-led. */
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x10;
  return bytes.toString('hex');
}

/**
 * Device keys are written as PKCS#1 ("RSA PRIVATE KEY"), the form AWS IoT's CreateKeysAndCertificate
 * hands out, so device code reads the same files locally and in the cloud.
 */
async function exportPrivateKeyPem(key: CryptoKey, type: 'pkcs1' | 'pkcs8'): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type })
    .toString();
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return crypto.subtle.importKey('pkcs8', der, RSA, false, ['sign']);
}

async function readRegistry(dir: string): Promise<Registry> {
  const file = path.join(dir, FILES.registry);
  const text = await readOptional(file);
  if (text === undefined) return { certificates: [] };
  try {
    const parsed = JSON.parse(text) as Registry;
    if (!Array.isArray(parsed.certificates)) throw new Error('certificates is not an array');
    return parsed;
  } catch (error) {
    throw new CaStoreError(`${file} is not a certificate registry: ${(error as Error).message}`);
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Write-then-rename, so a crash never leaves a truncated key or registry behind. */
export async function writeAtomic(file: string, content: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, content, { mode });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
