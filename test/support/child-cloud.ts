/**
 * The local cloud as `npm start` runs it: a child process (its own process group) on a data dir, for
 * tests that kill it and start it again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { eventually } from './cloud.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface CloudFile {
  endpoints: { api: string; sqs: string; stepFunctions: string; control: string };
  pid: number;
}

/** Starts `local/cli.ts` on the data dir and waits for the cloud.json this process writes. */
export const startChildCloud = async (
  dataDir: string,
  extraArgs: string[],
  output: string[],
): Promise<{ child: ChildProcess; cloud: CloudFile }> => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'local/cli.ts',
      '--data-dir',
      dataDir,
      '--no-seed',
      '--no-synth',
      '--free-ports',
      '--quiet-functions',
      ...extraArgs,
    ],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  // cloud.json outlives a SIGKILL: wait for the one this process writes.
  const file = path.join(dataDir, 'cloud.json');
  const cloud = await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`the cloud exited: ${output.join('').slice(-2000)}`);
      if (!existsSync(file)) return undefined;
      try {
        const parsed = JSON.parse(readFileSync(file, 'utf8')) as CloudFile;
        return parsed.pid === child.pid ? parsed : undefined;
      } catch {
        return undefined;
      }
    },
    40_000,
    'the local cloud to start',
  );
  return { child, cloud };
};

export const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/** kill -9 of the child's whole process tree (DynamoDB Local's JVM with it). */
export const killTree = async (child: ChildProcess) => {
  process.kill(-(child.pid as number), 'SIGKILL');
  await exited(child);
};

/** Mints a token from the child's control plane. */
export const tokenOf = async (cloud: CloudFile, claims: Record<string, unknown>) => {
  const minted = await fetch(`${cloud.endpoints.control}/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(claims),
  });
  return ((await minted.json()) as { token: string }).token;
};
