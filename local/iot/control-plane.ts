import { randomUUID, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { listen } from '../listen.js';
import { readJsonBody, sendRestJson } from '../rest-json.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../template.js';
import { CaStoreError, type LocalCa, writeAtomic } from './ca.js';

/** The certificate statuses the local control plane keeps; AWS's internal transfer statuses are refused. */
export type CertificateStatus = 'ACTIVE' | 'INACTIVE' | 'REVOKED';
export type ThingPrincipalType = 'EXCLUSIVE_THING' | 'NON_EXCLUSIVE_THING';

export interface ThingRecord {
  thingName: string;
  thingId: string;
  thingArn: string;
  attributes: Record<string, string>;
  version: number;
  createdAt: string;
}

export interface CertificateRecord {
  certificateId: string;
  certificateArn: string;
  certificatePem: string;
  serialNumber: string;
  status: CertificateStatus;
  createdAt: string;
  lastModifiedAt: string;
  /** Names of the policies attached to the certificate (AttachPolicy with the certificate ARN as target). */
  policies: string[];
  /** Things the certificate is attached to (AttachThingPrincipal). */
  things: { thingName: string; type: ThingPrincipalType }[];
}

/** A certificate left ACTIVE: the broker closes the sessions that authenticated with it, as AWS does. */
export interface CertificateDeactivatedEvent {
  certificateId: string;
  status: Exclude<CertificateStatus, 'ACTIVE'>;
}

export type ConnectDecision = { allowed: true } | { allowed: false; reason: string };

/** A restJson1 error: the SDK picks the exception class from `x-amzn-ErrorType`. */
export class IotControlPlaneError extends Error {
  override readonly name = 'IotControlPlaneError';
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }
}

const notFound = (message: string) => new IotControlPlaneError(404, 'ResourceNotFoundException', message);
const invalid = (message: string) => new IotControlPlaneError(400, 'InvalidRequestException', message);

const REGISTRY_FILE = 'iot-registry.json';
const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;
const CERTIFICATE_ID = /^[0-9a-f]{64}$/;
const CERTIFICATE_ARN = /^arn:aws[a-z-]*:iot:[a-z0-9-]+:\d{12}:cert\/([0-9a-fA-F]{64})$/;
const ATTRIBUTE_NAME = /^[a-zA-Z0-9_.,@/:#-]{1,128}$/;
const ATTRIBUTE_VALUE = /^[a-zA-Z0-9_.,@/:#=[\]-]{0,800}$/;
/** AWS allows three attributes on a thing without a thing type; thing types are not served locally. */
const MAX_ATTRIBUTES = 3;
const MAX_BODY_BYTES = 64 * 1024;

const iotArn = (resource: string) => `arn:aws:iot:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
export const certificateArnOf = (certificateId: string) => iotArn(`cert/${certificateId}`);

interface State {
  things: Map<string, ThingRecord>;
  certificates: Map<string, CertificateRecord>;
}

interface RegistryFile {
  things: ThingRecord[];
  certificates: CertificateRecord[];
}

/**
 * AWS IoT's registry as far as the project uses it: things, certificates with their status, the policies
 * attached to each certificate and the things each certificate is attached to. Kept in the CA directory
 * (`iot-registry.json`) so a restarted local cloud remembers it, and shared by the control plane (which
 * changes it) and the broker (which authorizes connections with it). Changes run one at a time and are
 * written before they take effect.
 */
export class IotRegistry {
  readonly file: string;
  #state: State;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #listeners = new Set<(event: CertificateDeactivatedEvent) => void>();

  private constructor(file: string, state: State) {
    this.file = file;
    this.#state = state;
  }

  static async load(dir: string): Promise<IotRegistry> {
    const file = path.join(dir, REGISTRY_FILE);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === undefined) return new IotRegistry(file, { things: new Map(), certificates: new Map() });
    try {
      const parsed = JSON.parse(text) as RegistryFile;
      if (!Array.isArray(parsed.things) || !Array.isArray(parsed.certificates))
        throw new Error('things or certificates is not an array');
      return new IotRegistry(file, {
        things: new Map(parsed.things.map((thing) => [thing.thingName, thing])),
        certificates: new Map(parsed.certificates.map((entry) => [entry.certificateId, entry])),
      });
    } catch (error) {
      throw new CaStoreError(`${file} is not an IoT registry: ${(error as Error).message}`);
    }
  }

  thing(thingName: string): ThingRecord | undefined {
    return this.#state.things.get(thingName);
  }

  certificate(certificateId: string): CertificateRecord | undefined {
    return this.#state.certificates.get(certificateId);
  }

  /** Certificate ARNs attached to the thing, in a stable order. */
  thingPrincipals(thingName: string): string[] {
    return [...this.#state.certificates.values()]
      .filter((entry) => entry.things.some((thing) => thing.thingName === thingName))
      .map((entry) => entry.certificateArn)
      .sort();
  }

  /**
   * Whether a registered certificate may connect with this client id, as the stack's device policy decides
   * it in AWS: the certificate is ACTIVE, a policy is attached to it, and it is attached to the thing named by
   * the client id (`iot:Connection.Thing.ThingName`, `iot:Connection.Thing.IsAttached`). The policy's
   * document is not evaluated: any attached policy counts as the device policy.
   */
  authorizeConnect(certificateId: string, clientId: string): ConnectDecision {
    const entry = this.#state.certificates.get(certificateId);
    if (!entry) return { allowed: false, reason: 'certificate not registered with the IoT control plane' };
    if (entry.status !== 'ACTIVE') return { allowed: false, reason: `certificate ${entry.status}` };
    if (entry.policies.length === 0)
      return { allowed: false, reason: 'no policy attached to the certificate' };
    if (!entry.things.some((thing) => thing.thingName === clientId)) {
      return {
        allowed: false,
        reason: `client id ${JSON.stringify(clientId)} is not a thing the certificate is attached to`,
      };
    }
    return { allowed: true };
  }

  onDeactivated(listener: (event: CertificateDeactivatedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  createThing(thingName: string, attributes: Record<string, string>): Promise<ThingRecord> {
    return this.#update((state) => {
      const existing = state.things.get(thingName);
      if (existing) {
        if (sameAttributes(existing.attributes, attributes)) return existing;
        throw new IotControlPlaneError(
          409,
          'ResourceAlreadyExistsException',
          `Thing ${thingName} already exists with different attributes`,
          { resourceId: existing.thingId, resourceArn: existing.thingArn },
        );
      }
      const thing: ThingRecord = {
        thingName,
        thingId: randomUUID(),
        thingArn: iotArn(`thing/${thingName}`),
        attributes,
        version: 1,
        createdAt: new Date().toISOString(),
      };
      state.things.set(thingName, thing);
      return thing;
    });
  }

  /** Like AWS: deleting a thing that does not exist succeeds; one with principals attached does not. */
  deleteThing(thingName: string, expectedVersion?: number): Promise<void> {
    return this.#update((state) => {
      const thing = state.things.get(thingName);
      if (!thing) return;
      if (expectedVersion !== undefined && expectedVersion !== thing.version) {
        throw new IotControlPlaneError(
          409,
          'VersionConflictException',
          `The version for thing ${thingName} does not match the expected version.`,
        );
      }
      const attached = [...state.certificates.values()].some((entry) =>
        entry.things.some((attachment) => attachment.thingName === thingName),
      );
      if (attached)
        throw invalid(`Cannot delete. Thing ${thingName} is still attached to one or more principals`);
      state.things.delete(thingName);
    });
  }

  addCertificate(certificate: {
    certificateId: string;
    certificatePem: string;
    serialNumber: string;
    status: CertificateStatus;
  }): Promise<CertificateRecord> {
    return this.#update((state) => {
      const now = new Date().toISOString();
      const entry: CertificateRecord = {
        ...certificate,
        certificateArn: certificateArnOf(certificate.certificateId),
        createdAt: now,
        lastModifiedAt: now,
        policies: [],
        things: [],
      };
      state.certificates.set(entry.certificateId, entry);
      return entry;
    });
  }

  async updateCertificate(certificateId: string, status: CertificateStatus): Promise<void> {
    const previous = await this.#update((state) => {
      const entry = requireCertificate(state, certificateId);
      if (entry.status === 'REVOKED' && status !== 'REVOKED') {
        throw new IotControlPlaneError(
          406,
          'CertificateStateException',
          `Certificate ${certificateId} is revoked and cannot become ${status}`,
        );
      }
      const before = entry.status;
      if (before !== status) {
        entry.status = status;
        entry.lastModifiedAt = new Date().toISOString();
      }
      return before;
    });
    if (previous === 'ACTIVE' && status !== 'ACTIVE') {
      for (const listener of this.#listeners) listener({ certificateId, status });
    }
  }

  attachPolicy(policyName: string, certificateId: string): Promise<void> {
    return this.#update((state) => {
      const entry = requireCertificate(state, certificateId);
      if (!entry.policies.includes(policyName)) entry.policies.push(policyName);
    });
  }

  detachPolicy(policyName: string, certificateId: string): Promise<void> {
    return this.#update((state) => {
      const entry = requireCertificate(state, certificateId);
      entry.policies = entry.policies.filter((name) => name !== policyName);
    });
  }

  attachThingPrincipal(thingName: string, certificateId: string, type: ThingPrincipalType): Promise<void> {
    return this.#update((state) => {
      if (!state.things.has(thingName)) throw notFound(`Thing ${thingName} does not exist`);
      const entry = requireCertificate(state, certificateId);
      const others = entry.things.filter((thing) => thing.thingName !== thingName);
      if (type === 'EXCLUSIVE_THING' && others.length > 0) {
        throw invalid(
          `Certificate ${certificateId} is attached to other things; it cannot be attached exclusively`,
        );
      }
      const exclusive = others.find((thing) => thing.type === 'EXCLUSIVE_THING');
      if (exclusive) {
        throw invalid(`Certificate ${certificateId} is attached exclusively to thing ${exclusive.thingName}`);
      }
      entry.things = [...others, { thingName, type }];
    });
  }

  detachThingPrincipal(thingName: string, certificateId: string): Promise<void> {
    return this.#update((state) => {
      if (!state.things.has(thingName)) throw notFound(`Thing ${thingName} does not exist`);
      const entry = requireCertificate(state, certificateId);
      entry.things = entry.things.filter((thing) => thing.thingName !== thingName);
    });
  }

  /** Changes a copy of the state, writes it, then makes it current: a failed write changes nothing. */
  #update<T>(change: (state: State) => T): Promise<T> {
    const next = this.#queue.then(async () => {
      const draft = structuredClone(this.#state);
      const result = change(draft);
      const file: RegistryFile = {
        things: [...draft.things.values()],
        certificates: [...draft.certificates.values()],
      };
      await writeAtomic(this.file, `${JSON.stringify(file, null, 2)}\n`, 0o600);
      this.#state = draft;
      return result;
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }
}

function requireCertificate(state: State, certificateId: string): CertificateRecord {
  const entry = state.certificates.get(certificateId);
  if (!entry) throw notFound(`Certificate ${certificateId} does not exist`);
  return entry;
}

function sameAttributes(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key])
  );
}

const registries = new WeakMap<LocalCa, Promise<IotRegistry>>();

/**
 * The one registry of a CA: the broker and the control plane started with the same CA share it, so a status
 * change through the API reaches live sessions at once. A CA loaded again from the same directory reads the
 * registry from disk.
 */
export function openIotRegistry(ca: LocalCa): Promise<IotRegistry> {
  let registry = registries.get(ca);
  if (!registry) {
    registry = IotRegistry.load(ca.dir);
    registries.set(ca, registry);
    registry.catch(() => registries.delete(ca));
  }
  return registry;
}

export interface StartIotControlPlaneOptions {
  ca: LocalCa;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** What DescribeEndpoint reports for `iot:Data-ATS`; default 127.0.0.1 (the broker's default host). */
  brokerHost?: string;
  /**
   * The IoT policies the stack defines; AttachPolicy with any other name is ResourceNotFoundException.
   * Omitted: every name is accepted.
   */
  policyNames?: readonly string[];
  /** Unexpected failures (a registry write failing); the caller only sees a bare 500. */
  onError?: (error: unknown) => void;
}

export interface LocalIotControlPlane {
  readonly host: string;
  readonly port: number;
  /** What to give `IoTClient` as `endpoint` (or AWS_ENDPOINT_URL_IOT). */
  readonly endpoint: string;
  readonly registry: IotRegistry;
  close(): Promise<void>;
}

interface Request {
  method: string;
  segments: string[];
  query: URLSearchParams;
  principal: string | undefined;
  body: () => Promise<Record<string, unknown>>;
}

interface Reply {
  status?: number;
  body?: unknown;
}

interface Context {
  ca: LocalCa;
  registry: IotRegistry;
  brokerHost: string;
  policyNames: ReadonlySet<string> | undefined;
}

/**
 * The AWS IoT control-plane API (restJson1) on loopback, for the operations device registration and
 * decommissioning use, so handlers keep using `@aws-sdk/client-iot`: CreateThing, DescribeThing, DeleteThing,
 * CreateKeysAndCertificate (keys and certificate from the local CA, subject `CN=AWS IoT Certificate`),
 * DescribeCertificate, UpdateCertificate, AttachPolicy, DetachPolicy, ListAttachedPolicies,
 * AttachThingPrincipal, DetachThingPrincipal, ListThingPrincipals and DescribeEndpoint. Anything else is
 * answered with UnknownOperationException. Requests are not signature-checked: it listens on loopback only.
 *
 * DescribeEndpoint answers with the broker's host only, as AWS answers with a host name: a device adds
 * AWS's MQTT port, 8883, which is where `npm start` runs the broker. On other ports (tests) the port comes
 * from the local cloud (`endpoints.mqtt.port`).
 */
export async function startIotControlPlane(opts: StartIotControlPlaneOptions): Promise<LocalIotControlPlane> {
  const host = opts.host ?? '127.0.0.1';
  const onError = opts.onError ?? ((error: unknown) => console.error('[local iot control plane]', error));
  const registry = await openIotRegistry(opts.ca);
  const context: Context = {
    ca: opts.ca,
    registry,
    brokerHost: opts.brokerHost ?? '127.0.0.1',
    policyNames: opts.policyNames ? new Set(opts.policyNames) : undefined,
  };
  const server = http.createServer((req, res) => {
    handle(req, context).then(
      (reply) => sendJson(res, reply.status ?? 200, reply.body),
      (error: unknown) => {
        req.resume();
        if (error instanceof IotControlPlaneError) return sendError(res, error);
        onError(error);
        sendError(res, new IotControlPlaneError(500, 'InternalFailureException', 'internal failure'));
      },
    );
  });
  const listening = await listen(server, opts.port, host);
  return { ...listening, registry };
}

async function handle(req: IncomingMessage, context: Context): Promise<Reply> {
  const rawUrl = req.url ?? '/';
  const queryStart = rawUrl.indexOf('?');
  const rawPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
  let segments: string[];
  try {
    segments = rawPath.split('/').slice(1).map(decodeURIComponent);
  } catch {
    throw invalid('the path is not valid percent-encoding');
  }
  const principal = req.headers['x-amzn-principal'];
  const request: Request = {
    method: req.method ?? 'GET',
    segments,
    query: new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1)),
    principal: Array.isArray(principal) ? principal[0] : principal,
    body: () => readJsonObject(req),
  };
  const operation = route(request);
  if (!operation) {
    throw new IotControlPlaneError(
      404,
      'UnknownOperationException',
      `${request.method} ${rawPath} is not an operation the local IoT control plane serves`,
    );
  }
  return operation(request, context);
}

type Operation = (request: Request, context: Context) => Promise<Reply>;

function route({ method, segments }: Request): Operation | undefined {
  const [first, second, third, ...rest] = segments;
  if (rest.length > 0) return undefined;
  if (first === 'things' && second !== undefined && third === undefined) {
    return ({ POST: createThing, GET: describeThing, DELETE: deleteThing } as Record<string, Operation>)[
      method
    ];
  }
  if (first === 'things' && second !== undefined && third === 'principals') {
    return (
      {
        PUT: attachThingPrincipal,
        GET: listThingPrincipals,
        DELETE: detachThingPrincipal,
      } as Record<string, Operation>
    )[method];
  }
  if (third !== undefined) return undefined;
  if (first === 'keys-and-certificate' && second === undefined && method === 'POST')
    return createKeysAndCertificate;
  if (first === 'certificates' && second !== undefined) {
    return ({ PUT: updateCertificate, GET: describeCertificate } as Record<string, Operation>)[method];
  }
  if (first === 'target-policies' && second !== undefined) {
    return ({ PUT: attachPolicy, POST: detachPolicy } as Record<string, Operation>)[method];
  }
  if (first === 'attached-policies' && second !== undefined && method === 'POST') return listAttachedPolicies;
  if (first === 'endpoint' && second === undefined && method === 'GET') return describeEndpoint;
  return undefined;
}

async function createThing(request: Request, { registry }: Context): Promise<Reply> {
  const thingName = thingNameOf(request);
  const body = await request.body();
  if (body.thingTypeName !== undefined)
    throw invalid('thing types are not served by the local IoT control plane');
  if (body.billingGroupName !== undefined)
    throw invalid('billing groups are not served by the local IoT control plane');
  const thing = await registry.createThing(thingName, parseAttributes(body.attributePayload));
  return { body: { thingName: thing.thingName, thingArn: thing.thingArn, thingId: thing.thingId } };
}

async function describeThing(request: Request, { registry }: Context): Promise<Reply> {
  const thing = requireThing(registry, thingNameOf(request));
  return {
    body: {
      defaultClientId: thing.thingName,
      thingName: thing.thingName,
      thingId: thing.thingId,
      thingArn: thing.thingArn,
      attributes: thing.attributes,
      version: thing.version,
    },
  };
}

async function deleteThing(request: Request, { registry }: Context): Promise<Reply> {
  const thingName = thingNameOf(request);
  const expected = request.query.get('expectedVersion');
  let expectedVersion: number | undefined;
  if (expected !== null) {
    expectedVersion = Number(expected);
    if (!Number.isSafeInteger(expectedVersion)) throw invalid('expectedVersion must be an integer');
  }
  await registry.deleteThing(thingName, expectedVersion);
  return { body: {} };
}

async function createKeysAndCertificate(request: Request, { ca, registry }: Context): Promise<Reply> {
  const setAsActive = parseBoolean(request.query.get('setAsActive'), 'setAsActive') ?? false;
  const issued = await ca.createKeysAndCertificate();
  const entry = await registry.addCertificate({
    certificateId: issued.certificateId,
    certificatePem: issued.certificatePem,
    serialNumber: issued.serialNumber,
    status: setAsActive ? 'ACTIVE' : 'INACTIVE',
  });
  return {
    body: {
      certificateArn: entry.certificateArn,
      certificateId: entry.certificateId,
      certificatePem: entry.certificatePem,
      keyPair: { PublicKey: issued.publicKeyPem, PrivateKey: issued.privateKeyPem },
    },
  };
}

async function describeCertificate(request: Request, { registry }: Context): Promise<Reply> {
  const certificateId = certificateIdOfPath(request);
  const entry = registry.certificate(certificateId);
  if (!entry) throw notFound(`Certificate ${certificateId} does not exist`);
  const x509 = new X509Certificate(entry.certificatePem);
  const seconds = (date: string) => Math.floor(Date.parse(date) / 1000);
  return {
    body: {
      certificateDescription: {
        certificateArn: entry.certificateArn,
        certificateId: entry.certificateId,
        status: entry.status,
        certificatePem: entry.certificatePem,
        ownedBy: LOCAL_ACCOUNT,
        creationDate: seconds(entry.createdAt),
        lastModifiedDate: seconds(entry.lastModifiedAt),
        customerVersion: 1,
        validity: { notBefore: seconds(x509.validFrom), notAfter: seconds(x509.validTo) },
        certificateMode: 'DEFAULT',
      },
    },
  };
}

const SETTABLE_STATUSES: readonly string[] = ['ACTIVE', 'INACTIVE', 'REVOKED'];
const INTERNAL_STATUSES: readonly string[] = ['PENDING_TRANSFER', 'REGISTER_INACTIVE', 'PENDING_ACTIVATION'];

async function updateCertificate(request: Request, { registry }: Context): Promise<Reply> {
  const certificateId = certificateIdOfPath(request);
  const newStatus = request.query.get('newStatus');
  if (newStatus === null) throw invalid('newStatus is required');
  if (INTERNAL_STATUSES.includes(newStatus))
    throw invalid(`${newStatus} is a status AWS IoT uses internally; it cannot be set`);
  if (!SETTABLE_STATUSES.includes(newStatus))
    throw invalid(`newStatus must be one of ${SETTABLE_STATUSES.join(', ')}`);
  await registry.updateCertificate(certificateId, newStatus as CertificateStatus);
  return {};
}

async function attachPolicy(request: Request, context: Context): Promise<Reply> {
  const { policyName, certificateId } = await policyTarget(request, context);
  await context.registry.attachPolicy(policyName, certificateId);
  return {};
}

async function detachPolicy(request: Request, context: Context): Promise<Reply> {
  const { policyName, certificateId } = await policyTarget(request, context);
  await context.registry.detachPolicy(policyName, certificateId);
  return {};
}

async function listAttachedPolicies(request: Request, { registry }: Context): Promise<Reply> {
  const certificateId = certificateIdOfArn(request.segments[1] ?? '', 'target');
  const entry = registry.certificate(certificateId);
  if (!entry) throw notFound(`Certificate ${certificateId} does not exist`);
  const page = paginate(
    entry.policies,
    request.query.get('marker'),
    request.query.get('pageSize'),
    'pageSize',
  );
  return {
    body: {
      policies: page.items.map((policyName) => ({ policyName, policyArn: iotArn(`policy/${policyName}`) })),
      nextMarker: page.next,
    },
  };
}

async function attachThingPrincipal(request: Request, { registry }: Context): Promise<Reply> {
  const thingName = thingNameOf(request);
  const certificateId = certificateIdOfArn(request.principal, 'principal');
  const type = request.query.get('thingPrincipalType') ?? 'NON_EXCLUSIVE_THING';
  if (type !== 'EXCLUSIVE_THING' && type !== 'NON_EXCLUSIVE_THING')
    throw invalid('thingPrincipalType must be EXCLUSIVE_THING or NON_EXCLUSIVE_THING');
  await registry.attachThingPrincipal(thingName, certificateId, type);
  return { body: {} };
}

async function detachThingPrincipal(request: Request, { registry }: Context): Promise<Reply> {
  const thingName = thingNameOf(request);
  const certificateId = certificateIdOfArn(request.principal, 'principal');
  await registry.detachThingPrincipal(thingName, certificateId);
  return { body: {} };
}

async function listThingPrincipals(request: Request, { registry }: Context): Promise<Reply> {
  const thingName = thingNameOf(request);
  requireThing(registry, thingName);
  const page = paginate(
    registry.thingPrincipals(thingName),
    request.query.get('nextToken'),
    request.query.get('maxResults'),
    'maxResults',
  );
  return { body: { principals: page.items, nextToken: page.next } };
}

const DATA_ENDPOINT_TYPES = new Set(['iot:Data', 'iot:Data-ATS']);

async function describeEndpoint(request: Request, { brokerHost }: Context): Promise<Reply> {
  const endpointType = request.query.get('endpointType') ?? 'iot:Data';
  if (!DATA_ENDPOINT_TYPES.has(endpointType)) {
    throw invalid(
      `endpointType ${JSON.stringify(endpointType)}: the local cloud serves only iot:Data-ATS (and legacy iot:Data)`,
    );
  }
  return { body: { endpointAddress: brokerHost } };
}

function thingNameOf(request: Request): string {
  const thingName = request.segments[1] ?? '';
  if (!THING_NAME.test(thingName))
    throw invalid(`invalid thing name ${JSON.stringify(thingName)}: 1-128 characters of [a-zA-Z0-9:_-]`);
  return thingName;
}

function requireThing(registry: IotRegistry, thingName: string) {
  const thing = registry.thing(thingName);
  if (!thing) throw notFound(`Thing ${thingName} does not exist`);
  return thing;
}

function certificateIdOfPath(request: Request): string {
  const certificateId = (request.segments[1] ?? '').replace(/^0x/, '').toLowerCase();
  if (!CERTIFICATE_ID.test(certificateId)) throw invalid('certificateId must be 64 hexadecimal digits');
  return certificateId;
}

/** Only X.509 certificate principals are served locally (no Cognito identities, no thing groups). */
function certificateIdOfArn(arn: string | undefined, what: string): string {
  if (arn === undefined || arn === '') throw invalid(`${what} is required`);
  const match = CERTIFICATE_ARN.exec(arn);
  if (!match) throw invalid(`${what} ${JSON.stringify(arn)} is not a certificate ARN`);
  return (match[1] as string).toLowerCase();
}

async function policyTarget(
  request: Request,
  { policyNames }: Context,
): Promise<{ policyName: string; certificateId: string }> {
  const policyName = request.segments[1] ?? '';
  if (!POLICY_NAME.test(policyName)) throw invalid(`invalid policy name ${JSON.stringify(policyName)}`);
  const body = await request.body();
  const certificateId = certificateIdOfArn(
    typeof body.target === 'string' ? body.target : undefined,
    'target',
  );
  if (policyNames && !policyNames.has(policyName)) throw notFound(`Policy ${policyName} does not exist`);
  return { policyName, certificateId };
}

function parseAttributes(payload: unknown): Record<string, string> {
  if (payload === undefined) return {};
  if (typeof payload !== 'object' || payload === null) throw invalid('attributePayload must be an object');
  const { attributes } = payload as { attributes?: unknown };
  if (attributes === undefined) return {};
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))
    throw invalid('attributePayload.attributes must be an object');
  const entries = Object.entries(attributes);
  if (entries.length > MAX_ATTRIBUTES)
    throw invalid(`a thing without a thing type has at most ${MAX_ATTRIBUTES} attributes`);
  const parsed: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!ATTRIBUTE_NAME.test(name)) throw invalid(`invalid attribute name ${JSON.stringify(name)}`);
    if (typeof value !== 'string' || !ATTRIBUTE_VALUE.test(value))
      throw invalid(`invalid value for attribute ${name}`);
    Object.defineProperty(parsed, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return parsed;
}

function parseBoolean(value: string | null, name: string): boolean | undefined {
  if (value === null) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalid(`${name} must be true or false`);
}

/** Offsets as opaque tokens; AWS's own tokens are opaque too, so callers only pass them back. */
function paginate<T>(
  items: readonly T[],
  token: string | null,
  size: string | null,
  sizeName: string,
): { items: T[]; next: string | undefined } {
  const pageSize = size === null ? 25 : Number(size);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 250)
    throw invalid(`${sizeName} must be between 1 and 250`);
  const start = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0) throw invalid('invalid pagination token');
  const end = start + pageSize;
  return {
    items: items.slice(start, end),
    next: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined,
  };
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parsed = await readJsonBody(req, MAX_BODY_BYTES, invalid);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalid('request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendRestJson(res, status, body);
}

function sendError(res: ServerResponse, error: IotControlPlaneError): void {
  sendRestJson(res, error.status, { ...error.fields, message: error.message }, error.errorType);
}
