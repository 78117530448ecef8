import { BadRequestError } from '../shared/errors.js';
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import { parseRoster } from './roster.js';
import { rosterRoutes } from './routes.js';
import { ancestryBelow, loadVisible } from './service.js';
import { listAllRecords, parentKeyOf, putRecords, type RegistryRecord } from './store.js';

/** JSON with sorted keys and no undefined members: DynamoDB returns map attributes in any order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, member: unknown) =>
    member !== null && typeof member === 'object' && !Array.isArray(member)
      ? Object.fromEntries(
          Object.entries(member as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : member,
  );

const sameContent = (a: RegistryRecord, b: { data: unknown; ownerIds?: string[] }) =>
  canonical(a.data) === canonical(b.data) && canonical(a.ownerIds ?? []) === canonical(b.ownerIds ?? []);

/**
 * POST /areas/{areaId}/roster (text/csv). The whole file is validated before anything is written: one
 * bad row rejects the file with every failing line. Then only new or changed units and owners are
 * written, so re-importing the same file changes nothing and a changed row touches that record only.
 * Units or owners absent from the file are kept (reported as `absent`): removing a home from the
 * register is a decision, not a side effect of an import.
 */
export const importRoster = httpRoute(rosterRoutes.importRoster, async ({ caller, params, text }) => {
  const area = await loadVisible(caller, 'area', params.areaId);
  const parsed = parseRoster(text as string, { areaId: area.id });
  if (!parsed.ok) {
    throw new BadRequestError(
      `The roster has ${parsed.errors.length} invalid line(s); nothing was imported.`,
      [
        ...parsed.errors.map((error) => ({
          pointer: `/body/lines/${error.line}${error.field ? `/${error.field}` : ''}`,
          detail: `line ${error.line}${error.field ? ` (${error.field})` : ''}: ${error.reason}`,
        })),
      ],
    );
  }

  const ancestry = ancestryBelow(area);
  const unitParent = parentKeyOf(area.subDistrictId, { kind: 'area', id: area.id }, 'unit');
  const ownerParent = parentKeyOf(area.subDistrictId, { kind: 'area', id: area.id }, 'owner');
  const [existingUnits, existingOwners] = await Promise.all([
    listAllRecords(unitParent),
    listAllRecords(ownerParent),
  ]);
  const unitsById = new Map(existingUnits.map((record) => [record.id, record]));
  const ownersById = new Map(existingOwners.map((record) => [record.id, record]));

  const writes: RegistryRecord[] = [];
  const counts = {
    units: { created: 0, updated: 0, unchanged: 0, absent: 0 },
    owners: { created: 0, updated: 0, unchanged: 0, absent: 0 },
  };
  const stage = (
    kind: 'unit' | 'owner',
    candidate: Omit<RegistryRecord, 'version'>,
    existing: RegistryRecord | undefined,
  ) => {
    const tally = kind === 'unit' ? counts.units : counts.owners;
    if (existing === undefined) {
      tally.created++;
      writes.push({ ...candidate, version: 1 });
    } else if (sameContent(existing, candidate)) {
      tally.unchanged++;
    } else {
      tally.updated++;
      writes.push({ ...candidate, version: existing.version + 1 });
    }
  };

  for (const unit of parsed.units) {
    const { unitId, ownerIds, ...data } = unit;
    stage(
      'unit',
      {
        kind: 'unit',
        id: unitId,
        ...ancestry,
        ownerIds,
        parentKey: unitParent,
        sortKey: `${unit.building}#${unit.room}`,
        data,
      },
      unitsById.get(unitId),
    );
  }
  for (const owner of parsed.owners) {
    const { ownerId, ...data } = owner;
    stage(
      'owner',
      {
        kind: 'owner',
        id: ownerId,
        ...ancestry,
        ownerIds: [ownerId],
        parentKey: ownerParent,
        sortKey: ownerId,
        data: JSON.parse(JSON.stringify(data)),
      },
      ownersById.get(ownerId),
    );
  }
  const seenUnits = new Set(parsed.units.map((unit) => unit.unitId));
  const seenOwners = new Set(parsed.owners.map((owner) => owner.ownerId));
  counts.units.absent = existingUnits.filter((record) => !seenUnits.has(record.id)).length;
  counts.owners.absent = existingOwners.filter((record) => !seenOwners.has(record.id)).length;

  await putRecords(writes);
  return json(200, {
    areaId: area.id,
    rows: parsed.units.length,
    ownerCount: parsed.owners.length,
    totalArea: parsed.totalArea,
    ...counts,
  });
});

/** The handler of the roster import's function (see routeDispatcher). */
export const dispatch = routeDispatcher(rosterRoutes, 'registry/roster.handler.ts', { importRoster });
