import { readdirSync, readFileSync } from 'node:fs';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamoDb, startDynamoDbLocal } from './dynamodb.js';

/** The JVM serving `port`: the java process whose command line names that port. */
const jvmServing = (port: number): string | undefined =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .find((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return args[0]?.endsWith('java') === true && args[args.indexOf('-port') + 1] === String(port);
      } catch {
        return false; // gone meanwhile
      }
    });

/** Each thread's name and nice value, from /proc (field 19 of stat, counted after the name). */
const threadsOf = (pid: string) =>
  readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { name: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(), nice: Number(fields[16]) };
  });

describe.runIf(process.platform === 'linux')('DynamoDB Local', () => {
  let ddb: LocalDynamoDb;
  beforeAll(async () => {
    ddb = await startDynamoDbLocal({});
  }, 90_000);
  afterAll(() => ddb?.stop());

  it('answers, and compiles its JIT code at the lowest priority while request threads keep theirs', async () => {
    await expect(ddb.client.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
    const pid = jvmServing(ddb.port);
    expect(pid).toBeDefined();
    const threads = threadsOf(pid as string);
    const compilers = threads.filter(({ name }) => /^C[12] CompilerThre/.test(name));
    expect(compilers.map(({ name }) => name.slice(0, 2)).sort()).toEqual(['C1', 'C2']);
    for (const compiler of compilers) expect(compiler).toMatchObject({ nice: 19 });
    const servers = threads.filter(({ name }) => name.startsWith('qtp') || name.startsWith('SQLite'));
    expect(servers.length).toBeGreaterThan(0);
    for (const server of servers) expect(server.nice).toBeLessThan(19);
  });
});
