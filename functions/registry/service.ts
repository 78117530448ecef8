/** Registry use cases shared by the handlers: tenancy-checked loads, creates, lists and updates. */
import type { Caller } from '../shared/auth.js';
import { BadRequestError, NotFoundError, PreconditionFailedError } from '../shared/errors.js';
import { type Ancestry, inTenancy, type Kind, maskPhone, PERMISSIONS, parseIfMatch } from './domain.js';
import {
  createRecord,
  getRecord,
  listRecords,
  parentKeyOf,
  type RegistryRecord,
  replaceRecord,
} from './store.js';

/** A record the caller may see, or 404 — whether it does not exist or lies outside the tenancy. */
export const loadVisible = async <T = Record<string, unknown>>(
  caller: Caller,
  kind: Kind,
  id: string,
): Promise<RegistryRecord<T>> => {
  if (caller.subDistrictId === undefined) throw new NotFoundError(`No ${kind} ${id}.`);
  const record = await getRecord<T>(caller.subDistrictId, kind, id);
  if (record === undefined || !inTenancy(caller, record)) throw new NotFoundError(`No ${kind} ${id}.`);
  return record;
};

/** The ancestry a child inherits from its parent record. */
export const ancestryBelow = (parent: RegistryRecord): Ancestry => ({
  subDistrictId: parent.subDistrictId,
  compoundId: parent.kind === 'compound' ? parent.id : parent.compoundId,
  areaId: parent.kind === 'area' ? parent.id : parent.areaId,
  companyId: parent.kind === 'company' ? parent.id : parent.companyId,
});

/** What callers see of a record: its attributes, its place in the tenancy and its version. */
export const present = (record: RegistryRecord, options: { maskPhones?: boolean } = {}) => {
  const data = { ...(record.data as Record<string, unknown>) };
  if (options.maskPhones && typeof data.phone === 'string') data.phone = maskPhone(data.phone);
  return {
    id: record.id,
    ...data,
    subDistrictId: record.subDistrictId,
    ...(record.compoundId ? { compoundId: record.compoundId } : {}),
    ...(record.areaId ? { areaId: record.areaId } : {}),
    ...(record.companyId ? { companyId: record.companyId } : {}),
    version: record.version,
  };
};

export const etag = (record: RegistryRecord) => `"${record.version}"`;

/** Creates a record under a parent the caller can see; the tenancy comes from the parent, never the body. */
export const createUnder = async <T extends Record<string, unknown>>(
  caller: Caller,
  parent: { kind: Kind; id: string } | 'sub-district',
  kind: Kind,
  id: string,
  data: T,
  options: { sortKey?: string; extra?: Partial<Ancestry> } = {},
): Promise<RegistryRecord<T>> => {
  let ancestry: Ancestry;
  let parentKey: string;
  if (parent === 'sub-district') {
    if (caller.subDistrictId === undefined) throw new NotFoundError('Your token names no sub-district.');
    ancestry = { subDistrictId: caller.subDistrictId };
    parentKey = parentKeyOf(caller.subDistrictId, undefined, kind);
  } else {
    const parentRecord = await loadVisible(caller, parent.kind, parent.id);
    ancestry = ancestryBelow(parentRecord);
    parentKey = parentKeyOf(parentRecord.subDistrictId, parent, kind);
  }
  const record = { kind, id, ...ancestry, ...options.extra, parentKey, sortKey: options.sortKey ?? id, data };
  if (!inTenancy(caller, record)) throw new NotFoundError('That parent is outside your tenancy.');
  return createRecord<T>(record);
};

/**
 * Whether the caller sees records of `kind` only as an owner (their own units, their own owner record):
 * no other role of theirs may read the kind, so a Query of the whole parent would return pages of
 * other people's records, filtered away to nothing.
 */
const onlyAsOwner = (caller: Caller, kind: Kind) =>
  (kind === 'unit' || kind === 'owner') &&
  caller.roles.includes('owner') &&
  caller.roles.every((role) => role === 'owner' || !PERMISSIONS[kind].read.includes(role));

/**
 * Lists a parent's children the caller may see. Owners get their own units (or owner record) read
 * directly, in one page, instead of a page of the whole area filtered down; everyone else a Query of
 * the parent's children, whose records all lie in the caller's tenancy once the parent does.
 */
export const listUnder = async (
  caller: Caller,
  parent: { kind: Kind; id: string } | 'sub-district',
  kind: Kind,
  page: { limit: number; startKey?: Record<string, unknown>; sortKeyPrefix?: string },
) => {
  let parentKey: string;
  if (parent === 'sub-district') {
    if (caller.subDistrictId === undefined) return { items: [], lastKey: undefined };
    parentKey = parentKeyOf(caller.subDistrictId, undefined, kind);
  } else {
    const parentRecord = await loadVisible(caller, parent.kind, parent.id);
    parentKey = parentKeyOf(parentRecord.subDistrictId, parent, kind);
    if (onlyAsOwner(caller, kind))
      return { items: await ownRecords(caller, parentRecord, kind, page), lastKey: undefined };
  }
  const result = await listRecords(parentKey, page);
  return { items: result.items.filter((record) => inTenancy(caller, record)), lastKey: result.lastKey };
};

/** An owner's own units (from their owner record) or owner record under a parent, in sort-key order. */
const ownRecords = async (
  caller: Caller,
  parent: RegistryRecord,
  kind: Kind,
  page: { sortKeyPrefix?: string },
): Promise<RegistryRecord[]> => {
  if (caller.ownerId === undefined) return [];
  const owner = await getRecord<{ unitIds?: string[] }>(parent.subDistrictId, 'owner', caller.ownerId);
  if (owner === undefined) return [];
  const candidates =
    kind === 'owner'
      ? [owner as RegistryRecord]
      : await Promise.all(
          (owner.data.unitIds ?? []).map((unitId) => getRecord(parent.subDistrictId, 'unit', unitId)),
        );
  const parentKey = parentKeyOf(parent.subDistrictId, { kind: parent.kind, id: parent.id }, kind);
  return candidates
    .filter(
      (record): record is RegistryRecord =>
        record !== undefined &&
        record.parentKey === parentKey &&
        inTenancy(caller, record) &&
        (page.sortKeyPrefix === undefined || record.sortKey.startsWith(page.sortKeyPrefix)),
    )
    .sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
};

/** Applies a patch when If-Match names the current version: 428-style misuse is a 400, a stale one 412. */
export const updateVisible = async (
  caller: Caller,
  kind: Kind,
  id: string,
  ifMatch: string | undefined,
  patch: Record<string, unknown>,
) => {
  const expected = parseIfMatch(ifMatch);
  if (expected === undefined) {
    throw new BadRequestError('Send If-Match with the ETag you read.', [
      { pointer: '/headers/if-match', detail: 'Required' },
    ]);
  }
  if (Number.isNaN(expected)) {
    throw new BadRequestError('If-Match must be an ETag such as "3".', [
      { pointer: '/headers/if-match', detail: 'Invalid' },
    ]);
  }
  const current = await loadVisible(caller, kind, id);
  if (expected !== '*' && expected !== current.version) throw new PreconditionFailedError();
  const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
  return replaceRecord(
    { ...current, data: { ...(current.data as Record<string, unknown>), ...defined } },
    current.version,
  );
};
