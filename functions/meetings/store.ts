/**
 * Where a meeting's records live in the single table, and the reads and writes of them.
 *
 * One meeting item (its matters embedded) plus, per meeting, partitions of its own: the frozen roll and
 * the ballots are spread over SHARDS partitions by roll entry, so that 10,000 owners voting at once do
 * not all write one partition (a DynamoDB partition takes about 1,000 writes a second) and the tally
 * reads them in parallel; an owner's entries are found through a small index partition per owner. A
 * roll entry's final ballots and their history share its shard, so one Query reads them. Final ballots
 * have one key per entry, matter and channel: two concurrent casts cannot leave two final ballots.
 */
import { createHash } from 'node:crypto';
import {
  $add,
  any,
  BatchPutRequest,
  BatchWriteCommand,
  boolean,
  ConditionCheck,
  Entity,
  executeTransactWrite,
  GetItemCommand,
  item,
  list,
  number,
  PutItemCommand,
  PutTransaction,
  QueryCommand,
  string,
  UpdateTransaction,
} from 'dynamodb-toolbox';
import { writeBatch } from '../shared/batch.js';
import { conditionally } from '../shared/conditional.js';
import { CivicTable } from '../shared/table.js';
import type { DeliveryChannel, FinalBallot, Meeting, MeetingRules, MeetingStatus, Voter } from './domain.js';

/** Partitions a meeting's roll and ballots are spread over. */
export const SHARDS = 16;
export const shardOf = (voterId: string): number =>
  (createHash('sha256').update(voterId).digest()[0] as number) % SHARDS;

/** What the table adds to an item (keys, index keys, entity name, timestamps), left out of what callers get. */
const STORAGE_ATTRIBUTES = new Set(['pk', 'sk', 'entity', 'listKey', 'listSort', 'created', 'modified']);
const fromItem = <T>(found: Record<string, unknown>): T =>
  Object.fromEntries(Object.entries(found).filter(([name]) => !STORAGE_ATTRIBUTES.has(name))) as T;

const meetingKey = (subDistrictId: string, meetingId: string) => `MEETING#${subDistrictId}#${meetingId}`;
const areaMeetings = (subDistrictId: string, areaId: string) => `SD#${subDistrictId}#AREA#${areaId}#meeting`;

export const MeetingEntity = new Entity({
  name: 'Meeting',
  table: CivicTable,
  schema: item({
    subDistrictId: string().key(),
    meetingId: string().key(),
    compoundId: string().optional(),
    areaId: string(),
    title: string(),
    format: string(),
    venue: string().optional(),
    kind: string(),
    petitionId: string().optional(),
    rules: any(),
    noticePostedAt: string(),
    noticedBy: string(),
    votingOpensAt: string(),
    votingClosesAt: string(),
    matters: any(),
    status: string(),
    roll: any().optional(),
    freezeId: string().optional(),
    closedAt: string().optional(),
    merkleRoot: string().optional(),
    notified: list(string()).optional(),
    version: number(),
    listKey: string().savedAs('gsi1pk'),
    listSort: string().savedAs('gsi1sk'),
  }),
  computeKey: ({ subDistrictId, meetingId }) => ({ pk: meetingKey(subDistrictId, meetingId), sk: 'MEETING' }),
});

/** A meeting as stored: the domain's meeting plus what only the store needs. */
export type StoredMeeting = Meeting & { freezeId?: string; notified?: string[] };

const toMeeting = (found: Record<string, unknown>): StoredMeeting => fromItem<StoredMeeting>(found);

export const getMeeting = async (
  subDistrictId: string,
  meetingId: string,
): Promise<StoredMeeting | undefined> => {
  const { Item } = await MeetingEntity.build(GetItemCommand)
    .key({ subDistrictId, meetingId })
    .options({ consistent: true })
    .send();
  return Item === undefined ? undefined : toMeeting(Item as Record<string, unknown>);
};

const stored = (meeting: StoredMeeting) => ({
  ...meeting,
  listKey: areaMeetings(meeting.subDistrictId, meeting.areaId),
  listSort: `${meeting.votingOpensAt}#${meeting.meetingId}`,
});

/** Thrown when a write lost to another: an id taken, a version or status that moved meanwhile. */
export class WriteConflictError extends Error {
  override name = 'WriteConflictError';
}

/** Creates a meeting; an existing id is a WriteConflictError. */
export const createMeeting = async (meeting: StoredMeeting): Promise<void> => {
  const written = await conditionally(() =>
    MeetingEntity.build(PutItemCommand)
      .item(stored(meeting) as never)
      .options({ condition: { attr: 'meetingId', exists: false } })
      .send(),
  );
  if (!written) throw new WriteConflictError('meeting exists');
};

/** Replaces a meeting if it still has the version and status it was read with. */
export const replaceMeeting = async (
  next: StoredMeeting,
  expected: { version: number; status?: MeetingStatus },
) => {
  const written = await conditionally(() =>
    MeetingEntity.build(PutItemCommand)
      .item(stored({ ...next, version: expected.version + 1 }) as never)
      .options({
        condition:
          expected.status === undefined
            ? { attr: 'version', eq: expected.version }
            : {
                and: [
                  { attr: 'version', eq: expected.version },
                  { attr: 'status', eq: expected.status },
                ],
              },
      })
      .send(),
  );
  if (!written) throw new WriteConflictError('meeting changed');
  return { ...next, version: expected.version + 1 };
};

export const listMeetings = async (
  subDistrictId: string,
  areaId: string,
  page: { limit: number; exclusiveStartKey?: Record<string, unknown> },
) => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(MeetingEntity)
    .query({ index: 'gsi1', partition: areaMeetings(subDistrictId, areaId) })
    .options({ limit: page.limit, exclusiveStartKey: page.exclusiveStartKey as never })
    .send();
  return {
    items: Items.map((found) => toMeeting(found as Record<string, unknown>)),
    lastKey: LastEvaluatedKey,
  };
};

// ---------------------------------------------------------------------------------------------------
// Rules of procedure

export const MeetingRulesEntity = new Entity({
  name: 'MeetingRules',
  table: CivicTable,
  schema: item({
    subDistrictId: string().key(),
    areaId: string().key(),
    rules: any(),
    updatedBy: string(),
  }),
  computeKey: ({ subDistrictId, areaId }) => ({ pk: `MEETINGRULES#${subDistrictId}#${areaId}`, sk: 'RULES' }),
});

export const getMeetingRules = async (
  subDistrictId: string,
  areaId: string,
): Promise<MeetingRules | undefined> => {
  const { Item } = await MeetingRulesEntity.build(GetItemCommand).key({ subDistrictId, areaId }).send();
  return Item?.rules as MeetingRules | undefined;
};

export const putMeetingRules = async (
  subDistrictId: string,
  areaId: string,
  rules: MeetingRules,
  by: string,
) => {
  await MeetingRulesEntity.build(PutItemCommand).item({ subDistrictId, areaId, rules, updatedBy: by }).send();
};

// ---------------------------------------------------------------------------------------------------
// The frozen roll

const rollPartition = (subDistrictId: string, meetingId: string, shard: number) =>
  `${meetingKey(subDistrictId, meetingId)}#ROLL#${String(shard).padStart(2, '0')}`;
const ownerPartition = (subDistrictId: string, meetingId: string, ownerId: string) =>
  `${meetingKey(subDistrictId, meetingId)}#OWNER#${ownerId}`;

export const RollEntryEntity = new Entity({
  name: 'RollEntry',
  table: CivicTable,
  schema: item({
    pk: string().key(),
    sk: string().key(),
    voterId: string(),
    ownerIds: list(string()),
    unitIds: list(string()),
    area: string(),
    developer: boolean(),
    freezeId: string(),
  }),
  timestamps: false,
});

/** Where an owner's roll entries are: one item per entry they may cast for. */
export const RollOwnerEntity = new Entity({
  name: 'RollOwner',
  table: CivicTable,
  schema: item({ pk: string().key(), sk: string().key(), voterId: string(), freezeId: string() }),
  timestamps: false,
});

export interface StoredVoter extends Voter {
  freezeId: string;
}

/**
 * Writes a frozen roll: its entries and the owners' index. Idempotent per entry; entries of an
 * attempt that did not become the meeting's roll carry another freezeId and are never read.
 */
export const putRoll = async (
  subDistrictId: string,
  meetingId: string,
  voters: readonly Voter[],
  freezeId: string,
  concurrency = 8,
): Promise<void> => {
  const requests = voters.flatMap((voter) => [
    RollEntryEntity.build(BatchPutRequest).item({
      pk: rollPartition(subDistrictId, meetingId, shardOf(voter.voterId)),
      sk: `V#${voter.voterId}`,
      ...voter,
      freezeId,
    }),
    ...voter.ownerIds.map((ownerId) =>
      RollOwnerEntity.build(BatchPutRequest).item({
        pk: ownerPartition(subDistrictId, meetingId, ownerId),
        sk: `V#${voter.voterId}`,
        voterId: voter.voterId,
        freezeId,
      }),
    ),
  ]);
  const batches: (typeof requests)[] = [];
  for (let i = 0; i < requests.length; i += 25) batches.push(requests.slice(i, i + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, batches.length) }, async () => {
      while (next < batches.length) {
        const batch = batches[next++] as typeof requests;
        await writeBatch(CivicTable.build(BatchWriteCommand).requests(...batch));
      }
    }),
  );
};

/** Every item of a partition (optionally under a sort-key prefix), page after page. */
const queryAll = async <T>(
  entity: Entity,
  partition: string,
  prefix?: string,
  consistent = false,
): Promise<T[]> => {
  const all: T[] = [];
  let exclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
      .entities(entity)
      .query({ partition, ...(prefix === undefined ? {} : { range: { beginsWith: prefix } }) })
      .options({ consistent, exclusiveStartKey: exclusiveStartKey as never })
      .send();
    all.push(...(Items as T[]));
    exclusiveStartKey = LastEvaluatedKey;
  } while (exclusiveStartKey !== undefined);
  return all;
};

const byShard = async <T>(read: (shard: number) => Promise<T[]>): Promise<T[]> =>
  (await Promise.all(Array.from({ length: SHARDS }, (_, shard) => read(shard)))).flat();

const voterOf = (found: Record<string, unknown>) => fromItem<StoredVoter>(found);

/** The whole frozen roll (every shard in parallel), in voterId order. */
export const getRoll = async (meeting: StoredMeeting): Promise<StoredVoter[]> => {
  const entries = await byShard((shard) =>
    queryAll<Record<string, unknown>>(
      RollEntryEntity,
      rollPartition(meeting.subDistrictId, meeting.meetingId, shard),
    ),
  );
  return entries
    .map(voterOf)
    .filter((entry) => entry.freezeId === meeting.freezeId)
    .sort((a, b) => (a.voterId < b.voterId ? -1 : 1));
};

/** One shard's roll entries, a page at a time (for listing the roll). */
export const getRollPage = async (
  meeting: StoredMeeting,
  shard: number,
  limit: number,
  exclusiveStartKey?: Record<string, string>,
) => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(RollEntryEntity)
    .query({ partition: rollPartition(meeting.subDistrictId, meeting.meetingId, shard) })
    .options({ limit, exclusiveStartKey: exclusiveStartKey as never })
    .send();
  return {
    items: Items.map((found) => voterOf(found as Record<string, unknown>)).filter(
      (entry) => entry.freezeId === meeting.freezeId,
    ),
    lastKey: LastEvaluatedKey as Record<string, string> | undefined,
  };
};

/** The roll entries an owner may cast for in a meeting whose roll is frozen. */
export const getOwnerEntries = async (meeting: StoredMeeting, ownerId: string): Promise<StoredVoter[]> => {
  const index = await queryAll<{ voterId: string; freezeId: string }>(
    RollOwnerEntity,
    ownerPartition(meeting.subDistrictId, meeting.meetingId, ownerId),
  );
  const voterIds = index.filter((entry) => entry.freezeId === meeting.freezeId).map((entry) => entry.voterId);
  return Promise.all(voterIds.map((voterId) => getRollEntry(meeting, voterId))).then((entries) =>
    entries.filter((entry): entry is StoredVoter => entry !== undefined),
  );
};

export const getRollEntry = async (
  meeting: StoredMeeting,
  voterId: string,
): Promise<StoredVoter | undefined> => {
  const { Item } = await RollEntryEntity.build(GetItemCommand)
    .key({
      pk: rollPartition(meeting.subDistrictId, meeting.meetingId, shardOf(voterId)),
      sk: `V#${voterId}`,
    })
    .send();
  if (Item === undefined) return undefined;
  const entry = voterOf(Item as Record<string, unknown>);
  return entry.freezeId === meeting.freezeId ? entry : undefined;
};

// ---------------------------------------------------------------------------------------------------
// Ballots

const ballotPartition = (subDistrictId: string, meetingId: string, voterId: string) =>
  `${meetingKey(subDistrictId, meetingId)}#BALLOT#${String(shardOf(voterId)).padStart(2, '0')}`;

const ballotSchema = item({
  pk: string().key(),
  sk: string().key(),
  meetingId: string(),
  voterId: string(),
  matterId: string(),
  channel: string(),
  choice: any(),
  castAt: string(),
  receipt: string(),
  nonce: string(),
  ballotId: string(),
  castBy: string(),
  proxyHolderOwnerId: string().optional(),
  scanRef: string().optional(),
  receivedAt: string().optional(),
});
export const FinalBallotEntity = new Entity({
  name: 'FinalBallot',
  table: CivicTable,
  schema: ballotSchema,
  timestamps: false,
});
export const BallotHistoryEntity = new Entity({
  name: 'BallotHistory',
  table: CivicTable,
  schema: ballotSchema,
  timestamps: false,
});

/** A stored ballot: the final one of its entry, matter and channel, or one of its history. */
export interface StoredBallot extends FinalBallot {
  meetingId: string;
  nonce: string;
  ballotId: string;
  /** The owner (or, for paper, the committee member) who cast or entered it. */
  castBy: string;
  proxyHolderOwnerId?: string;
  scanRef?: string;
  receivedAt?: string;
}

const ballotOf = (found: Record<string, unknown>) => fromItem<StoredBallot>(found);

/** Raised when the meeting is no longer open (its status check failed inside the transaction). */
export class MeetingNotOpenError extends Error {
  override name = 'MeetingNotOpenError';
}

const isCancelled = (error: unknown): error is { CancellationReasons?: { Code?: string }[] } =>
  (error as { name?: string })?.name === 'TransactionCanceledException';

/**
 * Runs a transaction; one cancelled only because another transaction was writing the same item at that
 * moment (TransactionConflict) is tried again after a short random wait, so concurrent writers are
 * serialised rather than failed. A failed condition is the caller's to handle.
 */
const transact = async (transactions: readonly unknown[]): Promise<void> => {
  for (let attempt = 1; ; attempt++) {
    try {
      await executeTransactWrite(...(transactions as never[]));
      return;
    } catch (error) {
      const conflict =
        isCancelled(error) &&
        (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict');
      if (!conflict || attempt >= 8) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
    }
  }
};

/**
 * Records ballots of one roll entry in one transaction: the meeting must still be open, each becomes the
 * final ballot of its matter and channel (replacing the previous one, which stays in history), and each
 * is added to history. Two concurrent casts are serialised by DynamoDB (the loser of a conflict tries
 * again), so exactly one final ballot remains, the later one.
 */
export const putBallots = async (meeting: StoredMeeting, ballots: readonly StoredBallot[]): Promise<void> => {
  const transactions = [
    MeetingEntity.build(ConditionCheck)
      .key({ subDistrictId: meeting.subDistrictId, meetingId: meeting.meetingId })
      .condition({ attr: 'status', eq: 'open' }),
    ...ballots.flatMap((ballot) => {
      const pk = ballotPartition(meeting.subDistrictId, meeting.meetingId, ballot.voterId);
      return [
        FinalBallotEntity.build(PutTransaction).item({
          ...ballot,
          pk,
          sk: `F#${ballot.voterId}#${ballot.matterId}#${ballot.channel}`,
        } as never),
        BallotHistoryEntity.build(PutTransaction)
          .item({
            ...ballot,
            pk,
            sk: `H#${ballot.voterId}#${ballot.matterId}#${ballot.castAt}#${ballot.ballotId}`,
          } as never)
          .options({ condition: { attr: 'pk', exists: false } }),
      ];
    }),
  ];
  try {
    await transact(transactions);
  } catch (error) {
    if (isCancelled(error) && error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed')
      throw new MeetingNotOpenError();
    throw error;
  }
};

/** Every final ballot of a meeting (every shard in parallel). */
export const getFinalBallots = async (meeting: StoredMeeting): Promise<StoredBallot[]> =>
  (
    await byShard((shard) =>
      queryAll<Record<string, unknown>>(
        FinalBallotEntity,
        `${meetingKey(meeting.subDistrictId, meeting.meetingId)}#BALLOT#${String(shard).padStart(2, '0')}`,
        'F#',
        true,
      ),
    )
  ).map(ballotOf);

/** A roll entry's final ballots and their history, oldest first. */
export const getEntryBallots = async (meeting: StoredMeeting, voterId: string) => {
  const partition = ballotPartition(meeting.subDistrictId, meeting.meetingId, voterId);
  const [finals, history] = await Promise.all([
    queryAll<Record<string, unknown>>(FinalBallotEntity, partition, `F#${voterId}#`, true),
    queryAll<Record<string, unknown>>(BallotHistoryEntity, partition, `H#${voterId}#`, true),
  ]);
  return { finals: finals.map(ballotOf), history: history.map(ballotOf) };
};

// ---------------------------------------------------------------------------------------------------
// Deliveries, proxies, audit records

const deliveryPartition = (subDistrictId: string, meetingId: string) =>
  `${meetingKey(subDistrictId, meetingId)}#DELIVERY`;

export const DeliveryEntity = new Entity({
  name: 'BallotDelivery',
  table: CivicTable,
  schema: item({
    pk: string().key(),
    sk: string().key(),
    ownerId: string(),
    channel: string(),
    deliveredAt: string(),
    evidenceRef: string().optional(),
    recordedBy: string(),
    recordedAt: string(),
  }),
  timestamps: false,
});

export interface Delivery {
  ownerId: string;
  channel: DeliveryChannel;
  deliveredAt: string;
  evidenceRef?: string;
  recordedBy: string;
  recordedAt: string;
}

/** Records a delivery; false if this owner's delivery by this channel was already recorded. */
export const putDelivery = async (meeting: StoredMeeting, delivery: Delivery): Promise<boolean> => {
  return conditionally(() =>
    DeliveryEntity.build(PutItemCommand)
      .item({
        pk: deliveryPartition(meeting.subDistrictId, meeting.meetingId),
        sk: `O#${delivery.ownerId}#${delivery.channel}`,
        ...delivery,
      })
      .options({ condition: { attr: 'pk', exists: false } })
      .send(),
  );
};

export const getDeliveries = async (meeting: StoredMeeting): Promise<Delivery[]> =>
  (
    await queryAll<Record<string, unknown>>(
      DeliveryEntity,
      deliveryPartition(meeting.subDistrictId, meeting.meetingId),
      undefined,
      true,
    )
  ).map((found) => fromItem<Delivery>(found));

const proxyPartition = (subDistrictId: string, meetingId: string) =>
  `${meetingKey(subDistrictId, meetingId)}#PROXY`;

export const ProxyEntity = new Entity({
  name: 'Proxy',
  table: CivicTable,
  schema: item({
    pk: string().key(),
    sk: string().key(),
    grantorOwnerId: string(),
    holderOwnerId: string(),
    scanRef: string(),
    registeredBy: string(),
    registeredAt: string(),
  }),
  timestamps: false,
});
export const ProxyHolderEntity = new Entity({
  name: 'ProxyHolder',
  table: CivicTable,
  schema: item({ pk: string().key(), sk: string().key(), holderOwnerId: string(), count: number() }),
  timestamps: false,
});

export interface Proxy {
  grantorOwnerId: string;
  holderOwnerId: string;
  scanRef: string;
  registeredBy: string;
  registeredAt: string;
}

export type ProxyOutcome = 'registered' | 'grantor-has-proxy' | 'holder-at-cap';

/**
 * Registers a written authorisation: one per grantor and meeting, and no more than `cap` per holder —
 * both checked by the same transaction that writes it, so concurrent registrations cannot pass the cap.
 */
export const putProxy = async (meeting: StoredMeeting, proxy: Proxy, cap: number): Promise<ProxyOutcome> => {
  const pk = proxyPartition(meeting.subDistrictId, meeting.meetingId);
  try {
    await transact([
      ProxyEntity.build(PutTransaction)
        .item({ pk, sk: `G#${proxy.grantorOwnerId}`, ...proxy })
        .options({ condition: { attr: 'pk', exists: false } }),
      ProxyHolderEntity.build(UpdateTransaction)
        .item({ pk, sk: `H#${proxy.holderOwnerId}`, holderOwnerId: proxy.holderOwnerId, count: $add(1) })
        .options({
          condition: {
            or: [
              { attr: 'count', exists: false },
              { attr: 'count', lt: cap },
            ],
          },
        }),
    ]);
    return 'registered';
  } catch (error) {
    if (!isCancelled(error)) throw error;
    const [grantor, holder] = error.CancellationReasons ?? [];
    if (grantor?.Code === 'ConditionalCheckFailed') return 'grantor-has-proxy';
    if (holder?.Code === 'ConditionalCheckFailed') return 'holder-at-cap';
    throw error;
  }
};

export const getProxy = async (
  meeting: StoredMeeting,
  grantorOwnerId: string,
): Promise<Proxy | undefined> => {
  const { Item } = await ProxyEntity.build(GetItemCommand)
    .key({ pk: proxyPartition(meeting.subDistrictId, meeting.meetingId), sk: `G#${grantorOwnerId}` })
    .send();
  if (Item === undefined) return undefined;
  return fromItem<Proxy>(Item as Record<string, unknown>);
};

export const BallotReadEntity = new Entity({
  name: 'BallotRead',
  table: CivicTable,
  schema: item({
    pk: string().key(),
    sk: string().key(),
    readBy: string(),
    roles: list(string()),
    reason: string(),
    what: string(),
    readAt: string(),
  }),
  timestamps: false,
});

export interface BallotRead {
  readBy: string;
  roles: string[];
  reason: string;
  what: string;
  readAt: string;
}

const auditPartition = (subDistrictId: string, meetingId: string) =>
  `${meetingKey(subDistrictId, meetingId)}#READS`;

/** Records a read of named ballots; it is written before the ballots are read, so no read goes unrecorded. */
export const putBallotRead = async (meeting: StoredMeeting, read: BallotRead, requestId: string) => {
  await BallotReadEntity.build(PutItemCommand)
    .item({
      pk: auditPartition(meeting.subDistrictId, meeting.meetingId),
      sk: `${read.readAt}#${requestId}`,
      ...read,
    })
    .send();
};

export const getBallotReads = async (meeting: StoredMeeting): Promise<BallotRead[]> =>
  (
    await queryAll<Record<string, unknown>>(
      BallotReadEntity,
      auditPartition(meeting.subDistrictId, meeting.meetingId),
    )
  ).map((found) => fromItem<BallotRead>(found));

// ---------------------------------------------------------------------------------------------------
// The published result

export const ResultEntity = new Entity({
  name: 'MeetingResult',
  table: CivicTable,
  schema: item({ subDistrictId: string().key(), meetingId: string().key(), result: any(), digest: string() }),
  computeKey: ({ subDistrictId, meetingId }) => ({ pk: meetingKey(subDistrictId, meetingId), sk: 'RESULT' }),
});

/** Publishes a result once; a second attempt keeps the first (which the caller reads back). */
export const putResult = async (
  meeting: StoredMeeting,
  result: Record<string, unknown>,
  digest: string,
): Promise<boolean> => {
  return conditionally(() =>
    ResultEntity.build(PutItemCommand)
      .item({ subDistrictId: meeting.subDistrictId, meetingId: meeting.meetingId, result, digest })
      .options({ condition: { attr: 'meetingId', exists: false } })
      .send(),
  );
};

export const getResult = async (
  meeting: Pick<StoredMeeting, 'subDistrictId' | 'meetingId'>,
): Promise<{ result: Record<string, unknown>; digest: string } | undefined> => {
  const { Item } = await ResultEntity.build(GetItemCommand)
    .key({ subDistrictId: meeting.subDistrictId, meetingId: meeting.meetingId })
    .options({ consistent: true })
    .send();
  return Item === undefined
    ? undefined
    : { result: Item.result as Record<string, unknown>, digest: Item.digest };
};

// ---------------------------------------------------------------------------------------------------
// Petitions for an extraordinary meeting

const petitionKey = (subDistrictId: string, petitionId: string) => `PETITION#${subDistrictId}#${petitionId}`;

export const PetitionEntity = new Entity({
  name: 'Petition',
  table: CivicTable,
  schema: item({
    subDistrictId: string().key(),
    petitionId: string().key(),
    compoundId: string().optional(),
    areaId: string(),
    subject: string(),
    createdBy: string(),
    createdAt: string(),
    reachedAt: string().optional(),
    listKey: string().savedAs('gsi1pk'),
    listSort: string().savedAs('gsi1sk'),
  }),
  computeKey: ({ subDistrictId, petitionId }) => ({
    pk: petitionKey(subDistrictId, petitionId),
    sk: 'PETITION',
  }),
});

export const SignatureEntity = new Entity({
  name: 'PetitionSignature',
  table: CivicTable,
  schema: item({ pk: string().key(), sk: string().key(), ownerId: string(), signedAt: string() }),
  timestamps: false,
});

export interface Petition {
  subDistrictId: string;
  petitionId: string;
  compoundId?: string;
  areaId: string;
  subject: string;
  createdBy: string;
  createdAt: string;
  reachedAt?: string;
}

const petitionOf = (found: Record<string, unknown>) => fromItem<Petition>(found);
const storedPetition = (petition: Petition) => ({
  ...petition,
  listKey: `SD#${petition.subDistrictId}#AREA#${petition.areaId}#petition`,
  listSort: `${petition.createdAt}#${petition.petitionId}`,
});

export const createPetition = async (petition: Petition): Promise<void> => {
  const written = await conditionally(() =>
    PetitionEntity.build(PutItemCommand)
      .item(storedPetition(petition))
      .options({ condition: { attr: 'petitionId', exists: false } })
      .send(),
  );
  if (!written) throw new WriteConflictError('petition exists');
};

export const getPetition = async (
  subDistrictId: string,
  petitionId: string,
): Promise<Petition | undefined> => {
  const { Item } = await PetitionEntity.build(GetItemCommand)
    .key({ subDistrictId, petitionId })
    .options({ consistent: true })
    .send();
  return Item === undefined ? undefined : petitionOf(Item as Record<string, unknown>);
};

export const listPetitions = async (
  subDistrictId: string,
  areaId: string,
  page: { limit: number; exclusiveStartKey?: Record<string, unknown> },
) => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(PetitionEntity)
    .query({ index: 'gsi1', partition: `SD#${subDistrictId}#AREA#${areaId}#petition` })
    .options({ limit: page.limit, exclusiveStartKey: page.exclusiveStartKey as never })
    .send();
  return {
    items: Items.map((found) => petitionOf(found as Record<string, unknown>)),
    lastKey: LastEvaluatedKey,
  };
};

/** Records a signature; false if this owner had signed already. */
export const putSignature = async (
  petition: Petition,
  ownerId: string,
  signedAt: string,
): Promise<boolean> => {
  return conditionally(() =>
    SignatureEntity.build(PutItemCommand)
      .item({
        pk: petitionKey(petition.subDistrictId, petition.petitionId),
        sk: `SIG#${ownerId}`,
        ownerId,
        signedAt,
      })
      .options({ condition: { attr: 'pk', exists: false } })
      .send(),
  );
};

export const getSigners = async (petition: Petition): Promise<string[]> =>
  (
    await queryAll<{ ownerId: string }>(
      SignatureEntity,
      petitionKey(petition.subDistrictId, petition.petitionId),
      'SIG#',
      true,
    )
  ).map((signature) => signature.ownerId);

/** Marks a petition as having reached its thresholds, once. */
export const markPetitionReached = async (petition: Petition, at: string): Promise<void> => {
  await conditionally(() =>
    PetitionEntity.build(PutItemCommand)
      .item(storedPetition({ ...petition, reachedAt: at }))
      .options({ condition: { attr: 'reachedAt', exists: false } })
      .send(),
  );
};
