/**
 * Where a merger proposal lives in the single table: one proposal item (what the workflow and the API
 * read), and in its partition one item per area and step (a survey result, a participation decision:
 * each written once, with a condition) and one per timeline event. Proposals of a sub-district are listed
 * through gsi1.
 */
import {
  any,
  Entity,
  GetItemCommand,
  item,
  number,
  PutItemCommand,
  QueryCommand,
  string,
} from 'dynamodb-toolbox';
import { conditionally } from '../shared/conditional.js';
import { CivicTable } from '../shared/table.js';
import type { AreaVote, BureauDecision, CreateProposalInput, Outcome, ProposalStep } from './domain.js';

const proposalKey = (subDistrictId: string, proposalId: string) => `PROPOSAL#${subDistrictId}#${proposalId}`;

export interface Proposal extends CreateProposalInput {
  subDistrictId: string;
  createdBy: string;
  createdAt: string;
  step: ProposalStep;
  outcome?: Outcome;
  endedAt?: string;
  executionArn: string;
  /** The task token each waiting step holds (cleared when answered). */
  tokens: Record<string, string | undefined>;
  votes?: AreaVote[];
  decision?: BureauDecision & { decidedAt: string; decidedBy: string };
  cancellation?: { reason: string; at: string; by: string };
  merge?: Record<string, unknown>;
  founding?: Record<string, unknown>;
  version: number;
}

export const ProposalEntity = new Entity({
  name: 'MergerProposal',
  table: CivicTable,
  schema: item({
    subDistrictId: string().key(),
    proposalId: string().key(),
    listKey: string().savedAs('gsi1pk'),
    listSort: string().savedAs('gsi1sk'),
    version: number(),
    proposal: any(),
  }),
  computeKey: ({ subDistrictId, proposalId }) => ({
    pk: proposalKey(subDistrictId, proposalId),
    sk: 'PROPOSAL',
  }),
});

/** A survey result, a participation decision or a timeline event, in the proposal's partition. */
export const ProposalEntryEntity = new Entity({
  name: 'MergerEntry',
  table: CivicTable,
  schema: item({
    subDistrictId: string().key(),
    proposalId: string().key(),
    entry: string().key(),
    data: any(),
  }),
  computeKey: ({ subDistrictId, proposalId, entry }) => ({
    pk: proposalKey(subDistrictId, proposalId),
    sk: entry,
  }),
});

/** Which proposals name an area: one small item per (area, proposal), for the area's committee to list. */
export const ProposalOfAreaEntity = new Entity({
  name: 'MergerProposalOfArea',
  table: CivicTable,
  schema: item({
    subDistrictId: string().key(),
    areaId: string().key(),
    proposalId: string().key(),
  }),
  computeKey: ({ subDistrictId, areaId, proposalId }) => ({
    pk: `SD#${subDistrictId}#AREA#${areaId}#proposal`,
    sk: proposalId,
  }),
});

export class ProposalTakenError extends Error {}
export class StaleProposalError extends Error {}

const listKeyOf = (subDistrictId: string) => `SD#${subDistrictId}#proposal`;

export const createProposal = async (proposal: Proposal): Promise<void> => {
  const stored = await conditionally(() =>
    ProposalEntity.build(PutItemCommand)
      .item({
        subDistrictId: proposal.subDistrictId,
        proposalId: proposal.proposalId,
        listKey: listKeyOf(proposal.subDistrictId),
        listSort: `${proposal.createdAt}#${proposal.proposalId}`,
        version: proposal.version,
        proposal,
      })
      .options({ condition: { attr: 'proposalId', exists: false } })
      .send(),
  );
  if (!stored) throw new ProposalTakenError(proposal.proposalId);
  await Promise.all(
    proposal.areaIds.map((areaId) =>
      ProposalOfAreaEntity.build(PutItemCommand)
        .item({ subDistrictId: proposal.subDistrictId, areaId, proposalId: proposal.proposalId })
        .send(),
    ),
  );
};

/** Every proposal naming one of these areas (a committee's few), oldest first. */
export const proposalsOfAreas = async (
  subDistrictId: string,
  areaIds: readonly string[],
): Promise<Proposal[]> => {
  const ids = new Set<string>();
  for (const areaId of areaIds) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
        .entities(ProposalOfAreaEntity)
        .query({ partition: `SD#${subDistrictId}#AREA#${areaId}#proposal` })
        .options({ exclusiveStartKey: startKey as never })
        .send();
      for (const found of Items) ids.add(found.proposalId);
      startKey = LastEvaluatedKey;
    } while (startKey !== undefined);
  }
  const proposals = await Promise.all([...ids].map((id) => getProposal(subDistrictId, id)));
  return proposals
    .filter((proposal): proposal is Proposal => proposal !== undefined)
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
};

export const getProposal = async (
  subDistrictId: string,
  proposalId: string,
): Promise<Proposal | undefined> => {
  const { Item } = await ProposalEntity.build(GetItemCommand)
    .key({ subDistrictId, proposalId })
    .options({ consistent: true })
    .send();
  return Item === undefined
    ? undefined
    : ({ ...(Item.proposal as Proposal), version: Item.version } as Proposal);
};

/** Replaces the proposal if nobody changed it since it was read. */
export const replaceProposal = async (next: Proposal, expectedVersion: number): Promise<Proposal> => {
  const stored = { ...next, version: expectedVersion + 1 };
  const written = await conditionally(() =>
    ProposalEntity.build(PutItemCommand)
      .item({
        subDistrictId: stored.subDistrictId,
        proposalId: stored.proposalId,
        listKey: listKeyOf(stored.subDistrictId),
        listSort: `${stored.createdAt}#${stored.proposalId}`,
        version: stored.version,
        proposal: stored,
      })
      .options({ condition: { attr: 'version', eq: expectedVersion } })
      .send(),
  );
  if (!written) throw new StaleProposalError(stored.proposalId);
  return stored;
};

/**
 * Reads, changes and writes the proposal, again if another writer came between. `change` returns the
 * next proposal, or undefined to leave it as it is.
 */
export const updateProposal = async (
  subDistrictId: string,
  proposalId: string,
  change: (proposal: Proposal) => Proposal | undefined,
): Promise<Proposal | undefined> => {
  for (let attempt = 1; ; attempt++) {
    const current = await getProposal(subDistrictId, proposalId);
    if (current === undefined) return undefined;
    const next = change(current);
    if (next === undefined) return current;
    try {
      return await replaceProposal(next, current.version);
    } catch (error) {
      if (!(error instanceof StaleProposalError) || attempt >= 8) throw error;
    }
  }
};

export const listProposals = async (
  subDistrictId: string,
  options: { limit: number; startKey?: Record<string, unknown> },
): Promise<{ items: Proposal[]; lastKey?: Record<string, unknown> }> => {
  const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
    .entities(ProposalEntity)
    .query({ index: 'gsi1', partition: listKeyOf(subDistrictId) })
    .options({ limit: options.limit, exclusiveStartKey: options.startKey as never })
    .send();
  return {
    items: Items.map((found) => ({ ...(found.proposal as Proposal), version: found.version })),
    lastKey: LastEvaluatedKey,
  };
};

/** Writes an entry once; false if it exists (a repeated upload or decision). */
export const putEntryOnce = (subDistrictId: string, proposalId: string, entry: string, data: unknown) =>
  conditionally(() =>
    ProposalEntryEntity.build(PutItemCommand)
      .item({ subDistrictId, proposalId, entry, data })
      .options({ condition: { attr: 'entry', exists: false } })
      .send(),
  );

/** Every entry of a proposal whose key starts with the prefix, in key order. */
export const listEntries = async <T>(
  subDistrictId: string,
  proposalId: string,
  prefix: string,
): Promise<{ entry: string; data: T }[]> => {
  const all: { entry: string; data: T }[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const { Items = [], LastEvaluatedKey } = await CivicTable.build(QueryCommand)
      .entities(ProposalEntryEntity)
      .query({ partition: proposalKey(subDistrictId, proposalId), range: { beginsWith: prefix } })
      .options({ consistent: true, exclusiveStartKey: startKey as never })
      .send();
    all.push(...Items.map((found) => ({ entry: found.entry, data: found.data as T })));
    startKey = LastEvaluatedKey;
  } while (startKey !== undefined);
  return all;
};

export const surveyEntry = (areaId: string) => `AREA#${areaId}#survey`;
export const participationEntry = (areaId: string) => `AREA#${areaId}#participation`;

export interface TimelineEvent {
  at: string;
  step: ProposalStep;
  what: string;
  actor: string;
  areaId?: string;
  detail?: Record<string, unknown>;
}

/**
 * Records a timeline event. Its key is derived from what happened (the event's `key`), so a step that
 * runs again (a retried task) records it once.
 */
export const recordEvent = async (
  subDistrictId: string,
  proposalId: string,
  key: string,
  event: TimelineEvent,
): Promise<void> => {
  await putEntryOnce(subDistrictId, proposalId, `EVENT#${key}`, event);
};

/** The proposal's events in the order they happened. */
export const timelineOf = async (subDistrictId: string, proposalId: string): Promise<TimelineEvent[]> =>
  (await listEntries<TimelineEvent>(subDistrictId, proposalId, 'EVENT#'))
    .map(({ data }) => data)
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
