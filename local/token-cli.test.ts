import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = path.join(import.meta.dirname, 'token-cli.ts');
const tsx = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', CLI, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );

describe('npm run token', () => {
  it('prints its usage on --help, and on a wrong option or role without a stack trace', async () => {
    const help = await tsx('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run -s token -- <role>/);
    expect(help.stdout).toContain('street-office');
    for (const args of [['--bogus'], ['nobody'], []]) {
      const wrong = await tsx(...args);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('Usage:');
      expect(wrong.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
