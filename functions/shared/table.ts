import { Table } from 'dynamodb-toolbox';
import { documentClient } from './clients.js';
import { requireEnv } from './env.js';

/**
 * The single table every feature stores in. Key attributes are generic (pk/sk, gsi1pk/gsi1sk) so each
 * feature's entities compute their own access patterns; the CDK construct in infra/ declares the same.
 */
export const CivicTable = new Table({
  documentClient,
  name: requireEnv('TABLE_NAME'),
  partitionKey: { name: 'pk', type: 'string' },
  sortKey: { name: 'sk', type: 'string' },
  indexes: {
    gsi1: {
      type: 'global',
      partitionKey: { name: 'gsi1pk', type: 'string' },
      sortKey: { name: 'gsi1sk', type: 'string' },
    },
  },
  entityAttributeSavedAs: 'entity',
});
