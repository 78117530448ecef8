/**
 * The template's Secrets Manager secrets, held by the local cloud: each gets a random value, kept under
 * the data dir so that what was signed with it before a restart still verifies after it, and every
 * `{{resolve:secretsmanager:<arn>:SecretString:<json-key>:<stage>:<version>}}` reference in a function's
 * environment is replaced by it, as CloudFormation resolves such references at deploy time.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { type SecretSpec, TemplateError } from './template.js';

const REFERENCE = /\{\{resolve:secretsmanager:(.+?):SecretString:([^:}]*):([^:}]*):([^:}]*)\}\}/g;

/** The value of each secret by ARN: read from `dir`, or generated (64 hex digits) and written there. */
export const localSecretValues = (dir: string, secrets: readonly SecretSpec[]): Map<string, string> => {
  mkdirSync(dir, { recursive: true });
  return new Map(
    secrets.map((secret) => {
      const file = path.join(dir, `${secret.logicalId}.txt`);
      try {
        return [secret.arn, readFileSync(file, 'utf8').trim()];
      } catch {
        const value = randomBytes(32).toString('hex');
        writeFileSync(file, `${value}\n`, { mode: 0o600 });
        return [secret.arn, value];
      }
    }),
  );
};

/** Replaces the secret references in an environment; a reference to a secret the stack lacks fails loudly. */
export const resolveSecretReferences = (
  environment: Record<string, string>,
  values: ReadonlyMap<string, string>,
): Record<string, string> =>
  Object.fromEntries(
    Object.entries(environment).map(([name, value]) => [
      name,
      value.replace(REFERENCE, (_reference, secretId: string, jsonKey: string) => {
        const secret = values.get(secretId);
        if (secret === undefined)
          throw new TemplateError(`${name} refers to a secret the stack does not declare: ${secretId}`);
        if (jsonKey === '') return secret;
        const field = (JSON.parse(secret) as Record<string, unknown>)[jsonKey];
        if (typeof field !== 'string') throw new TemplateError(`${name}: the secret has no field ${jsonKey}`);
        return field;
      }),
    ]),
  );
