/**
 * Carrying out an approved area merger (联小建大) in the registry: the Step Functions task that runs
 * once the district housing bureau has approved. It may be cut off at any point and run again with the
 * same request (the task's retries), so every step moves a record to a target state that is a fixed
 * point — a record already there is left alone — and every write is conditional on the version read.
 *
 * The order, and why:
 * 1. Validate, read-only: every merged area exists, lies in the compound, and is not merged by another
 *    proposal; the new area id is free or was created by this very proposal. Nothing is written before.
 * 2. One transaction creates the new area and marks every old area merged (`mergedInto`, `mergedAt`,
 *    `mergedByProposal`). It is the legal fact of the merge and the claim on the old areas: a second
 *    proposal naming one of them fails its own transaction whole, and never leaves half a claim.
 * 3. The old areas' children move, each by a version-checked replace: buildings, units (ids and owners
 *    kept: the voter roll reads them through `unitsOfArea`) and owners (area-level records: the meetings
 *    check `owner.areaId`); the compound's zones of the old areas and their devices (the device record if
 *    it names the area, and the device directory entry, which ingest and dispatch read); the staff
 *    assignments (`areaIds`) of every company of the sub-district. Moved records carry
 *    `data.mergedFrom = <old area>`, which is both history and how a later run recognises them.
 * 4. The old areas' committees are marked for deregistration and their property companies' contracts
 *    flagged with a notice deadline. Both stay under their old area, as the old area record does: they
 *    are that area's history, and its committee members and company staff still reach them there.
 *
 * Buildings keep their ids, so the maintenance-fund ledgers, which are kept per building, stay as they
 * are: the merged area's fund is the sum of its buildings' ledgers, nothing is transferred.
 *
 * The report is computed from the end state (what was moved in this run and what an earlier run had
 * already moved), so every run of the same request reports the same figures.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { executeTransactWrite, PutTransaction, UpdateItemCommand } from 'dynamodb-toolbox';
import * as z from 'zod';
import type { Kind } from '../registry/domain.js';
import { slugSchema } from '../registry/domain.js';
import { ancestryBelow } from '../registry/service.js';
import {
  DeviceDirectoryEntity,
  getDeviceDirectory,
  getRecord,
  listAllRecords,
  parentKeyOf,
  type RegistryRecord,
  RegistryRecordEntity,
  replaceRecord,
} from '../registry/store.js';
import { BadRequestError, ConflictError, PreconditionFailedError } from '../shared/errors.js';

const MAX_AREAS = 50;

export const mergeRequestSchema = z
  .object({
    subDistrictId: z.string().trim().min(1).max(80),
    proposalId: z.string().trim().min(1).max(128),
    compoundId: slugSchema,
    newArea: z.object({ areaId: slugSchema, name: z.string().trim().min(1).max(100) }).strict(),
    areaIds: z.array(slugSchema).min(2).max(MAX_AREAS),
    approvedAt: z.iso.datetime({ offset: true }),
  })
  .strict()
  .superRefine((request, context) => {
    const seen = new Set<string>();
    for (const [index, areaId] of request.areaIds.entries()) {
      if (seen.has(areaId))
        context.addIssue({ code: 'custom', path: ['areaIds', index], message: `${areaId} is listed twice` });
      seen.add(areaId);
      if (areaId === request.newArea.areaId)
        context.addIssue({
          code: 'custom',
          path: ['areaIds', index],
          message: 'the new area cannot be one of the merged areas',
        });
    }
  });

export interface MergeRequest {
  subDistrictId: string;
  proposalId: string;
  /** All merged areas are in this compound. */
  compoundId: string;
  newArea: { areaId: string; name: string };
  /** The areas that passed their vote and are merged (at least 2). */
  areaIds: string[];
  /** ISO time of the housing bureau's approval: the merge's legal date. */
  approvedAt: string;
}

export interface MergeReport {
  newAreaId: string;
  areas: number;
  buildings: number;
  units: number;
  devices: number;
  zones: number;
  staff: number;
  /** approvedAt + 30 days (Shanghai Residential Property Management Regulation art. 33–34). */
  committeesToDeregister: { committeeId: string; areaId: string; deregisterBy: string }[];
  contractsFlagged: { contractId: string; companyId: string; areaId: string; noticeBy: string }[];
  /** approvedAt + 20 days: the sub-district files the change. */
  filingDueBy: string;
}

export interface MergeOptions {
  /** Test hook: called after every write with the number of writes so far; a throw stands for a crash. */
  afterWrite?: (writes: number) => void;
  /** Records moved at once; default 8. */
  concurrency?: number;
}

// ---------------------------------------------------------------------------------------------------
// Dates. Shanghai has no daylight saving, so a day is always 24 hours there; months are calendar months
// of Shanghai's calendar (UTC+8), the last day of a shorter month standing in for a missing one.

const DAY_MS = 86_400_000;
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
const DEREGISTRATION_DAYS = 30;
const FILING_DAYS = 20;
/**
 * createContractSchema has no notice period, so a contract without one (all of those the API creates)
 * gets three months: the old companies keep serving until the merged area's new general meeting hires
 * a company (art. 278 item 4), and three months is the customary notice of property service contracts.
 * A record that does carry `noticePeriodDays` or `noticePeriodMonths` (imported data) has it used.
 */
const DEFAULT_NOTICE_MONTHS = 3;

const plusDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY_MS).toISOString();

const plusMonths = (iso: string, months: number) => {
  const local = new Date(Date.parse(iso) + SHANGHAI_OFFSET_MS);
  const year = local.getUTCFullYear();
  const month = local.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const moved = Date.UTC(
    year,
    month,
    Math.min(local.getUTCDate(), lastDay),
    local.getUTCHours(),
    local.getUTCMinutes(),
    local.getUTCSeconds(),
    local.getUTCMilliseconds(),
  );
  return new Date(moved - SHANGHAI_OFFSET_MS).toISOString();
};

/** The calendar date in Shanghai of an instant, as YYYY-MM-DD (how terms and contracts are dated). */
const shanghaiDate = (iso: string) =>
  new Date(Date.parse(iso) + SHANGHAI_OFFSET_MS).toISOString().slice(0, 10);

const noticeByOf = (contract: ContractData, approvedAt: string) => {
  if (typeof contract.noticePeriodDays === 'number' && contract.noticePeriodDays >= 0)
    return plusDays(approvedAt, contract.noticePeriodDays);
  if (typeof contract.noticePeriodMonths === 'number' && contract.noticePeriodMonths >= 0)
    return plusMonths(approvedAt, contract.noticePeriodMonths);
  return plusMonths(approvedAt, DEFAULT_NOTICE_MONTHS);
};

// ---------------------------------------------------------------------------------------------------
// Records

type Data = Record<string, unknown>;
type AreaData = { name?: string; createdByMerger?: string; mergedInto?: string; mergedByProposal?: string };
type ContractData = {
  companyId?: string;
  endsOn?: string;
  noticePeriodDays?: unknown;
  noticePeriodMonths?: unknown;
  mergerNotice?: { proposalId: string; noticeBy: string };
};
type CommitteeData = {
  termStartsOn?: string;
  termEndsOn?: string;
  deregistration?: { reason: string; deregisterBy: string; proposalId: string };
};

/** Kinds whose records are children of a property area (gsi1 partition `…#AREA#<id>#<kind>`). */
const MOVED_AREA_KINDS = ['building', 'unit', 'owner'] as const satisfies readonly Kind[];
/** Area children that stay with the old area: its history (see the module comment). */
const KEPT_AREA_KINDS = ['committee', 'contract'] as const satisfies readonly Kind[];

const underArea = (subDistrictId: string, areaId: string, kind: Kind) =>
  parentKeyOf(subDistrictId, { kind: 'area', id: areaId }, kind);

/** A transformation to a target state: the next record, or undefined when the record is already there. */
type Step = (record: RegistryRecord) => RegistryRecord | undefined;

interface Context {
  request: MergeRequest;
  merged: ReadonlySet<string>;
  writes: { count: number };
  options: MergeOptions;
}

const wrote = (context: Context) => {
  context.writes.count++;
  context.options.afterWrite?.(context.writes.count);
};

/**
 * Brings one record to its target state with a version-checked replace. A stale read (another run got
 * there first, or a listing from the eventually consistent index) fails its condition and is read again
 * consistently, so the step is applied to what is really stored, and never twice.
 */
const converge = async (
  context: Context,
  listed: RegistryRecord,
  step: Step,
): Promise<RegistryRecord | undefined> => {
  let record: RegistryRecord | undefined = listed;
  for (let attempt = 1; record !== undefined; attempt++) {
    const next = step(record);
    if (next === undefined) return record;
    let written: RegistryRecord;
    try {
      written = await replaceRecord(next, record.version);
    } catch (error) {
      if (!(error instanceof PreconditionFailedError) || attempt >= 10) throw error;
      record = await getRecord(record.subDistrictId, record.kind, record.id);
      continue;
    }
    wrote(context);
    return written;
  }
  return undefined;
};

/**
 * Runs `task` over the items, `limit` at a time. After the first failure no new item starts, the ones
 * in flight finish, and the first error is thrown: when this rejects, nothing of it is still writing.
 */
const eachLimited = async <T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) => {
  let next = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (failure === undefined && next < items.length) {
        const item = items[next++] as T;
        try {
          await task(item);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure !== undefined) throw failure.error;
};

// ---------------------------------------------------------------------------------------------------
// 1. Validation

interface Checked {
  compound: RegistryRecord;
  areas: RegistryRecord<AreaData>[];
  existingNewArea?: RegistryRecord<AreaData>;
}

const validate = async (request: MergeRequest): Promise<Checked> => {
  const { subDistrictId, compoundId, proposalId } = request;
  const compound = await getRecord(subDistrictId, 'compound', compoundId);
  if (compound === undefined)
    throw new BadRequestError(`No compound ${compoundId}.`, [
      { pointer: '/compoundId', detail: 'No such compound' },
    ]);
  const areas = await Promise.all(
    request.areaIds.map((areaId) => getRecord<AreaData>(subDistrictId, 'area', areaId)),
  );
  const errors = areas.flatMap((area, index) => {
    const areaId = request.areaIds[index] as string;
    const pointer = `/areaIds/${index}`;
    if (area === undefined) return [{ pointer, detail: `No area ${areaId}` }];
    if (area.compoundId !== compoundId)
      return [{ pointer, detail: `Area ${areaId} is not in compound ${compoundId}` }];
    return [];
  });
  if (errors.length > 0)
    throw new BadRequestError('The merge names areas that are not in the compound.', errors);
  const existing = areas as RegistryRecord<AreaData>[];
  const conflicts = existing.flatMap((area, index) => {
    const pointer = `/areaIds/${index}`;
    if (area.data.mergedInto === undefined) return [];
    if (area.data.mergedByProposal !== proposalId)
      return [
        { pointer, detail: `Area ${area.id} was merged into ${area.data.mergedInto} by another proposal` },
      ];
    if (area.data.mergedInto !== request.newArea.areaId)
      return [
        { pointer, detail: `Area ${area.id} was merged into ${area.data.mergedInto}, not this new area` },
      ];
    return [];
  });
  if (conflicts.length > 0) throw new ConflictError('Some areas were already merged.', conflicts);

  const newArea = await getRecord<AreaData>(subDistrictId, 'area', request.newArea.areaId);
  if (newArea !== undefined && newArea.data.createdByMerger !== proposalId)
    throw new ConflictError(`Area ${request.newArea.areaId} already exists.`, [
      { pointer: '/newArea/areaId', detail: 'Taken by an area this proposal did not create' },
    ]);
  if (newArea !== undefined && newArea.compoundId !== compoundId)
    throw new ConflictError(`Area ${request.newArea.areaId} lies in another compound.`, [
      { pointer: '/newArea/areaId', detail: 'Created by this proposal in another compound' },
    ]);
  return { compound, areas: existing, existingNewArea: newArea };
};

// ---------------------------------------------------------------------------------------------------
// 2. The merge itself: the new area and the old areas' marks, in one transaction

const isCancelled = (error: unknown): error is { CancellationReasons?: { Code?: string }[] } =>
  (error as { name?: string })?.name === 'TransactionCanceledException';

/** The new area as the registry's POST /compounds/{id}/areas creates one, plus the merger's history. */
const newAreaRecord = (
  checked: Checked,
  request: MergeRequest,
): Omit<RegistryRecord<AreaData>, 'version'> => {
  const { areaId, name } = request.newArea;
  // The old companies keep serving until the merged area's general meeting hires one; dispatch finds
  // the area's company on the area record, so a company that served every old area stays there.
  const companies = new Set(checked.areas.map((area) => area.companyId));
  const [company] = companies;
  return {
    kind: 'area',
    id: areaId,
    ...ancestryBelow(checked.compound),
    areaId,
    ...(companies.size === 1 && company !== undefined ? { companyId: company } : { companyId: undefined }),
    parentKey: parentKeyOf(request.subDistrictId, { kind: 'compound', id: request.compoundId }, 'area'),
    sortKey: areaId,
    data: {
      name,
      createdByMerger: request.proposalId,
      mergedFrom: [...request.areaIds],
      mergedAt: request.approvedAt,
    } as AreaData,
  };
};

const markMerged = (area: RegistryRecord<AreaData>, request: MergeRequest): RegistryRecord<AreaData> => ({
  ...area,
  data: {
    ...area.data,
    mergedInto: request.newArea.areaId,
    mergedAt: request.approvedAt,
    mergedByProposal: request.proposalId,
  } as AreaData,
  version: area.version + 1,
});

const withoutUndefined = <T extends object>(record: T): T =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;

/**
 * Creates the new area and marks the old ones, all or nothing. A run that finds it done (an earlier or
 * a concurrent run of the same request) goes on; a transaction cancelled by a concurrent writer is
 * validated again, so another proposal's claim answers as a conflict.
 */
const establish = async (context: Context, initial: Checked): Promise<void> => {
  const { request } = context;
  let checked = initial;
  for (let attempt = 1; ; attempt++) {
    const pending = checked.areas.filter((area) => area.data.mergedInto === undefined);
    if (checked.existingNewArea !== undefined && pending.length === 0) return;
    const transactions = [
      ...(checked.existingNewArea === undefined
        ? [
            RegistryRecordEntity.build(PutTransaction)
              .item(withoutUndefined({ ...newAreaRecord(checked, request), version: 1 }) as never)
              .options({ condition: { attr: 'id', exists: false } }),
          ]
        : []),
      ...pending.map((area) =>
        RegistryRecordEntity.build(PutTransaction)
          .item(markMerged(area, request) as never)
          .options({ condition: { attr: 'version', eq: area.version } }),
      ),
    ];
    try {
      await executeTransactWrite(...(transactions as never[]));
    } catch (error) {
      if (!isCancelled(error) || attempt >= 8) throw error;
      if ((error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict'))
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
      checked = await validate(request);
      continue;
    }
    wrote(context);
    return;
  }
};

// ---------------------------------------------------------------------------------------------------
// 3. Moving the children

/** An old area's building, unit or owner: under the new area, same id, same owners. */
const moveStep =
  (context: Context, oldAreaId: string, kind: Kind): Step =>
  (record) => {
    const { request } = context;
    if (record.parentKey !== underArea(request.subDistrictId, oldAreaId, kind)) return undefined;
    return {
      ...record,
      areaId: request.newArea.areaId,
      parentKey: underArea(request.subDistrictId, request.newArea.areaId, kind),
      data: { ...(record.data as Data), mergedFrom: oldAreaId },
    };
  };

/** The records of `kind` the merger moved under the new area, by id: this run's and earlier runs'. */
const moveAreaChildren = async (context: Context, kind: Kind): Promise<Set<string>> => {
  const { request } = context;
  const moved = new Set<string>();
  for (const oldAreaId of request.areaIds) {
    const children = await listAllRecords(underArea(request.subDistrictId, oldAreaId, kind));
    await eachLimited(children, context.options.concurrency ?? 8, async (child) => {
      const result = await converge(context, child, moveStep(context, oldAreaId, kind));
      if (result !== undefined && isMovedHere(context, result)) moved.add(result.id);
    });
  }
  for (const child of await listAllRecords(underArea(request.subDistrictId, request.newArea.areaId, kind)))
    if (isMovedHere(context, child)) moved.add(child.id);
  return moved;
};

const isMovedHere = (context: Context, record: RegistryRecord) =>
  record.areaId === context.request.newArea.areaId &&
  context.merged.has((record.data as { mergedFrom?: string }).mergedFrom ?? '');

/** Where a record names an area: its ancestry, or (zones, devices) its own `areaId` attribute. */
const namedAreas = (record: RegistryRecord) => {
  const data = record.data as { areaId?: unknown };
  return [record.areaId, typeof data.areaId === 'string' ? data.areaId : undefined];
};

/** A compound-level record (zone, device) of an old area: it stays in the compound, naming the new area. */
const renameStep =
  (context: Context): Step =>
  (record) => {
    const [ancestry, own] = namedAreas(record);
    const oldAreaId = [ancestry, own].find((areaId) => areaId !== undefined && context.merged.has(areaId));
    if (oldAreaId === undefined) return undefined;
    const newAreaId = context.request.newArea.areaId;
    const data = record.data as Data;
    return {
      ...record,
      ...(ancestry !== undefined && context.merged.has(ancestry) ? { areaId: newAreaId } : {}),
      data: {
        ...data,
        ...(own !== undefined && context.merged.has(own) ? { areaId: newAreaId } : {}),
        mergedFrom: data.mergedFrom ?? oldAreaId,
      },
    };
  };

const namesNewArea = (context: Context, record: RegistryRecord) =>
  namedAreas(record).includes(context.request.newArea.areaId);

/** The compound's zones of the old areas, then its devices in those zones or naming an old area. */
const moveZonesAndDevices = async (context: Context) => {
  const { request } = context;
  const concurrency = context.options.concurrency ?? 8;
  const compound = { kind: 'compound' as const, id: request.compoundId };

  const zones = await listAllRecords(parentKeyOf(request.subDistrictId, compound, 'zone'));
  const mergedZones = new Set<string>();
  await eachLimited(zones, concurrency, async (zone) => {
    const result = await converge(context, zone, renameStep(context));
    if (
      result !== undefined &&
      namesNewArea(context, result) &&
      context.merged.has(`${result.data.mergedFrom}`)
    )
      mergedZones.add(result.id);
  });

  const devices = await listAllRecords<{ zoneId?: string }>(
    parentKeyOf(request.subDistrictId, compound, 'device'),
  );
  const mergedDevices = new Set<string>();
  await eachLimited(devices, concurrency, async (device) => {
    const result = await converge(context, device as RegistryRecord, renameStep(context));
    const inMergedZone = mergedZones.has(`${request.compoundId}.${device.data.zoneId}`);
    const listed = await moveDirectoryEntry(context, device.id);
    if ((result !== undefined && namesNewArea(context, result)) || inMergedZone || listed)
      mergedDevices.add(device.id);
  });
  return { zones: mergedZones.size, devices: mergedDevices.size };
};

/**
 * The device directory entry (what ingest and dispatch read) names the new area if it named an old
 * one. The store has only a blind put for the directory, so the change is an update conditional on the
 * area it replaces and the sub-district: a concurrent decommission or re-registration is never undone.
 * True when the entry (now) names the new area.
 */
const moveDirectoryEntry = async (context: Context, thingName: string): Promise<boolean> => {
  const { request } = context;
  const newAreaId = request.newArea.areaId;
  for (let attempt = 1; attempt <= 10; attempt++) {
    const entry = await getDeviceDirectory(thingName);
    if (entry === undefined || entry.subDistrictId !== request.subDistrictId) return false;
    if (entry.areaId === newAreaId) return true;
    if (entry.areaId === undefined || !context.merged.has(entry.areaId)) return false;
    try {
      await DeviceDirectoryEntity.build(UpdateItemCommand)
        .item({ thingName, areaId: newAreaId })
        .options({
          condition: {
            and: [
              { attr: 'areaId', eq: entry.areaId },
              { attr: 'subDistrictId', eq: request.subDistrictId },
            ],
          },
        })
        .send();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) continue;
      throw error;
    }
    wrote(context);
    return true;
  }
  throw new PreconditionFailedError(`The directory entry of ${thingName} kept changing.`);
};

/** Staff assignments: each old area in `areaIds` becomes the new area, listed once, where the first was. */
const reassignStep =
  (context: Context): Step =>
  (record) => {
    const areaIds = (record.data as { areaIds?: string[] }).areaIds ?? [];
    if (!areaIds.some((areaId) => context.merged.has(areaId))) return undefined;
    const newAreaId = context.request.newArea.areaId;
    const next: string[] = [];
    for (const areaId of areaIds) {
      const mapped = context.merged.has(areaId) ? newAreaId : areaId;
      if (!next.includes(mapped)) next.push(mapped);
    }
    return { ...record, data: { ...(record.data as Data), areaIds: next } };
  };

/** Every company's staff of the sub-district (a company may serve areas it has no contract with yet). */
const reassignStaff = async (context: Context): Promise<number> => {
  const { request } = context;
  const companies = await listAllRecords(parentKeyOf(request.subDistrictId, undefined, 'company'));
  let staff = 0;
  for (const company of companies) {
    const members = await listAllRecords(
      parentKeyOf(request.subDistrictId, { kind: 'company', id: company.id }, 'staff'),
    );
    await eachLimited(members, context.options.concurrency ?? 8, async (member) => {
      const result = await converge(context, member, reassignStep(context));
      if (
        ((result?.data as { areaIds?: string[] } | undefined)?.areaIds ?? []).includes(request.newArea.areaId)
      )
        staff++;
    });
  }
  return staff;
};

// ---------------------------------------------------------------------------------------------------
// 4. Committees and contracts of the old areas

/**
 * The committees to deregister: those whose term has not ended on the approval date, or, when an area
 * has none (a lapsed committee never succeeded is still the registered one), its latest. Earlier
 * committees are history already and are left as they are.
 */
const committeesToDeregister = (committees: RegistryRecord<CommitteeData>[], approvalDate: string) => {
  const current = committees.filter((committee) => (committee.data.termEndsOn ?? '9999') >= approvalDate);
  if (current.length > 0 || committees.length === 0) return current;
  const latest = committees.reduce((a, b) =>
    (b.data.termStartsOn ?? '') > (a.data.termStartsOn ?? '') ? b : a,
  );
  return [latest];
};

const endOldAreas = async (context: Context) => {
  const { request } = context;
  const concurrency = context.options.concurrency ?? 8;
  const approvalDate = shanghaiDate(request.approvedAt);
  const deregisterBy = plusDays(request.approvedAt, DEREGISTRATION_DAYS);
  const committees: MergeReport['committeesToDeregister'] = [];
  const contracts: MergeReport['contractsFlagged'] = [];
  for (const areaId of request.areaIds) {
    const [areaCommittees, areaContracts] = (await Promise.all(
      KEPT_AREA_KINDS.map((kind) => listAllRecords(underArea(request.subDistrictId, areaId, kind))),
    )) as [RegistryRecord<CommitteeData>[], RegistryRecord<ContractData>[]];

    await eachLimited(
      committeesToDeregister(areaCommittees, approvalDate),
      concurrency,
      async (committee) => {
        const result = await converge(context, committee as RegistryRecord, (record) =>
          (record.data as CommitteeData).deregistration !== undefined
            ? undefined
            : {
                ...record,
                data: {
                  ...(record.data as Data),
                  deregistration: {
                    reason: `area merged into ${request.newArea.areaId}`,
                    deregisterBy,
                    proposalId: request.proposalId,
                  },
                },
              },
        );
        const mark = (result?.data as CommitteeData | undefined)?.deregistration;
        if (mark?.proposalId === request.proposalId)
          committees.push({ committeeId: committee.id, areaId, deregisterBy: mark.deregisterBy });
      },
    );

    // Contracts that ended before the approval date need no notice; the others run on until the
    // merged area's general meeting hires a company, and are given notice from the approval.
    const running = areaContracts.filter((contract) => (contract.data.endsOn ?? '9999') >= approvalDate);
    await eachLimited(running, concurrency, async (contract) => {
      const result = await converge(context, contract as RegistryRecord, (record) => {
        const data = record.data as ContractData;
        if (data.mergerNotice !== undefined) return undefined;
        return {
          ...record,
          data: {
            ...(record.data as Data),
            mergerNotice: { proposalId: request.proposalId, noticeBy: noticeByOf(data, request.approvedAt) },
          },
        };
      });
      const data = result?.data as ContractData | undefined;
      if (data?.mergerNotice?.proposalId === request.proposalId)
        contracts.push({
          contractId: contract.id,
          companyId: data.companyId ?? contract.companyId ?? '',
          areaId,
          noticeBy: data.mergerNotice.noticeBy,
        });
    });
  }
  const byId =
    <T extends { areaId: string }>(key: (item: T) => string) =>
    (a: T, b: T) =>
      request.areaIds.indexOf(a.areaId) - request.areaIds.indexOf(b.areaId) ||
      (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  committees.sort(byId((item) => item.committeeId));
  contracts.sort(byId((item) => item.contractId));
  return { committees, contracts };
};

// ---------------------------------------------------------------------------------------------------

/**
 * Carries out an approved merger in the registry and reports what it did. Idempotent: a repeat, or a
 * run after a crash at any point, leaves the state one clean run leaves and answers the same report.
 * Throws BadRequestError (an area unknown or outside the compound, an invalid request) or
 * ConflictError (an area merged by another proposal, the new area id taken) before writing anything:
 * neither is worth a retry.
 */
export const carryOutMerge = async (
  request: MergeRequest,
  options: MergeOptions = {},
): Promise<MergeReport> => {
  const parsed = mergeRequestSchema.safeParse(request);
  if (!parsed.success)
    throw new BadRequestError(
      'The merge request is invalid.',
      parsed.error.issues.map((issue) => ({
        pointer: `/${issue.path.map(String).join('/')}`,
        detail: issue.message,
      })),
    );
  const valid = parsed.data;
  const context: Context = { request: valid, merged: new Set(valid.areaIds), writes: { count: 0 }, options };

  await establish(context, await validate(valid));
  const moved: Partial<Record<(typeof MOVED_AREA_KINDS)[number], Set<string>>> = {};
  for (const kind of MOVED_AREA_KINDS) moved[kind] = await moveAreaChildren(context, kind);
  const { zones, devices } = await moveZonesAndDevices(context);
  const staff = await reassignStaff(context);
  const { committees, contracts } = await endOldAreas(context);

  return {
    newAreaId: valid.newArea.areaId,
    areas: valid.areaIds.length,
    buildings: moved.building?.size ?? 0,
    units: moved.unit?.size ?? 0,
    devices,
    zones,
    staff,
    committeesToDeregister: committees,
    contractsFlagged: contracts,
    filingDueBy: plusDays(valid.approvedAt, FILING_DAYS),
  };
};
