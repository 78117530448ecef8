/**
 * `npm start`: the whole civic-cell stack on this machine, from the synthesized template.
 *   --in-memory         keep DynamoDB in memory and the CA/keys in a temporary folder
 *   --data-dir DIR      where data lives (default .local/)
 *   --synth             synthesize even if the sources did not change
 *   --no-synth          never synthesize: run cdk.out as it is (tests, after their global setup)
 *   --quiet-functions   do not echo function logs
 *   --no-seed           do not seed the demo sub-district into an empty store
 *   --fault FN=RATE     fail a share of a function's invocations (e.g. --fault Ingest=0.05; repeatable)
 *   --fault-seed N      seed those failures, to fail the same invocations again
 *   --state-machine F   also run the state machine in F (ASL JSON, named after the file; for tests)
 *   --free-ports        bind free ports instead of the defaults (cloud.json in the data dir names them)
 */
import './quiet-warnings.js';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_PORTS, FREE_PORTS, PROJECT_ROOT, startLocalCloud } from './cloud.js';
import { seedDemoData } from './seed.js';

const { values } = parseArgs({
  options: {
    'in-memory': { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    synth: { type: 'boolean', default: false },
    'no-synth': { type: 'boolean', default: false },
    'quiet-functions': { type: 'boolean', default: false },
    'no-seed': { type: 'boolean', default: false },
    fault: { type: 'string', multiple: true, default: [] },
    'fault-seed': { type: 'string' },
    'state-machine': { type: 'string', multiple: true, default: [] },
    'free-ports': { type: 'boolean', default: false },
  },
  strict: true,
});

const usage = (message: string): never => {
  console.error(message);
  process.exit(2);
};
const faults = Object.fromEntries(
  values.fault.map((spec) => {
    const [target, rate] = spec.split('=');
    if (!target || rate === undefined || !/^(0(\.\d+)?|1(\.0+)?)$/.test(rate))
      usage(`--fault takes FUNCTION=RATE with a rate from 0 to 1 (e.g. --fault Ingest=0.05), not ${spec}`);
    return [target as string, Number(rate)];
  }),
);
const faultSeed = values['fault-seed'] === undefined ? undefined : Number(values['fault-seed']);
if (faultSeed !== undefined && !Number.isSafeInteger(faultSeed))
  usage(`--fault-seed takes a whole number, not ${values['fault-seed']}`);
const extraStateMachines = values['state-machine'].map((file) => ({
  name: path.basename(file).replace(/\.(asl\.)?json$/, ''),
  definition: JSON.parse(readFileSync(file, 'utf8')) as object,
}));

const started = performance.now();
const stamp = () => `[${((performance.now() - started) / 1000).toFixed(1)}s]`;
const log = (line: string) => console.log(`${stamp()} ${line}`);

const cloud = await startLocalCloud({
  inMemory: values['in-memory'],
  dataDir: values['data-dir'] ? path.resolve(values['data-dir']) : undefined,
  synth: values.synth ? 'always' : values['no-synth'] ? 'never' : 'auto',
  ports: values['free-ports'] ? FREE_PORTS : DEFAULT_PORTS,
  faults,
  faultSeed,
  extraStateMachines,
  log,
  functionLog: values['quiet-functions']
    ? undefined
    : (name, line) => console.log(`  λ ${name.replace(/^CivicCell-/, '')} ${line}`),
}).catch((error: Error) => {
  console.error(`\nThe local cloud could not start: ${error.message}`);
  process.exit(1);
});

const seconds = ((performance.now() - started) / 1000).toFixed(1);
const { endpoints } = cloud;
console.log(`
civic-cell local cloud ready in ${seconds} s — ${cloud.stack.functions.length} functions, ${cloud.stack.routes.length} routes, ${cloud.stack.topicRules.length} topic rules, ${cloud.stack.stateMachines.length} state machines

  HTTP API            ${endpoints.api}            (OpenAPI: ${endpoints.api}/openapi.json)
  MQTT (mutual TLS)   mqtts://${endpoints.mqtt.host}:${endpoints.mqtt.port}
  CA certificate      ${path.resolve(cloud.caPath)}
  DynamoDB Local      ${endpoints.dynamodb}      table ${cloud.tableName}
  IoT data plane      ${endpoints.iotData}
  IoT control plane   ${endpoints.iotControl}      (things, certificates, policies)
  Step Functions      ${endpoints.stepFunctions}      (${cloud.stack.stateMachines.map((machine) => machine.name).join(', ') || 'no state machines'})
  Scheduler           ${endpoints.scheduler}      (EventBridge Scheduler: one-time and recurring schedules)
  SQS                 ${endpoints.sqs}      (${cloud.stack.queues.length} queues, ${values['in-memory'] ? 'in memory' : 'kept on disk'}; ${cloud.stack.eventSourceMappings.length} Lambda event source mapping(s))
  Control plane       ${endpoints.control}      (JWKS, tokens, device certificates)

Tokens (one per role; valid 12 h):
  npm run token -- street-office          # also: housing-bureau property-staff committee-member owner evaluator caseworker
  curl -H "authorization: Bearer $(npm run -s token -- street-office)" ${endpoints.api}/compounds/xiling

Device certificates (thing name = certificate CN = MQTT client id):
  curl -X POST ${endpoints.control}/things/<thingName>/certificate    # writes ${path.join(path.dirname(path.resolve(cloud.caPath)), 'things')}/<thingName>/

The cloud's clock (functions and schedules see it; 1296000 s = the 15 days' notice):
  curl -X POST ${endpoints.control}/clock -d '{"advanceSeconds":1296000}'    # GET /clock reads it

The AWS SDK from your shell: export ${Object.entries({
  AWS_REGION: cloud.sdkEnvironment.AWS_REGION,
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
  AWS_ENDPOINT_URL_SQS: endpoints.sqs,
})
  .map(([key, value]) => `${key}=${value}`)
  .join(' ')}

${values['in-memory'] ? 'Nothing is kept (--in-memory).' : 'Kept in the data dir across any stop: tables, queued messages, schedules, Step Functions executions.'}${
  cloud.lambda.faults.describe().length > 0
    ? `\nFaults injected: ${cloud.lambda.faults.describe().join(', ')}`
    : ''
}
Ctrl-C stops everything.`);

// The cloud is ready now; the demo data (first start only) arrives in the background through the API.
if (!values['no-seed']) {
  const token = await cloud.token({ role: 'street-office' });
  const devicesDir = path.join(
    values['data-dir'] ? path.resolve(values['data-dir']) : path.join(PROJECT_ROOT, '.local'),
    'devices',
  );
  void seedDemoData({ apiUrl: cloud.endpoints.api, token, devicesDir, log }).catch((error: Error) =>
    log(`Demo data not seeded: ${error.message}`),
  );
}

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping …`);
  await cloud.stop();
  log('stopped');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
