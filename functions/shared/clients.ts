import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Module-scope singletons: created once per cold start and reused across invocations. The endpoint
 * comes from the SDK's own configuration chain (AWS_ENDPOINT_URL_*), never from this code.
 */
export const dynamoDbClient = new DynamoDBClient({});

export const documentClient = DynamoDBDocumentClient.from(dynamoDbClient, {
  marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
});
