import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalClock } from './clock.js';
import { type LocalTokenRequest, mintRoleToken, startControlPlane } from './control-plane.js';
import { DurableState } from './durable-state.js';
import { ensureTables, localCredentials, startDynamoDbLocal } from './dynamodb.js';
import { createLocalIssuer, type LocalIssuer, startHttpApi } from './http-api/index.js';
import { type LocalBroker, startBroker } from './iot/broker.js';
import { ensureCa, type LocalCa } from './iot/ca.js';
import { type LocalIotControlPlane, startIotControlPlane } from './iot/control-plane.js';
import { startIotDataPlane } from './iot/data-plane.js';
import { startEventSourceMappings } from './lambda/event-source-mappings.js';
import type { Faults } from './lambda/faults.js';
import { LambdaService, type LambdaServiceOptions } from './lambda/service.js';
import { freePort } from './ports.js';
import { RulesEngine } from './rules-engine.js';
import { type LocalScheduler, startScheduler } from './scheduler/index.js';
import { DurableSchedules } from './scheduler/persistence.js';
import { startSchedules } from './schedules.js';
import { localSecretValues, resolveSecretReferences } from './secrets.js';
import { DurableMessageJournal, type LocalSqs, startSqs } from './sqs/index.js';
import { DurableExecutions, startStepFunctions } from './stepfunctions/index.js';
import { ensureSynthesized } from './synth.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  type LocalStack,
  loadTemplate,
  Resolver,
  readStack,
} from './template.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const STACK_NAME = 'CivicCell';

/** Ports used by `npm start`; tests and benchmarks pass 0 everywhere for free ports. */
export const DEFAULT_PORTS = {
  api: 3000,
  mqtt: 8883,
  dynamodb: 8000,
  iotData: 8081,
  iotControl: 8082,
  stepFunctions: 8083,
  scheduler: 8084,
  sqs: 8085,
  control: 8090,
};
export type Ports = typeof DEFAULT_PORTS;
/** Every port 0: each component binds a free port (tests, benchmarks, several clouds at once). */
export const FREE_PORTS = Object.fromEntries(Object.keys(DEFAULT_PORTS).map((name) => [name, 0])) as Ports;

export interface LocalCloudOptions {
  /** Where data (DynamoDB files, the CA, the issuer's key) lives; default `.local/`. */
  dataDir?: string;
  /** DynamoDB in memory, CA and signing key in a temporary folder removed at stop. */
  inMemory?: boolean;
  ports?: Partial<Ports>;
  /** 'auto' synthesizes when the sources changed since the last synth. */
  synth?: 'auto' | 'always' | 'never';
  cdkOut?: string;
  /** Delays before Lambda's async retries (AWS: about 1 and 2 minutes). */
  asyncRetryDelaysMs?: number[];
  /** Scales rate() schedules and Step Functions waits, for tests. */
  timeScale?: number;
  /** Scales SQS visibility timeouts (only those), so a failed batch comes back quickly in tests. */
  visibilityTimeoutScale?: number;
  log?: (line: string) => void;
  functionLog?: (functionName: string, line: string) => void;
  onInvocation?: LambdaServiceOptions['onInvocation'];
  /**
   * Invocations that fail on purpose, as a function error would (local/lambda/faults.ts): by function
   * name, logical id or its end (`{ Ingest: 0.05 }`); `cloud.lambda.faults.set(…)` changes them later.
   */
  faults?: Faults;
  /** Seeds the fault draws, so a test fails the same invocations every run. */
  faultSeed?: number;
  /**
   * State machines besides the template's (tests only: a machine the template does not have yet), as
   * `arn:aws:states:<region>:<account>:stateMachine:<name>`.
   */
  extraStateMachines?: { name: string; definition: object }[];
}

export interface LocalCloud {
  stack: LocalStack;
  endpoints: {
    api: string;
    mqtt: { host: string; port: number };
    dynamodb: string;
    iotData: string;
    /** The AWS IoT control-plane API (AWS_ENDPOINT_URL_IOT). */
    iotControl: string;
    stepFunctions: string;
    /** The EventBridge Scheduler API (AWS_ENDPOINT_URL_SCHEDULER). */
    scheduler: string;
    /** The SQS API (AWS_ENDPOINT_URL_SQS); the template's queue URLs point here. */
    sqs: string;
    control: string;
  };
  tableName: string;
  caPath: string;
  ca: LocalCa;
  issuer: LocalIssuer;
  broker: LocalBroker;
  /** The AWS IoT control plane (things, certificates, attachments) the broker authorizes devices with. */
  iotControl: LocalIotControlPlane;
  lambda: LambdaService;
  /** EventBridge Scheduler: schedules created through its API (kept in the data dir unless in memory). */
  scheduler: LocalScheduler;
  /**
   * SQS: the template's queues, fed by rules and drained by event source mappings. Unless in memory,
   * every message change is stored in DynamoDB Local before it is acknowledged, and read back at start.
   */
  sqs: LocalSqs;
  /**
   * The cloud's clock: real time plus an offset that only moves forward. The functions' `Date`
   * (`new Date()`, `Date.now()`) and the EventBridge Scheduler read it, so `clock.advance(15 * 86_400_000)`
   * lets a notice period pass and fires the one-time schedules it jumped past (`POST /clock` on the control
   * plane does the same from curl). Transport stays on real time: function timeouts, SQS visibility,
   * JWT expiry at the API (a token minted before an advance stays valid), DynamoDB Local (TTL included),
   * Step Functions, the IoT rules engine and the template's EventBridge scheduled rules.
   */
  clock: LocalClock;
  rules: RulesEngine;
  /** The environment a Node process needs to talk to the local cloud with the ordinary AWS SDK. */
  sdkEnvironment: Record<string, string>;
  token(request: LocalTokenRequest): Promise<string>;
  /**
   * Waits until every queued async invocation (rules, schedules) has finished, retries included, and every
   * queue an event source mapping reads is empty with no batch in flight: each message was either deleted
   * or moved to its dead-letter queue.
   */
  drain(): Promise<void>;
  stop(): Promise<void>;
}

const resolvePorts = async (ports: Partial<Ports> | undefined, fallback: Ports): Promise<Ports> => {
  // Callers that predate the IoT control plane and ask for a free local control plane get a free one too.
  const merged = { ...fallback, ...(ports?.control === 0 ? { iotControl: 0 } : {}), ...ports };
  // The API's own URL is part of the template's environment (GetAtt ApiEndpoint), so it is fixed first;
  // so are SQS's, which every queue URL (Ref) contains, and the IoT data plane's (the data endpoint).
  if (merged.api === 0) merged.api = await freePort();
  if (merged.sqs === 0) merged.sqs = await freePort();
  if (merged.iotData === 0) merged.iotData = await freePort();
  return merged;
};

/**
 * Starts the embedded cloud from the synthesized template: DynamoDB Local with the template's tables,
 * the MQTT broker on mutual TLS with the device policy, the rules engine, the functions, the HTTP API with
 * its JWT authorizer, Step Functions, the IoT data plane, schedules, the EventBridge Scheduler API, and a
 * small control plane for tokens and device certificates. Everything listens on loopback.
 */
export const startLocalCloud = async (options: LocalCloudOptions = {}): Promise<LocalCloud> => {
  const log = options.log ?? (() => undefined);
  const cdkOut = options.cdkOut ?? path.join(PROJECT_ROOT, 'cdk.out');
  const inMemory = options.inMemory ?? false;
  const dataDir = options.dataDir ?? path.join(PROJECT_ROOT, '.local');
  const scratch = inMemory ? mkdtempSync(path.join(tmpdir(), 'civic-cell-')) : undefined;
  const stateDir = scratch ?? dataDir;
  mkdirSync(stateDir, { recursive: true });
  const cleanups: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log(`stop: ${(error as Error).message}`);
      }
    }
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  };

  let dynamodbStarting: ReturnType<typeof startDynamoDbLocal> | undefined;
  try {
    const ports = await resolvePorts(options.ports, DEFAULT_PORTS);
    // DynamoDB Local (a JVM) takes the longest to start and needs nothing from the template: start it first.
    dynamodbStarting = startDynamoDbLocal({
      port: ports.dynamodb,
      dataDir: inMemory ? undefined : path.join(dataDir, 'dynamodb'),
      log,
    });
    dynamodbStarting.then((started) => cleanups.push(() => started.stop())).catch(() => undefined);
    // So is the CA (two RSA keys the first time).
    const caLoading = ensureCa(path.join(stateDir, 'ca'));
    caLoading.catch(() => undefined);
    if (options.synth !== 'never') {
      await ensureSynthesized({
        projectRoot: PROJECT_ROOT,
        cdkOut,
        stackName: STACK_NAME,
        force: options.synth === 'always',
        log,
      });
    }
    const localEndpoints = {
      apiUrl: `http://127.0.0.1:${ports.api}`,
      sqsUrl: `http://127.0.0.1:${ports.sqs}`,
      // The broker's host, as the local DescribeEndpoint answers.
      iotData: { endpointAddress: '127.0.0.1', url: `http://127.0.0.1:${ports.iotData}` },
    };
    const template = loadTemplate(cdkOut, STACK_NAME);
    const stack = readStack(template, {
      stackName: STACK_NAME,
      cdkOut,
      endpoints: localEndpoints,
    });
    const resolver = new Resolver(template, STACK_NAME, localEndpoints);
    const iotPolicyNames = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::IoT::Policy')
      .map(([logicalId]) => resolver.physicalId(logicalId));
    // Schedule groups the template declares (by the physical name Ref resolves to, and any literal Name).
    const scheduleGroups = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::Scheduler::ScheduleGroup')
      .flatMap(([logicalId, resource]) => {
        const literal = resource.Properties?.Name;
        return [resolver.physicalId(logicalId), ...(typeof literal === 'string' ? [literal] : [])];
      });
    const userPool = stack.userPools[0];
    if (userPool === undefined) throw new Error('The template has no Cognito user pool to stand in for');

    const [dynamodb, ca, issuer] = await Promise.all([
      dynamodbStarting,
      caLoading,
      createLocalIssuer({
        issuer: userPool.issuer,
        keyDir: path.join(stateDir, 'issuer'),
        defaultClientId: userPool.clientIds[0],
      }),
    ]);
    await ensureTables(dynamodb.client, stack.tables);
    // What must outlive a stop besides the tables: queued messages, schedules (and the clock they are
    // read on), Step Functions executions — in DynamoDB Local tables of the cloud's own, on disk with
    // the rest. In memory there is nothing of it: every stand-in keeps to its in-memory path.
    const durable = inMemory ? undefined : await DurableState.open(dynamodb.endpoint);
    if (durable !== undefined) cleanups.push(() => durable.close());
    const journal = durable === undefined ? undefined : new DurableMessageJournal(durable, log);
    const durableSchedules = durable === undefined ? undefined : new DurableSchedules(durable);
    const [storedMessages, storedSchedules] = await Promise.all([
      journal?.load() ?? [],
      durableSchedules?.load() ?? { schedules: [], clockOffsetMs: 0 },
    ]);

    // Ports other components report back once bound; the functions learn them through their environment.
    const iotDataPort = ports.iotData;
    const sfnPort = ports.stepFunctions === 0 ? await freePort() : ports.stepFunctions;
    const iotControlPort = ports.iotControl === 0 ? await freePort() : ports.iotControl;
    const schedulerPort = ports.scheduler === 0 ? await freePort() : ports.scheduler;
    const sdkEnvironment: Record<string, string> = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      AWS_ENDPOINT_URL_IOT_DATA_PLANE: `http://127.0.0.1:${iotDataPort}`,
      AWS_ENDPOINT_URL_IOT: `http://127.0.0.1:${iotControlPort}`,
      AWS_ENDPOINT_URL_SFN: `http://127.0.0.1:${sfnPort}`,
      AWS_ENDPOINT_URL_SCHEDULER: `http://127.0.0.1:${schedulerPort}`,
      AWS_ENDPOINT_URL_SQS: localEndpoints.sqsUrl,
    };

    if (journal !== undefined)
      cleanups.push(async () => {
        await journal.flushed();
        journal.close();
      });
    const sqs = await startSqs({
      queues: stack.queues,
      port: ports.sqs,
      visibilityTimeoutScale: options.visibilityTimeoutScale,
      journal,
      log,
    });
    cleanups.push(() => sqs.close());
    for (const orphan of sqs.service.restore(storedMessages))
      log(
        `sqs: a stored message of ${orphan.queueName}, which the template no longer has, is kept but not served`,
      );
    if (storedMessages.length > 0)
      log(`sqs: ${storedMessages.length} stored message(s) back in their queues`);

    const clock = new LocalClock();
    if (durableSchedules !== undefined) {
      // Forward only: the clock takes up where it stood, and every advance is kept.
      clock.advance(storedSchedules.clockOffsetMs);
      clock.onAdvance(({ offsetMs }) => {
        durableSchedules
          .saveClock(offsetMs)
          .catch((error: Error) => log(`clock: the offset could not be stored: ${error.message}`));
      });
    }
    // Secret references in the functions' environment get the local secrets' values (kept in the data dir).
    const secretValues = localSecretValues(path.join(stateDir, 'secrets'), stack.secrets);
    const functions = stack.functions.map((spec) => ({
      ...spec,
      environment: resolveSecretReferences(spec.environment, secretValues),
    }));
    const lambda = new LambdaService(functions, {
      clock,
      baseEnvironment: { ...sdkEnvironment, PATH: process.env.PATH ?? '/usr/bin:/bin' },
      asyncRetryDelaysMs: options.asyncRetryDelaysMs,
      log,
      functionLog: options.functionLog,
      onInvocation: options.onInvocation,
      faults: options.faults,
      faultSeed: options.faultSeed,
      onAsyncFailure: ({ destination, ...failure }) => {
        log(
          `lambda ${failure.requestContext.functionArn}: retries exhausted → ${destination ?? 'dropped'}: ${failure.responsePayload.errorMessage}`,
        );
        // A queue destination receives the record as AWS sends it (without the local `destination`).
        const queue = destination === undefined ? undefined : sqs.service.findQueue(destination);
        try {
          queue?.send({ body: JSON.stringify(failure) });
        } catch (error) {
          log(`lambda: the failure record could not be sent to ${destination}: ${(error as Error).message}`);
        }
      },
    });
    cleanups.push(() => lambda.stop());

    const mappings = startEventSourceMappings({
      mappings: stack.eventSourceMappings,
      sqs: sqs.service,
      lambda,
      log,
    });
    cleanups.push(() => mappings.stop());

    const scheduler = await startScheduler({
      port: schedulerPort,
      lambda,
      groups: scheduleGroups,
      timeScale: options.timeScale,
      clock,
      persistence: durableSchedules,
      restore: storedSchedules.schedules,
      log,
    });
    cleanups.push(() => scheduler.close());
    if (storedSchedules.schedules.length > 0)
      log(`scheduler: ${storedSchedules.schedules.length} stored schedule(s) re-armed`);

    let broker: LocalBroker | undefined;
    const rules = new RulesEngine({
      rules: stack.topicRules,
      lambda,
      sqs: sqs.service,
      publish: async (topic, payload, qos) => broker?.publish(topic, payload, qos),
      log,
      // The rules' timestamp() is the cloud's time, like the functions' Date: a device on the cloud's
      // clock is neither ahead of nor behind it after an advance.
      now: () => clock.now(),
    });
    broker = await startBroker({
      ca,
      port: ports.mqtt,
      onPublish: (message) => rules.handle(message),
      onDenied: (event) =>
        log(
          `iot policy denied ${event.action} by ${event.clientId ?? '?'}${event.topic ? ` on ${event.topic}` : ''}: ${event.reason}`,
        ),
      onError: (error) => log(`broker: ${(error as Error).message}`),
    });
    cleanups.push(() => broker?.close());

    const iotData = await startIotDataPlane({ broker, port: iotDataPort });
    cleanups.push(() => iotData.close());

    const iotControl = await startIotControlPlane({
      ca,
      port: iotControlPort,
      brokerHost: broker.host,
      policyNames: iotPolicyNames,
      onError: (error) => log(`iot control plane: ${(error as Error).message}`),
    });
    cleanups.push(() => iotControl.close());

    const stepFunctions = await startStepFunctions({
      port: sfnPort,
      stateMachines: [
        ...stack.stateMachines.map(({ arn, name, definition }) => ({ arn, name, definition })),
        ...(options.extraStateMachines ?? []).map(({ name, definition }) => ({
          arn: `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`,
          name,
          definition,
        })),
      ],
      invokeLambda: (name, payload) => lambda.invoke(name, payload),
      dynamodbEndpoint: dynamodb.endpoint,
      waitTimeScale: options.timeScale,
      store: durable === undefined ? undefined : new DurableExecutions(durable),
      log,
    });
    cleanups.push(() => stepFunctions.close());

    const api = await startHttpApi({
      port: ports.api,
      apiId: 'local',
      routes: stack.routes.map((route) => ({
        routeKey: route.routeKey,
        target: route.functionName,
        authorizer: route.authorizer,
      })),
      jwksFor: (iss) => (iss === issuer.issuer ? issuer.jwks : undefined),
      invoke: (target, event) => lambda.invoke(target, event),
      log,
    });
    cleanups.push(() => api.close());

    const clientId = userPool.clientIds[0] ?? 'local-app-client';
    const control = await startControlPlane({ port: ports.control, issuer, clientId, ca, clock });
    cleanups.push(() => control.close());

    const schedules = startSchedules({
      schedules: stack.schedules,
      lambda,
      timeScale: options.timeScale,
      log,
    });
    cleanups.push(() => schedules.stop());

    const tableName = stack.tables[0]?.tableName ?? '';
    const endpoints = {
      api: api.url,
      mqtt: { host: broker.host, port: broker.port },
      dynamodb: dynamodb.endpoint,
      iotData: iotData.endpoint,
      iotControl: iotControl.endpoint,
      stepFunctions: stepFunctions.endpoint,
      scheduler: scheduler.endpoint,
      sqs: sqs.endpoint,
      control: control.url,
    };
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      path.join(dataDir, 'cloud.json'),
      JSON.stringify(
        {
          endpoints,
          tableName,
          caPath: ca.caPath,
          issuer: issuer.issuer,
          clientId,
          inMemory,
          pid: process.pid,
        },
        null,
        2,
      ),
    );
    cleanups.push(() => rmSync(path.join(dataDir, 'cloud.json'), { force: true }));

    return {
      stack,
      endpoints,
      tableName,
      caPath: ca.caPath,
      ca,
      issuer,
      broker,
      iotControl,
      lambda,
      scheduler,
      sqs,
      clock,
      rules,
      sdkEnvironment: {
        ...sdkEnvironment,
        AWS_ENDPOINT_URL_SFN: stepFunctions.endpoint,
        AWS_ENDPOINT_URL_IOT_DATA_PLANE: iotData.endpoint,
        AWS_ENDPOINT_URL_IOT: iotControl.endpoint,
        AWS_ENDPOINT_URL_SCHEDULER: scheduler.endpoint,
      },
      token: (request) => mintRoleToken(issuer, clientId, request),
      drain: async () => {
        const mapped = stack.eventSourceMappings
          .filter((mapping) => mapping.enabled)
          .map((mapping) => sqs.service.queue(mapping.eventSourceArn));
        const quiet = () =>
          lambda.asyncInFlight === 0 && mappings.inFlight === 0 && mapped.every((queue) => queue.size === 0);
        // Quiet twice, a turn of the event loop apart: a finished batch or invocation may still be handing
        // work on (an async invocation, a message) in callbacks that have not run yet.
        for (let quietTurns = 0; quietTurns < 2; ) {
          await lambda.drain();
          await mappings.idle();
          if (quiet()) {
            quietTurns++;
            await new Promise((resolve) => setImmediate(resolve));
            continue;
          }
          quietTurns = 0;
          if (lambda.asyncInFlight > 0 || mappings.inFlight > 0) continue;
          // Stopped: the queues will not change any more.
          if (mapped.some((queue) => queue.closed)) return;
          // Messages wait: visible ones for a poller about to take them, in-flight ones for their visibility
          // timeout to end. Either changes the queue.
          const woken = new AbortController();
          await Promise.race(mapped.map((queue) => queue.changed({ signal: woken.signal })));
          woken.abort();
        }
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    // DynamoDB Local may still have been starting when something else failed.
    await dynamodbStarting?.then(
      (started) => started.stop(),
      () => undefined,
    );
    throw error;
  }
};
