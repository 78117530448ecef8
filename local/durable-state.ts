import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ResourceNotFoundException,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { localCredentials } from './dynamodb.js';

/**
 * The local cloud's own tables in DynamoDB Local, beside the template's: what SQS, the Scheduler and
 * Step Functions must keep across a restart. Each has a string partition key `pk` and sort key `sk`.
 * The dots keep them apart from any CloudFormation table name (CDK names never contain one).
 */
export const STATE_TABLES = {
  sqs: 'local-cloud.sqs-messages',
  scheduler: 'local-cloud.schedules',
  stepFunctions: 'local-cloud.sfn-executions',
} as const;

export type StateTable = (typeof STATE_TABLES)[keyof typeof STATE_TABLES];

/** One stored item: its keys and the rest, as plain JS values (Uint8Array for binary). */
export type StateItem = { pk: string; sk: string } & Record<string, unknown>;

export type StateWrite = { put: StateItem } | { delete: { pk: string; sk: string } };

/** BatchWriteItem's limit. */
const BATCH = 25;

const toAttributes = (item: Record<string, unknown>) =>
  marshall(item, { removeUndefinedValues: true, convertEmptyValues: false });

/**
 * The durable half of the local cloud's stand-ins, written to DynamoDB Local (on disk under the data
 * dir, the same store as the template's tables, crash-safe once a write is answered). Nothing here is
 * used with `--in-memory`: the stand-ins then keep everything in memory, as they always did.
 */
export class DurableState {
  readonly client: DynamoDBClient;

  private constructor(endpoint: string) {
    // Retries (the SDK's default backoff) ride out a busy emulator; a write is only answered once stored.
    this.client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: localCredentials,
      maxAttempts: 8,
    });
  }

  /** Connects to DynamoDB Local and creates the state tables that are missing. */
  static async open(endpoint: string): Promise<DurableState> {
    const state = new DurableState(endpoint);
    await Promise.all(Object.values(STATE_TABLES).map((table) => state.ensureTable(table)));
    return state;
  }

  private async ensureTable(table: StateTable): Promise<void> {
    try {
      await this.client.send(new DescribeTableCommand({ TableName: table }));
      return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    await this.client.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }

  /** Every item of a table (the state tables are small: what is queued, scheduled or running). */
  async scan(table: StateTable): Promise<StateItem[]> {
    const items: StateItem[] = [];
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      for (const item of page.Items ?? []) items.push(unmarshall(item) as StateItem);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  async put(table: StateTable, item: StateItem): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: table, Item: toAttributes(item) }));
  }

  async delete(table: StateTable, key: { pk: string; sk: string }): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: table, Key: toAttributes(key) }));
  }

  /**
   * Puts and deletes, 25 to a BatchWriteItem, until DynamoDB Local has taken every one (unprocessed
   * items are sent again). A batch must not hold two writes of one key: DynamoDB refuses it.
   */
  async write(table: StateTable, writes: StateWrite[]): Promise<void> {
    for (let start = 0; start < writes.length; start += BATCH) {
      let requests: WriteRequest[] = writes
        .slice(start, start + BATCH)
        .map((write) =>
          'put' in write
            ? { PutRequest: { Item: toAttributes(write.put) } }
            : { DeleteRequest: { Key: toAttributes(write.delete) } },
        );
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(500, 10 * 2 ** attempt)));
        const answer = await this.client.send(
          new BatchWriteItemCommand({ RequestItems: { [table]: requests } }),
        );
        requests = answer.UnprocessedItems?.[table] ?? [];
      }
    }
  }

  close(): void {
    this.client.destroy();
  }
}
