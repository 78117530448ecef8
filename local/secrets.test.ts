import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localSecretValues, resolveSecretReferences } from './secrets.js';

const dir = mkdtempSync(path.join(tmpdir(), 'civic-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:CivicCell-DataCursorKey-ABC';

describe('local secrets', () => {
  it('generates a value per secret once and keeps it in the data dir', () => {
    const first = localSecretValues(dir, [{ logicalId: 'DataCursorKey', arn: ARN }]);
    const again = localSecretValues(dir, [{ logicalId: 'DataCursorKey', arn: ARN }]);
    expect(first.get(ARN)).toMatch(/^[0-9a-f]{64}$/);
    expect(again.get(ARN)).toBe(first.get(ARN));
    expect(readFileSync(path.join(dir, 'DataCursorKey.txt'), 'utf8').trim()).toBe(first.get(ARN));
  });

  it('resolves dynamic references as CloudFormation does, and refuses one to a secret the stack lacks', () => {
    const values = new Map([
      [ARN, 's3cr3t'],
      [`${ARN}-json`, '{"user":"u","pass":"p"}'],
    ]);
    expect(
      resolveSecretReferences(
        {
          KEY: `{{resolve:secretsmanager:${ARN}:SecretString:::}}`,
          PASS: `pw={{resolve:secretsmanager:${ARN}-json:SecretString:pass::}}`,
          PLAIN: 'as is',
        },
        values,
      ),
    ).toEqual({ KEY: 's3cr3t', PASS: 'pw=p', PLAIN: 'as is' });
    expect(() =>
      resolveSecretReferences(
        { KEY: '{{resolve:secretsmanager:arn:aws:secretsmanager:x:1:secret:nope:SecretString:::}}' },
        values,
      ),
    ).toThrow(/does not declare/);
  });
});
