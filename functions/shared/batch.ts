import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteCommand as DocumentBatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import {
  BatchGetCommand,
  type BatchGetRequest,
  type BatchWriteCommand,
  executeBatchGet,
  executeBatchWrite,
} from 'dynamodb-toolbox';
import { documentClient } from './clients.js';
import { CivicTable } from './table.js';

/**
 * Batch reads and writes that finish or fail, never half done in silence. DynamoDB may leave part of a
 * BatchGetItem or BatchWriteItem unprocessed (throttling, or a response over 16 MB). dynamodb-toolbox's
 * execute resends that part at once and, after `maxAttempts`, returns it: a caller that ignores it reads
 * the missing items as absent, or loses the writes. Here each resend of the unprocessed part waits first
 * (exponential backoff with full jitter, as AWS advises for batch operations), and what is still
 * unprocessed after MAX_BATCH_ATTEMPTS is an error, so the caller's own retry takes over (SQS
 * redelivery, a workflow's retry): every batch write in this codebase is idempotent.
 */
export const MAX_BATCH_ATTEMPTS = 8;
const BACKOFF_BASE_MS = 25;
const BACKOFF_CAP_MS = 1_000;

export class UnprocessedBatchError extends Error {
  override name = 'UnprocessedBatchError';
  constructor(
    readonly operation: 'BatchGetItem' | 'BatchWriteItem',
    readonly unprocessed: number,
    attempts: number,
  ) {
    super(`${operation}: ${unprocessed} item(s) still unprocessed after ${attempts} attempt(s)`);
  }
}

/** The wait before resend `attempt` (1 = the first resend): full jitter under a doubling, capped ceiling. */
export const backoffMs = (attempt: number, random: () => number = Math.random): number =>
  Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));

const countOf = (byTable: Record<string, unknown[]> | undefined) =>
  Object.values(byTable ?? {}).reduce((sum, requests) => sum + requests.length, 0);

/** Runs a toolbox BatchWriteCommand (at most 25 requests) until every request is processed. */
export const writeBatch = async (command: BatchWriteCommand): Promise<void> => {
  let { UnprocessedItems } = await executeBatchWrite(command);
  for (let attempt = 1; countOf(UnprocessedItems) > 0; attempt++) {
    if (attempt >= MAX_BATCH_ATTEMPTS)
      throw new UnprocessedBatchError('BatchWriteItem', countOf(UnprocessedItems), attempt);
    await sleep(backoffMs(attempt));
    // The unprocessed requests come back already in table form: they are resent as they are.
    ({ UnprocessedItems } = await documentClient.send(
      new DocumentBatchWriteCommand({ RequestItems: UnprocessedItems }),
    ));
  }
};

type Key = Record<string, unknown>;
const sameKey = (a: Key, b: Key) =>
  Object.keys(a).length === Object.keys(b).length &&
  Object.entries(a).every(([name, value]) => b[name] === value);

/**
 * Reads the requests (at most 100, all on the civic table) with BatchGetItem: the formatted items in
 * request order, undefined where no item exists. Only the requests left unprocessed are sent again.
 */
export const readBatch = async (
  requests: Pick<BatchGetRequest, 'entity' | 'params'>[],
  options: { consistent?: boolean; maxAttempts?: number } = {},
): Promise<unknown[]> => {
  const { consistent = false, maxAttempts = MAX_BATCH_ATTEMPTS } = options;
  const found: unknown[] = new Array(requests.length).fill(undefined);
  let pending = requests.map((request, index) => ({ request, index }));
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(backoffMs(attempt - 1));
    const { Responses, UnprocessedKeys } = await executeBatchGet(
      CivicTable.build(BatchGetCommand)
        .requests(...pending.map(({ request }) => request))
        .options({ consistent }),
    );
    const unprocessed = (UnprocessedKeys?.[CivicTable.getName()]?.Keys ?? []) as Key[];
    const items = (Responses?.[0] ?? []) as unknown[];
    const left: typeof pending = [];
    pending.forEach((entry, position) => {
      // (A key is worked out only when some are unprocessed: the common case costs nothing more.)
      const key = unprocessed.length > 0 ? (entry.request.params() as Key) : undefined;
      if (key !== undefined && unprocessed.some((candidate) => sameKey(candidate, key))) left.push(entry);
      else found[entry.index] = items[position];
    });
    if (left.length > 0 && attempt >= maxAttempts)
      throw new UnprocessedBatchError('BatchGetItem', left.length, attempt);
    pending = left;
  }
  return found;
};
