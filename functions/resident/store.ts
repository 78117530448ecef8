/**
 * Where the resident code keeps its records in the single table. An area's partition holds its covenant
 * adoptions, its tuned ladders and its cases; a covenant's versions and an area's fee ledger have
 * partitions of their own. A covenant version and an adoption are written once; a case changes only if
 * it still has the revision its writer read, so a timer and a person acting at once never both win.
 */
import {
  any,
  BatchPutRequest,
  BatchWriteCommand,
  Entity,
  GetItemCommand,
  item,
  number,
  PutItemCommand,
  QueryCommand,
  string,
} from 'dynamodb-toolbox';
import { writeBatch } from '../shared/batch.js';
import { conditionally } from '../shared/conditional.js';
import { CivicTable } from '../shared/table.js';

export const ResidentRecordEntity = new Entity({
  name: 'ResidentRecord',
  table: CivicTable,
  schema: item({ pk: string().key(), sk: string().key(), rev: number().optional(), data: any() }),
});

const area = (sd: string, areaId: string) => `RESIDENT#${sd}#${areaId}`;

export const keys = {
  covenant: (sd: string, covenantId: string, version: number) => ({
    pk: `COVENANT#${sd}#${covenantId}`,
    sk: `V#${String(version).padStart(6, '0')}`,
  }),
  /** One vote adopts one covenant version once. */
  adoption: (sd: string, areaId: string, meetingId: string, matterId: string) => ({
    pk: area(sd, areaId),
    sk: `ADOPT#${meetingId}#${matterId}`,
  }),
  ladder: (sd: string, areaId: string, caseType: string) => ({
    pk: area(sd, areaId),
    sk: `LADDER#${caseType}`,
  }),
  case: (sd: string, areaId: string, caseId: string) => ({ pk: area(sd, areaId), sk: `CASE#${caseId}` }),
  ledger: (sd: string, areaId: string, unitId: string) => ({
    pk: `LEDGER#${sd}#${areaId}`,
    sk: `UNIT#${unitId}`,
  }),
  ledgerPartition: (sd: string, areaId: string) => `LEDGER#${sd}#${areaId}`,
  areaPartition: area,
};

type Key = { pk: string; sk: string };

export const getData = async <T>(key: Key): Promise<{ data: T; rev: number } | undefined> => {
  const { Item } = await ResidentRecordEntity.build(GetItemCommand)
    .key(key)
    .options({ consistent: true })
    .send();
  return Item === undefined ? undefined : { data: Item.data as T, rev: Item.rev ?? 0 };
};

/** Writes a record once; false if its key is taken. */
export const putOnce = (key: Key, data: unknown) =>
  conditionally(() =>
    ResidentRecordEntity.build(PutItemCommand)
      .item({ ...key, rev: 1, data })
      .options({ condition: { attr: 'pk', exists: false } })
      .send(),
  );

/** Replaces a record if it still has revision `rev` (0: if it does not exist); false if someone was first. */
export const putAtRevision = (key: Key, data: unknown, rev: number) =>
  conditionally(() =>
    ResidentRecordEntity.build(PutItemCommand)
      .item({ ...key, rev: rev + 1, data })
      .options({ condition: rev === 0 ? { attr: 'pk', exists: false } : { attr: 'rev', eq: rev } })
      .send(),
  );

/** Every record of a partition whose sort key starts with the prefix. */
export const listData = async <T>(
  pk: string,
  prefix = '',
): Promise<{ sk: string; rev: number; data: T }[]> => {
  const all: { sk: string; rev: number; data: T }[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
      .entities(ResidentRecordEntity)
      .query({ partition: pk, ...(prefix === '' ? {} : { range: { beginsWith: prefix } }) })
      .options({ consistent: true, exclusiveStartKey: startKey as never })
      .send();
    all.push(...Items.map((found) => ({ sk: found.sk, rev: found.rev ?? 0, data: found.data as T })));
    startKey = LastEvaluatedKey;
  } while (startKey !== undefined);
  return all;
};

/**
 * Writes many records (an imported ledger's new or changed rows), 25 per BatchWriteItem with retries
 * (shared/batch.ts); the rows were all validated first.
 */
export const putMany = async (records: { key: Key; data: unknown }[]): Promise<void> => {
  for (let i = 0; i < records.length; i += 25) {
    await writeBatch(
      CivicTable.build(BatchWriteCommand).requests(
        ...records
          .slice(i, i + 25)
          .map(({ key, data }) => ResidentRecordEntity.build(BatchPutRequest).item({ ...key, rev: 1, data })),
      ),
    );
  }
};
