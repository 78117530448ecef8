import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  any,
  BatchPutRequest,
  BatchWriteCommand,
  Entity,
  GetItemCommand,
  item,
  list,
  number,
  PutItemCommand,
  QueryCommand,
  string,
} from 'dynamodb-toolbox';
import { writeBatch } from '../shared/batch.js';
import { ConflictError, PreconditionFailedError } from '../shared/errors.js';
import { CivicTable } from '../shared/table.js';
import type { Ancestry, Kind } from './domain.js';

/**
 * One entity for every registry resource: the record's own key (kind + id) for strongly consistent
 * reads and conditional writes, and gsi1 (parent + kind → sort key) for listing a parent's children.
 * Each kind's attributes are validated by its zod schema before they get here.
 */
export const RegistryRecordEntity = new Entity({
  name: 'RegistryRecord',
  table: CivicTable,
  schema: item({
    kind: string().key(),
    id: string().key(),
    subDistrictId: string().key(),
    compoundId: string().optional(),
    areaId: string().optional(),
    companyId: string().optional(),
    ownerIds: list(string()).optional(),
    parentKey: string().savedAs('gsi1pk'),
    sortKey: string().savedAs('gsi1sk'),
    version: number(),
    data: any(),
  }),
  // Ids are a namespace per sub-district: the same id in another sub-district is another record, so a
  // create can never collide with (and so reveal) a record outside the caller's tenancy.
  computeKey: ({ kind, id, subDistrictId }) => ({
    pk: `${kind.toUpperCase()}#${subDistrictId}#${id}`,
    sk: kind.toUpperCase(),
  }),
});

export interface RegistryRecord<T = Record<string, unknown>> extends Ancestry {
  kind: Kind;
  id: string;
  version: number;
  parentKey: string;
  sortKey: string;
  data: T;
  created?: string;
  modified?: string;
}

/** The gsi1 partition listing one kind of child of a parent (or of the sub-district itself). */
export const parentKeyOf = (
  subDistrictId: string,
  parent: { kind: Kind; id: string } | undefined,
  kind: Kind,
) => `SD#${subDistrictId}${parent === undefined ? '' : `#${parent.kind.toUpperCase()}#${parent.id}`}#${kind}`;

export const getRecord = async <T = Record<string, unknown>>(
  subDistrictId: string,
  kind: Kind,
  id: string,
): Promise<RegistryRecord<T> | undefined> => {
  const { Item } = await RegistryRecordEntity.build(GetItemCommand)
    .key({ kind, id, subDistrictId })
    .options({ consistent: true })
    .send();
  return Item as RegistryRecord<T> | undefined;
};

/** Creates a record; an existing id is a 409. */
export const createRecord = async <T>(
  record: Omit<RegistryRecord<T>, 'version'>,
): Promise<RegistryRecord<T>> => {
  const created = { ...record, version: 1 } as RegistryRecord<T>;
  try {
    await RegistryRecordEntity.build(PutItemCommand)
      .item(created as never)
      .options({ condition: { attr: 'id', exists: false } })
      .send();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException)
      throw new ConflictError(`${record.kind} ${record.id} already exists.`);
    throw error;
  }
  return created;
};

/** Replaces a record if it still has the version the caller read (optimistic concurrency); else 412. */
export const replaceRecord = async <T>(
  record: RegistryRecord<T>,
  expectedVersion: number,
): Promise<RegistryRecord<T>> => {
  const next = { ...record, version: expectedVersion + 1 };
  try {
    await RegistryRecordEntity.build(PutItemCommand)
      .item(next as never)
      .options({ condition: { attr: 'version', eq: expectedVersion } })
      .send();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new PreconditionFailedError();
    throw error;
  }
  return next;
};

/** Lists a parent's children of one kind in sort-key order, a page at a time. */
export const listRecords = async <T = Record<string, unknown>>(
  parentKey: string,
  options: { limit: number; startKey?: Record<string, unknown>; sortKeyPrefix?: string },
): Promise<{ items: RegistryRecord<T>[]; lastKey?: Record<string, unknown> }> => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(RegistryRecordEntity)
    .query({
      index: 'gsi1',
      partition: parentKey,
      ...(options.sortKeyPrefix ? { range: { beginsWith: options.sortKeyPrefix } } : {}),
    })
    .options({ limit: options.limit, exclusiveStartKey: options.startKey as never })
    .send();
  return { items: Items as RegistryRecord<T>[], lastKey: LastEvaluatedKey };
};

/** Every child of one kind (for imports that compare a whole area). */
export const listAllRecords = async <T = Record<string, unknown>>(
  parentKey: string,
): Promise<RegistryRecord<T>[]> => {
  const all: RegistryRecord<T>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await listRecords<T>(parentKey, { limit: 1000, startKey });
    all.push(...page.items);
    startKey = page.lastKey;
  } while (startKey !== undefined);
  return all;
};

/**
 * Writes many records, 25 per BatchWriteItem and several batches in flight; unprocessed items are
 * resent with backoff, and an error if some never get through. Used by imports, whose inputs were
 * fully validated first.
 */
export const putRecords = async (records: RegistryRecord[], concurrency = 16): Promise<void> => {
  const batches: RegistryRecord[][] = [];
  for (let i = 0; i < records.length; i += 25) batches.push(records.slice(i, i + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, batches.length) }, async () => {
      while (next < batches.length) {
        const batch = batches[next++] as RegistryRecord[];
        const command = CivicTable.build(BatchWriteCommand).requests(
          ...batch.map((record) => RegistryRecordEntity.build(BatchPutRequest).item(record as never)),
        );
        await writeBatch(command);
      }
    }),
  );
};

/**
 * The directory of devices by thing name, written when a device is registered: how ingest learns, from
 * a topic alone, whose device is speaking (sub-district, compound, zone, type) and whether it is active.
 */
export const DeviceDirectoryEntity = new Entity({
  name: 'DeviceDirectory',
  table: CivicTable,
  schema: item({
    thingName: string().key(),
    subDistrictId: string(),
    compoundId: string(),
    zoneId: string(),
    zoneKind: string(),
    areaId: string().optional(),
    type: string(),
    building: string().optional(),
    floor: number().optional(),
    position: any(),
    status: string(),
  }),
  computeKey: ({ thingName }) => ({ pk: `THING#${thingName}`, sk: 'DEVICE' }),
});

export interface DeviceDirectoryEntry {
  thingName: string;
  subDistrictId: string;
  compoundId: string;
  zoneId: string;
  zoneKind: string;
  areaId?: string;
  type: string;
  building?: string;
  floor?: number;
  position?: { lat: number; lon: number };
  status: 'active' | 'decommissioned';
}

export const putDeviceDirectory = async (entry: DeviceDirectoryEntry): Promise<void> => {
  await DeviceDirectoryEntity.build(PutItemCommand)
    .item(entry as never)
    .send();
};

export const getDeviceDirectory = async (thingName: string): Promise<DeviceDirectoryEntry | undefined> => {
  const { Item } = await DeviceDirectoryEntity.build(GetItemCommand).key({ thingName }).send();
  return Item as DeviceDirectoryEntry | undefined;
};
