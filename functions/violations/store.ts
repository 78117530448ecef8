import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { any, Entity, item, number, PutItemCommand, QueryCommand, string } from 'dynamodb-toolbox';
import { decodeCursor, encodeCursor } from '../shared/pagination.js';
import { CivicTable } from '../shared/table.js';
import type { IngestDecision } from './domain.js';

const DAY_SECONDS = 86_400;
const TELEMETRY_RETENTION_DAYS = 90;
const REJECTED_RETENTION_DAYS = 30;
/** Enough of a bad payload to diagnose it, never enough to fill the table. */
const MAX_REJECTED_PAYLOAD_BYTES = 4_096;

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
  computeKey: ({ thingName, observedAt, messageId }) => ({
    pk: `THING#${thingName}`,
    sk: `TEL#${observedAt}#${messageId}`,
  }),
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
  computeKey: ({ compoundId, receivedAt, messageId }) => ({
    pk: `REJECTED#${compoundId}`,
    sk: `${receivedAt}#${messageId}`,
  }),
});

/** The same delivery always yields the same id, so at-least-once redeliveries overwrite nothing. */
export const messageIdOf = (clientId: string, topic: string, payloadBase64: string): string =>
  createHash('sha256').update(`${clientId}\n${topic}\n${payloadBase64}`).digest('hex').slice(0, 24);

const expiry = (days: number) => Math.floor(Date.now() / 1000) + days * DAY_SECONDS;

const putOnce = async (command: { send(): Promise<unknown> }): Promise<boolean> => {
  try {
    await command.send();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
};

/** Stores the outcome of one device message; returns false when it was a redelivery already stored. */
export const recordIngest = async (
  decision: IngestDecision,
  meta: { clientId: string; topic: string; payloadBase64: string },
): Promise<boolean> => {
  const messageId = messageIdOf(meta.clientId, meta.topic, meta.payloadBase64);
  if (decision.kind === 'accepted') {
    return putOnce(
      TelemetryEntity.build(PutItemCommand)
        .item({
          thingName: decision.thingName,
          observedAt: decision.observedAt,
          messageId,
          compoundId: decision.compoundId,
          signal: decision.signal,
          receivedAt: decision.receivedAt,
          seq: decision.seq,
          fields: decision.fields,
          expiresAt: expiry(TELEMETRY_RETENTION_DAYS),
        })
        .options({ condition: { attr: 'messageId', exists: false } }),
    );
  }
  const payload = Buffer.from(meta.payloadBase64, 'base64').subarray(0, MAX_REJECTED_PAYLOAD_BYTES);
  return putOnce(
    RejectedTelemetryEntity.build(PutItemCommand)
      .item({
        compoundId: decision.compoundId,
        receivedAt: decision.receivedAt,
        messageId,
        clientId: meta.clientId,
        topic: meta.topic,
        reason: decision.reason,
        payloadBase64: payload.toString('base64'),
        expiresAt: expiry(REJECTED_RETENTION_DAYS),
      })
      .options({ condition: { attr: 'messageId', exists: false } }),
  );
};

/** Newest first. */
export const listTelemetry = async (thingName: string, limit: number, cursor?: string) => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(TelemetryEntity)
    .query({ partition: `THING#${thingName}`, range: { beginsWith: 'TEL#' } })
    .options({ reverse: true, limit, exclusiveStartKey: decodeCursor(cursor) as never })
    .send();
  return { items: Items, nextCursor: encodeCursor(LastEvaluatedKey) };
};

export const listRejectedTelemetry = async (compoundId: string, limit: number, cursor?: string) => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(RejectedTelemetryEntity)
    .query({ partition: `REJECTED#${compoundId}` })
    .options({ reverse: true, limit, exclusiveStartKey: decodeCursor(cursor) as never })
    .send();
  return { items: Items, nextCursor: encodeCursor(LastEvaluatedKey) };
};
