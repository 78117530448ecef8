import * as path from 'node:path';
import {
  ensureTables,
  type LocalDynamoDb,
  localCredentials,
  startDynamoDbLocal,
} from '../../local/dynamodb.js';
import { LOCAL_REGION, loadTemplate, readStack } from '../../local/template.js';

const CDK_OUT = path.join(import.meta.dirname, '..', '..', 'cdk.out');

/**
 * A DynamoDB Local of its own with the civic table exactly as the synthesized stack declares it, and
 * the environment a function reads its table from (name, endpoint, region, credentials). Modules that
 * read that environment at import must be imported after this returns.
 */
export const startCivicTable = async (): Promise<LocalDynamoDb> => {
  const ddb = await startDynamoDbLocal({});
  const [spec] = readStack(loadTemplate(CDK_OUT, 'CivicCell'), {
    stackName: 'CivicCell',
    cdkOut: CDK_OUT,
    endpoints: { apiUrl: 'http://127.0.0.1:1' },
  }).tables;
  if (spec === undefined) {
    await ddb.stop();
    throw new Error('The synthesized stack declares no table');
  }
  await ensureTables(ddb.client, [spec]);
  Object.assign(process.env, {
    TABLE_NAME: spec.tableName,
    AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
  });
  return ddb;
};
