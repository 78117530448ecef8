import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  any,
  BatchDeleteRequest,
  BatchWriteCommand,
  Entity,
  PutItemCommand as EntityPutItemCommand,
  GetItemCommand,
  item,
  number,
  QueryCommand,
  string,
} from 'dynamodb-toolbox';
import { type AttributeMap, getItems, putItems, writeBatch } from '../shared/batch.js';
import { MARSHALL_OPTIONS, rawDynamoDbClient } from '../shared/clients.js';
import { CivicTable } from '../shared/table.js';
import type { IngestDecision } from './domain.js';

const DAY_SECONDS = 86_400;
const TELEMETRY_RETENTION_DAYS = 90;
const REJECTED_RETENTION_DAYS = 30;
/** Enough of a bad payload to diagnose it, never enough to fill the table. */
const MAX_REJECTED_PAYLOAD_BYTES = 4_096;

interface TableKey {
  pk: string;
  sk: string;
}
const telemetryKey = (t: { thingName: string; observedAt: string; messageId: string }): TableKey => ({
  pk: `THING#${t.thingName}`,
  sk: `TEL#${t.observedAt}#${t.messageId}`,
});
const rejectedKey = (r: { compoundId: string; receivedAt: string; messageId: string }): TableKey => ({
  pk: `REJECTED#${r.compoundId}`,
  sk: `${r.receivedAt}#${r.messageId}`,
});
const conditionTableKey = (c: { thingName: string; scenarioId: string }): TableKey => ({
  pk: `THING#${c.thingName}`,
  sk: `COND#${c.scenarioId}`,
});
const violationKey = ({ violationId }: { violationId: string }): TableKey => ({
  pk: `VIOLATION#${violationId}`,
  sk: 'VIOLATION',
});
const seenKey = (c: { thingName: string; scenarioId: string }): TableKey => ({
  pk: `THING#${c.thingName}`,
  sk: `SEEN#${c.scenarioId}`,
});

export const TelemetryEntity = new Entity({
  name: 'Telemetry',
  table: CivicTable,
  schema: item({
    thingName: string().key(),
    observedAt: string().key(),
    messageId: string().key(),
    compoundId: string(),
    signal: string(),
    receivedAt: string(),
    seq: number().optional(),
    fields: any(),
    expiresAt: number(),
  }),
  computeKey: telemetryKey,
});

export const RejectedTelemetryEntity = new Entity({
  name: 'RejectedTelemetry',
  table: CivicTable,
  schema: item({
    compoundId: string().key(),
    receivedAt: string().key(),
    messageId: string().key(),
    clientId: string(),
    topic: string().optional(),
    reason: string(),
    payloadBase64: string(),
    expiresAt: number(),
  }),
  computeKey: rejectedKey,
});

/** The same delivery always yields the same id, so at-least-once redeliveries overwrite nothing. */
export const messageIdOf = (clientId: string, topic: string, payloadBase64: string): string =>
  createHash('sha256').update(`${clientId}\n${topic}\n${payloadBase64}`).digest('hex').slice(0, 24);

const expiry = (days: number) => Math.floor(Date.now() / 1000) + days * DAY_SECONDS;

export interface IngestRecord {
  decision: IngestDecision;
  meta: { clientId: string; topic: string; payloadBase64: string };
}

/**
 * An item exactly as dynamodb-toolbox writes it for `entity` (its name attribute and its created and
 * modified timestamps), marshalled. The ingest hot path, run for every device message, builds its items
 * here rather than through the entities' parsers, whose CPU cost was larger than the rest of the batch
 * call's; store.test.ts checks each of these items against the toolbox's own, and everything else reads
 * and writes them through the entities.
 */
const entityItem = (entity: { entityName: string }, key: TableKey, attributes: object, now: string) =>
  marshall(
    { ...attributes, [CivicTable.entityAttributeSavedAs]: entity.entityName, _ct: now, _md: now, ...key },
    MARSHALL_OPTIONS,
  );

export const ingestItem = ({ decision, meta }: IngestRecord, messageId: string, now: string) => {
  if (decision.kind === 'accepted') {
    const telemetry = {
      thingName: decision.thingName,
      observedAt: decision.observedAt,
      messageId,
      compoundId: decision.compoundId,
      signal: decision.signal,
      receivedAt: decision.receivedAt,
      seq: decision.seq,
      fields: decision.fields,
      expiresAt: expiry(TELEMETRY_RETENTION_DAYS),
    };
    return entityItem(TelemetryEntity, telemetryKey(telemetry), telemetry, now);
  }
  const payload = Buffer.from(meta.payloadBase64, 'base64').subarray(0, MAX_REJECTED_PAYLOAD_BYTES);
  const rejected = {
    compoundId: decision.compoundId,
    receivedAt: decision.receivedAt,
    messageId,
    clientId: meta.clientId,
    topic: meta.topic,
    reason: decision.reason,
    payloadBase64: payload.toString('base64'),
    expiresAt: expiry(REJECTED_RETENTION_DAYS),
  };
  return entityItem(RejectedTelemetryEntity, rejectedKey(rejected), rejected, now);
};

/** The table key an ingest record lands on: a redelivery (of the broker or the queue) has the same key. */
const ingestKey = ({ decision }: IngestRecord, messageId: string) =>
  decision.kind === 'accepted'
    ? `T/${decision.thingName}/${decision.observedAt}/${messageId}`
    : `R/${decision.compoundId}/${decision.receivedAt}/${messageId}`;

export const seenItem = (watermark: Seen, now: string) =>
  entityItem(
    SeenEntity,
    seenKey(watermark),
    {
      thingName: watermark.thingName,
      scenarioId: watermark.scenarioId,
      lastObservedAt: watermark.lastObservedAt,
      lastSeq: watermark.lastSeq,
    },
    now,
  );

/**
 * Stores a batch of device messages (telemetry or rejected) with BatchWriteItem, 25 per request, with
 * the watermarks the batch moved on (`seen`). Keys derive from the message, so a redelivered message
 * overwrites itself with the same content: stored once however often it arrives. A batch may hold one
 * message twice, which one request may not: those are written once.
 */
export const recordIngestBatch = async (records: IngestRecord[], seen: Seen[] = []): Promise<void> => {
  const now = new Date().toISOString();
  const byKey = new Map<string, AttributeMap>();
  for (const record of records) {
    const { clientId, topic, payloadBase64 } = record.meta;
    const messageId = messageIdOf(clientId, topic, payloadBase64);
    byKey.set(ingestKey(record, messageId), ingestItem(record, messageId, now));
  }
  for (const watermark of seen) byKey.set(`S/${conditionKey(watermark)}`, seenItem(watermark, now));
  const items = [...byKey.values()];
  const writes = [];
  for (let i = 0; i < items.length; i += 25) writes.push(putItems(items.slice(i, i + 25)));
  await Promise.all(writes);
};

/** Newest first. */
export const listTelemetry = async (thingName: string, limit: number, startKey?: Record<string, unknown>) => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(TelemetryEntity)
    .query({ partition: `THING#${thingName}`, range: { beginsWith: 'TEL#' } })
    .options({ reverse: true, limit, exclusiveStartKey: startKey as never })
    .send();
  return { items: Items, lastKey: LastEvaluatedKey };
};

export const listRejectedTelemetry = async (
  compoundId: string,
  limit: number,
  startKey?: Record<string, unknown>,
) => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(RejectedTelemetryEntity)
    .query({ partition: `REJECTED#${compoundId}` })
    .options({ reverse: true, limit, exclusiveStartKey: startKey as never })
    .send();
  return { items: Items, lastKey: LastEvaluatedKey };
};

/**
 * Storage of the closed loop: per (thing, scenario) condition state, violations (with their work
 * orders), and per-compound scenario overrides. Every write that follows a read is conditional on the
 * version read, so concurrent and repeated deliveries cannot both win.
 */
export const ConditionEntity = new Entity({
  name: 'Condition',
  table: CivicTable,
  schema: item({
    thingName: string().key(),
    scenarioId: string().key(),
    state: any(),
    version: number(),
    /** Absence scenarios: when silence would open a case; also indexed (gsi1) for the sweep. */
    dueAt: string().optional(),
    dueList: string().optional().savedAs('gsi1pk'),
    dueKey: string().optional().savedAs('gsi1sk'),
  }),
  computeKey: conditionTableKey,
});

/**
 * The latest message a (thing, scenario) condition has seen when that message changed nothing: kept
 * apart from the condition so it can be written blind, in the batch that stores the telemetry, instead
 * of one conditional write per message. Ingest reads it with the condition and takes the later of the
 * two (`withWatermark`), so a message older than one already seen never acts.
 */
export const SeenEntity = new Entity({
  name: 'ConditionSeen',
  table: CivicTable,
  schema: item({
    thingName: string().key(),
    scenarioId: string().key(),
    lastObservedAt: string(),
    lastSeq: number().optional(),
  }),
  computeKey: seenKey,
});

/**
 * Deletes every condition and watermark kept under a thing name. Thing names are reused after a device
 * is decommissioned; a device registered under one must start with none of the earlier device's state
 * (an open episode, a watermark that would make its first messages look stale).
 */
export const clearConditions = async (thingName: string): Promise<number> => {
  const keys: { entity: 'Condition' | 'ConditionSeen'; scenarioId: string }[] = [];
  let exclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
      .entities(ConditionEntity, SeenEntity)
      .query({ partition: `THING#${thingName}` })
      .options({ consistent: true, showEntityAttr: true, exclusiveStartKey: exclusiveStartKey as never })
      .send();
    for (const found of Items as { entity: 'Condition' | 'ConditionSeen'; scenarioId: string }[])
      keys.push({ entity: found.entity, scenarioId: found.scenarioId });
    exclusiveStartKey = LastEvaluatedKey;
  } while (exclusiveStartKey !== undefined);
  for (let i = 0; i < keys.length; i += 25) {
    const requests = keys
      .slice(i, i + 25)
      .map(({ entity, scenarioId }) =>
        entity === 'Condition'
          ? ConditionEntity.build(BatchDeleteRequest).key({ thingName, scenarioId })
          : SeenEntity.build(BatchDeleteRequest).key({ thingName, scenarioId }),
      );
    await writeBatch(CivicTable.build(BatchWriteCommand).requests(...requests));
  }
  return keys.length;
};

export interface Seen {
  thingName: string;
  scenarioId: string;
  lastObservedAt: string;
  lastSeq?: number;
}

const toSeen = (item: Record<string, unknown>): Seen => ({
  thingName: item.thingName as string,
  scenarioId: item.scenarioId as string,
  lastObservedAt: item.lastObservedAt as string,
  ...(item.lastSeq === undefined ? {} : { lastSeq: item.lastSeq as number }),
});

/** The gsi1 partition of every absence condition that is waiting for silence. */
const ABSENCE_DUE = 'ABSENCE-DUE';

export const ViolationEntity = new Entity({
  name: 'Violation',
  table: CivicTable,
  schema: item({
    violationId: string().key(),
    subDistrictId: string(),
    compoundId: string(),
    listKey: string().savedAs('gsi1pk'),
    updatedKey: string().savedAs('gsi1sk'),
    violation: any(),
    workOrders: any(),
    version: number(),
  }),
  computeKey: violationKey,
});

export const ScenarioOverrideEntity = new Entity({
  name: 'ScenarioOverride',
  table: CivicTable,
  schema: item({
    subDistrictId: string().key(),
    compoundId: string().key(),
    scenarioId: string().key(),
    override: any(),
    version: number(),
  }),
  computeKey: ({ subDistrictId, compoundId, scenarioId }) => ({
    pk: `SCENARIOS#${subDistrictId}#${compoundId}`,
    sk: scenarioId,
  }),
});

export class StaleWriteError extends Error {
  override name = 'StaleWriteError';
}

const conditional = async (command: { send(): Promise<unknown> }) => {
  try {
    await command.send();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException)
      throw new StaleWriteError('The record changed meanwhile');
    throw error;
  }
};

export interface StoredCondition<S> {
  state: S;
  version: number;
  dueAt?: string;
}

type StoredItem = { state: unknown; version: number; dueAt?: string };

/** A stored condition item as the loop sees it. */
const toStored = <S>(item: StoredItem): StoredCondition<S> => ({
  state: item.state as S,
  version: item.version,
  ...(item.dueAt === undefined ? {} : { dueAt: item.dueAt }),
});

export const getCondition = async <S>(
  thingName: string,
  scenarioId: string,
): Promise<StoredCondition<S> | undefined> => {
  const { Item } = await ConditionEntity.build(GetItemCommand)
    .key({ thingName, scenarioId })
    .options({ consistent: true })
    .send();
  return Item === undefined ? undefined : toStored<S>(Item);
};

/**
 * Reads many conditions at once, strongly consistent, by `conditionKey`: one BatchGetItem per 100
 * items, and with `withSeen` each condition's kept-apart watermark beside it (two items per key). This
 * is on the ingest hot path: the items are unmarshalled here, not formatted by the toolbox (see
 * `entityItem`), and only the attributes the loop uses are taken.
 */
const readConditions = async <S>(
  keys: { thingName: string; scenarioId: string }[],
  withSeen: boolean,
): Promise<Map<string, { stored?: StoredCondition<S>; seen?: Seen }>> => {
  const found = new Map<string, { stored?: StoredCondition<S>; seen?: Seen }>();
  const unique = [...new Map(keys.map((key) => [conditionKey(key), key])).values()];
  const perRequest = withSeen ? 50 : 100;
  const reads = [];
  for (let i = 0; i < unique.length; i += perRequest) {
    const slice = unique.slice(i, i + perRequest);
    const tableKeys = slice.flatMap((key) =>
      withSeen ? [conditionTableKey(key), seenKey(key)] : [conditionTableKey(key)],
    );
    reads.push(
      getItems(
        tableKeys.map((key) => marshall(key)),
        { consistent: true },
      ).then((items) => ({ slice, items })),
    );
  }
  for (const { slice, items } of await Promise.all(reads)) {
    // Items follow the keys: per key its condition, then (withSeen) its watermark.
    slice.forEach((key, index) => {
      const condition = items[withSeen ? 2 * index : index];
      const seen = withSeen ? items[2 * index + 1] : undefined;
      found.set(conditionKey(key), {
        ...(condition === undefined ? {} : { stored: toStored<S>(unmarshall(condition) as StoredItem) }),
        ...(seen === undefined ? {} : { seen: toSeen(unmarshall(seen)) }),
      });
    });
  }
  return found;
};

/** Reads many conditions at once (BatchGetItem, strongly consistent), by `conditionKey`. */
export const getConditions = async <S>(
  keys: { thingName: string; scenarioId: string }[],
): Promise<Map<string, StoredCondition<S>>> => {
  const found = new Map<string, StoredCondition<S>>();
  for (const [key, { stored }] of await readConditions<S>(keys, false))
    if (stored !== undefined) found.set(key, stored);
  return found;
};

/** Reads many conditions with their kept-apart watermarks at once, by `conditionKey`. */
export const getConditionsSeen = <S>(keys: { thingName: string; scenarioId: string }[]) =>
  readConditions<S>(keys, true);

export const conditionKey = ({ thingName, scenarioId }: { thingName: string; scenarioId: string }) =>
  `${thingName}/${scenarioId}`;

/** A condition item as the toolbox writes it (ConditionEntity), marshalled. */
export const conditionItem = (
  thingName: string,
  scenarioId: string,
  state: unknown,
  version: number,
  dueAt: string | undefined,
  now: string,
) =>
  entityItem(
    ConditionEntity,
    conditionTableKey({ thingName, scenarioId }),
    {
      thingName,
      scenarioId,
      state,
      version,
      ...(dueAt === undefined
        ? {}
        : { dueAt, gsi1pk: ABSENCE_DUE, gsi1sk: `${dueAt}#${thingName}#${scenarioId}` }),
    },
    now,
  );

/**
 * Puts a marshalled item if it is new (expectedVersion 0: no item at its key) or if its stored version
 * is still `expectedVersion`; otherwise StaleWriteError.
 */
const putVersioned = (item: AttributeMap, expectedVersion: number) =>
  conditional({
    send: () =>
      rawDynamoDbClient().send(
        new PutItemCommand({
          TableName: CivicTable.getName(),
          Item: item,
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :version',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': { N: String(expectedVersion) } },
              }),
        }),
      ),
  });

/**
 * Writes the next condition state if nobody wrote since `expectedVersion` (0 = never written). With
 * `dueAt` the condition is listed for the absence sweep until then; without, it is not listed. A case
 * opens behind this write, so it builds its item itself (`entityItem`) and skips the toolbox's parser,
 * as the ingest hot path does: Node CPU per write, warm, 1.0–1.2 ms against 2.0 through the toolbox.
 */
export const putCondition = async <S>(
  thingName: string,
  scenarioId: string,
  state: S,
  expectedVersion: number,
  dueAt?: string,
) =>
  putVersioned(
    conditionItem(thingName, scenarioId, state, expectedVersion + 1, dueAt, new Date().toISOString()),
    expectedVersion,
  );

/** Absence conditions due by `now`, earliest first (one page: the sweep runs again soon). */
export const listDueAbsences = async (now: string, limit: number) => {
  const { Items = [] } = await CivicTable.build(QueryCommand)
    .entities(ConditionEntity)
    .query({ index: 'gsi1', partition: ABSENCE_DUE, range: { lte: `${now}#\uffff` } })
    .options({ limit })
    .send();
  return Items.map(({ thingName, scenarioId }) => ({ thingName, scenarioId }));
};

export interface StoredViolation<V, W> {
  violationId: string;
  subDistrictId: string;
  compoundId: string;
  violation: V;
  workOrders: W[];
  version: number;
}

export const getViolation = async <V, W>(violationId: string): Promise<StoredViolation<V, W> | undefined> => {
  const { Item } = await ViolationEntity.build(GetItemCommand)
    .key({ violationId })
    .options({ consistent: true })
    .send();
  return Item as StoredViolation<V, W> | undefined;
};

/** A violation item as the toolbox writes it (ViolationEntity), marshalled. */
export const violationItem = <V, W>(
  record: Omit<StoredViolation<V, W>, 'version'>,
  version: number,
  updatedAt: string,
  now: string,
) =>
  entityItem(
    ViolationEntity,
    violationKey(record),
    {
      violationId: record.violationId,
      subDistrictId: record.subDistrictId,
      compoundId: record.compoundId,
      gsi1pk: `VIOLATIONS#${record.subDistrictId}`,
      gsi1sk: `${updatedAt}#${record.violationId}`,
      violation: record.violation,
      workOrders: record.workOrders,
      version,
    },
    now,
  );

/**
 * Creates (expectedVersion 0) or replaces a violation; listed per sub-district by last change. Built by
 * hand like a condition (`violationItem`): a case's opening write is on the way to the handheld.
 */
export const putViolation = async <V, W>(
  record: Omit<StoredViolation<V, W>, 'version'>,
  expectedVersion: number,
  updatedAt: string,
) =>
  putVersioned(
    violationItem(record, expectedVersion + 1, updatedAt, new Date().toISOString()),
    expectedVersion,
  );

/** Violations of a sub-district changed at or after `since`, oldest change first (for polling). */
export const listViolations = async <V, W>(
  subDistrictId: string,
  options: { since?: string; limit: number; startKey?: Record<string, unknown> },
) => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(ViolationEntity)
    .query({
      index: 'gsi1',
      partition: `VIOLATIONS#${subDistrictId}`,
      ...(options.since ? { range: { gte: options.since } } : {}),
    })
    .options({ limit: options.limit, exclusiveStartKey: options.startKey as never })
    .send();
  return { items: Items as unknown as StoredViolation<V, W>[], lastKey: LastEvaluatedKey };
};

export const getOverrides = async (subDistrictId: string, compoundId: string) => {
  const { Items = [] } = await CivicTable.build(QueryCommand)
    .entities(ScenarioOverrideEntity)
    .query({ partition: `SCENARIOS#${subDistrictId}#${compoundId}` })
    .send();
  return new Map(
    Items.map((entry) => [
      entry.scenarioId,
      { override: entry.override as Record<string, unknown>, version: entry.version },
    ]),
  );
};

export const putOverride = async (
  subDistrictId: string,
  compoundId: string,
  scenarioId: string,
  override: unknown,
  expectedVersion: number,
) =>
  conditional(
    ScenarioOverrideEntity.build(EntityPutItemCommand)
      .item({ subDistrictId, compoundId, scenarioId, override, version: expectedVersion + 1 })
      .options({
        condition:
          expectedVersion === 0
            ? { attr: 'scenarioId', exists: false }
            : { attr: 'version', eq: expectedVersion },
      }),
  );
