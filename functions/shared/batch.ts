import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { BatchWriteCommand } from 'dynamodb-toolbox';
import { MARSHALL_OPTIONS, rawDynamoDbClient } from './clients.js';
import { CivicTable } from './table.js';

/**
 * Batch reads and writes that finish or fail, never half done in silence. DynamoDB may leave part of a
 * BatchGetItem or BatchWriteItem unprocessed (throttling, or a response over 16 MB). dynamodb-toolbox's
 * execute resends that part at once and, after `maxAttempts`, returns it: a caller that ignores it reads
 * the missing items as absent, or loses the writes. Here each resend of the unprocessed part waits first
 * (exponential backoff with full jitter, as AWS advises for batch operations), and what is still
 * unprocessed after MAX_BATCH_ATTEMPTS is an error, so the caller's own retry takes over (SQS
 * redelivery, a workflow's retry): every batch write in this codebase is idempotent.
 *
 * Both go through the low-level client (`rawDynamoDbClient`), with marshalled items: the ingest hot path
 * builds its items itself (see violations/store.ts), and a toolbox command is marshalled here as the
 * DocumentClient would.
 */
const MAX_BATCH_ATTEMPTS = 8;
const BACKOFF_BASE_MS = 25;
const BACKOFF_CAP_MS = 1_000;

export type AttributeMap = Record<string, AttributeValue>;

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

/** Sends write requests (at most 25, on the civic table) until every one is processed. */
const writeRequests = async (requests: WriteRequest[]): Promise<void> => {
  let pending: Record<string, WriteRequest[]> | undefined = { [CivicTable.getName()]: requests };
  for (let attempt = 1; ; attempt++) {
    ({ UnprocessedItems: pending } = await rawDynamoDbClient().send(
      new BatchWriteItemCommand({ RequestItems: pending }),
    ));
    const left = countOf(pending);
    if (left === 0) return;
    if (attempt >= MAX_BATCH_ATTEMPTS) throw new UnprocessedBatchError('BatchWriteItem', left, attempt);
    await sleep(backoffMs(attempt));
  }
};

/** Puts marshalled items (at most 25) on the civic table until every one is processed. */
export const putItems = (items: AttributeMap[]): Promise<void> =>
  writeRequests(items.map((Item) => ({ PutRequest: { Item } })));

/** Runs a toolbox BatchWriteCommand (at most 25 requests) until every request is processed. */
export const writeBatch = (command: BatchWriteCommand): Promise<void> => {
  const requests = (command.params()[CivicTable.getName()] ?? []) as {
    PutRequest?: { Item: Record<string, unknown> };
    DeleteRequest?: { Key: Record<string, unknown> };
  }[];
  return writeRequests(
    requests.map(({ PutRequest, DeleteRequest }) =>
      PutRequest !== undefined
        ? { PutRequest: { Item: marshall(PutRequest.Item, MARSHALL_OPTIONS) } }
        : { DeleteRequest: { Key: marshall(DeleteRequest?.Key ?? {}, MARSHALL_OPTIONS) } },
    ),
  );
};

/** The civic table's key of a marshalled key or item (pk and sk are strings on every item). */
const keyOf = (item: AttributeMap) => `${item.pk?.S}\n${item.sk?.S}`;

/**
 * Reads marshalled keys (at most 100, on the civic table; pk and sk) with BatchGetItem: the items in
 * key order, undefined where no item exists. Only the keys left unprocessed are sent again.
 */
export const getItems = async (
  keys: AttributeMap[],
  options: { consistent?: boolean; maxAttempts?: number } = {},
): Promise<(AttributeMap | undefined)[]> => {
  const { consistent = false, maxAttempts = MAX_BATCH_ATTEMPTS } = options;
  const table = CivicTable.getName();
  const found = new Map<string, AttributeMap>();
  let pending = keys;
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(backoffMs(attempt - 1));
    const { Responses, UnprocessedKeys } = await rawDynamoDbClient().send(
      new BatchGetItemCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: consistent } } }),
    );
    // A response lists its items in no particular order: they are matched to the keys by key.
    for (const item of Responses?.[table] ?? []) found.set(keyOf(item), item);
    pending = UnprocessedKeys?.[table]?.Keys ?? [];
    if (pending.length > 0 && attempt >= maxAttempts)
      throw new UnprocessedBatchError('BatchGetItem', pending.length, attempt);
  }
  return keys.map((key) => found.get(keyOf(key)));
};
