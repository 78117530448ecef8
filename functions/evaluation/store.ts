/**
 * Where the evaluation feature keeps its records in the single table. A cycle's partition holds the
 * cycle, its assignments, every evaluator's score sheet, the finalised results and the fund; custom
 * indicator systems, an evaluator's assignments (so an evaluator reads only its own) and an area's
 * disclosures have partitions of their own. Everything that is decided once is written once, with a
 * condition.
 */
import { any, Entity, GetItemCommand, item, PutItemCommand, QueryCommand, string } from 'dynamodb-toolbox';
import { conditionally } from '../shared/conditional.js';
import { CivicTable } from '../shared/table.js';

export const EvaluationRecordEntity = new Entity({
  name: 'EvaluationRecord',
  table: CivicTable,
  schema: item({ pk: string().key(), sk: string().key(), data: any() }),
});

export const keys = {
  system: (sd: string, systemId: string, version: number) => ({
    pk: `INDSYS#${sd}#${systemId}`,
    sk: `V#${String(version).padStart(6, '0')}`,
  }),
  cycle: (sd: string, cycleId: string) => ({ pk: `EVALCYCLE#${sd}#${cycleId}`, sk: 'CYCLE' }),
  assignment: (sd: string, cycleId: string, committeeId: string, evaluatorId: string) => ({
    pk: `EVALCYCLE#${sd}#${cycleId}`,
    sk: `ASSIGN#${committeeId}#${evaluatorId}`,
  }),
  evaluatorAssignment: (sd: string, evaluatorId: string, cycleId: string, committeeId: string) => ({
    pk: `EVALUATOR#${sd}#${evaluatorId}`,
    sk: `${cycleId}#${committeeId}`,
  }),
  sheet: (sd: string, cycleId: string, committeeId: string, evaluatorId: string) => ({
    pk: `EVALCYCLE#${sd}#${cycleId}`,
    sk: `SHEET#${committeeId}#${evaluatorId}`,
  }),
  result: (sd: string, cycleId: string, committeeId: string) => ({
    pk: `EVALCYCLE#${sd}#${cycleId}`,
    sk: `RESULT#${committeeId}`,
  }),
  fund: (sd: string, cycleId: string) => ({ pk: `EVALCYCLE#${sd}#${cycleId}`, sk: 'FUND' }),
  disclosure: (sd: string, areaId: string, kind: string, postedAt: string) => ({
    pk: `DISCLOSURE#${sd}#${areaId}`,
    sk: `${kind}#${postedAt}`,
  }),
};

type Key = { pk: string; sk: string };

export const getData = async <T>(key: Key): Promise<T | undefined> => {
  const { Item } = await EvaluationRecordEntity.build(GetItemCommand)
    .key(key)
    .options({ consistent: true })
    .send();
  return Item?.data as T | undefined;
};

/** Writes a record once; false if its key is taken. */
export const putOnce = (key: Key, data: unknown) =>
  conditionally(() =>
    EvaluationRecordEntity.build(PutItemCommand)
      .item({ ...key, data })
      .options({ condition: { attr: 'pk', exists: false } })
      .send(),
  );

/** Writes (or replaces) a record: a score sheet changes until its committee's result is final. */
export const put = async (key: Key, data: unknown) => {
  await EvaluationRecordEntity.build(PutItemCommand)
    .item({ ...key, data })
    .send();
};

/** Every record of a partition whose sort key starts with the prefix. */
export const listData = async <T>(pk: string, prefix = ''): Promise<{ sk: string; data: T }[]> => {
  const all: { sk: string; data: T }[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
      .entities(EvaluationRecordEntity)
      .query({ partition: pk, ...(prefix === '' ? {} : { range: { beginsWith: prefix } }) })
      .options({ consistent: true, exclusiveStartKey: startKey as never })
      .send();
    all.push(...Items.map((found) => ({ sk: found.sk, data: found.data as T })));
    startKey = LastEvaluatedKey;
  } while (startKey !== undefined);
  return all;
};
