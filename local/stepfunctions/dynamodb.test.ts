import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamoDb, startDynamoDbLocal } from '../dynamodb.js';
import { startStepFunctions } from './index.js';
import { settled, sfnClient, stateMachineArn } from './test-support.js';

const TABLE = 'sfn-items';
const key = { pk: { 'S.$': '$.id' } };

const lifecycle = {
  StartAt: 'Put',
  States: {
    Put: {
      Type: 'Task',
      Resource: 'arn:aws:states:::dynamodb:putItem',
      Parameters: {
        TableName: TABLE,
        Item: { pk: { 'S.$': '$.id' }, visits: { N: '1' } },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
      ResultPath: null,
      Next: 'Bump',
    },
    Bump: {
      Type: 'Task',
      Resource: 'arn:aws:states:::dynamodb:updateItem',
      Parameters: {
        TableName: TABLE,
        Key: key,
        UpdateExpression: 'SET visits = visits + :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
        ReturnValues: 'ALL_NEW',
      },
      ResultSelector: { 'visits.$': '$.Attributes.visits.N' },
      ResultPath: '$.updated',
      Next: 'Get',
    },
    Get: {
      Type: 'Task',
      Resource: 'arn:aws:states:::dynamodb:getItem',
      Parameters: { TableName: TABLE, Key: key },
      ResultSelector: { 'item.$': '$.Item' },
      ResultPath: '$.got',
      Next: 'Delete',
    },
    Delete: {
      Type: 'Task',
      Resource: 'arn:aws:states:::dynamodb:deleteItem',
      Parameters: { TableName: TABLE, Key: key },
      ResultPath: null,
      End: true,
    },
  },
};

const putOnce = { StartAt: 'Put', States: { Put: { ...lifecycle.States.Put, Next: undefined, End: true } } };

let dynamodbLocal: LocalDynamoDb | undefined;
let dynamodb: DynamoDBClient;
let client: SFNClient;
let close: () => Promise<void>;

beforeAll(async () => {
  dynamodbLocal = await startDynamoDbLocal({});
  const endpoint = dynamodbLocal.endpoint;
  dynamodb = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  await dynamodb.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const server = await startStepFunctions({
    port: 0,
    dynamodbEndpoint: endpoint,
    invokeLambda: async () => null,
    stateMachines: [
      { arn: stateMachineArn('lifecycle'), name: 'lifecycle', definition: lifecycle },
      { arn: stateMachineArn('put-once'), name: 'put-once', definition: JSON.parse(JSON.stringify(putOnce)) },
    ],
  });
  close = server.close;
  client = sfnClient(server.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await close?.();
  dynamodb?.destroy();
  await dynamodbLocal?.stop();
});

async function run(machine: string, input: unknown) {
  const { executionArn } = await client.send(
    new StartExecutionCommand({ stateMachineArn: stateMachineArn(machine), input: JSON.stringify(input) }),
  );
  return settled(client, executionArn!);
}

describe('DynamoDB service integrations', () => {
  it('puts, updates, gets and deletes an item in the real DynamoDB Local', async () => {
    const execution = await run('lifecycle', { id: 'cell-1' });

    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output!)).toEqual({
      id: 'cell-1',
      updated: { visits: '2' },
      got: { item: { pk: { S: 'cell-1' }, visits: { N: '2' } } },
    });
    const after = await dynamodb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'cell-1' } } }));
    expect(after.Item).toBeUndefined();
  });

  it('fails with DynamoDB.<exception> as AWS names it', async () => {
    await run('put-once', { id: 'cell-2' });

    const second = await run('put-once', { id: 'cell-2' });

    expect(second).toMatchObject({ status: 'FAILED', error: 'DynamoDB.ConditionalCheckFailedException' });
  });
});
