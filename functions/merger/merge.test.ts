import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { startCivicTable } from '../../test/support/civic-table.js';
import type { RegistryRecord } from '../registry/store.js';
import { BadRequestError, ConflictError } from '../shared/errors.js';
import type { MergeReport, MergeRequest } from './merge.js';

// The merge against DynamoDB Local with the civic table as the stack declares it. Every scenario seeds
// its own sub-district (ids are a namespace per sub-district; thing names carry it too), so scenarios
// share one table and a whole sub-district's items can be compared, normalised, with another's.
let ddb: LocalDynamoDb;
let merge: typeof import('./merge.js');
let store: typeof import('../registry/store.js');
let service: typeof import('../registry/service.js');
let meetings: typeof import('../meetings/service.js');
let roster: typeof import('../registry/roster.js');
let clients: typeof import('../shared/clients.js');

beforeAll(async () => {
  ddb = await startCivicTable();
  merge = await import('./merge.js');
  store = await import('../registry/store.js');
  service = await import('../registry/service.js');
  meetings = await import('../meetings/service.js');
  roster = await import('../registry/roster.js');
  clients = await import('../shared/clients.js');
}, 90_000);
afterAll(() => ddb?.stop());

const COMPOUND = 'xiling';
const APPROVED_AT = '2026-03-10T02:00:00.000Z';
const position = { lat: 31.2, lon: 121.4 };

interface AreaSpec {
  areaId: string;
  companyId: string;
  /** Units per building, one entry per building. */
  buildings: number[];
}
interface Scenario {
  sd: string;
  areas: AreaSpec[];
}

const request = (
  sd: string,
  areaIds: string[],
  proposalId = 'p-1',
  newAreaId = 'xiling-united',
): MergeRequest => ({
  subDistrictId: sd,
  proposalId,
  compoundId: COMPOUND,
  newArea: { areaId: newAreaId, name: '西凌新村' },
  areaIds,
  approvedAt: APPROVED_AT,
});

/** Records as the registry's routes and the roster import write them. */
const seed = async ({ sd, areas }: Scenario) => {
  const { createRecord, parentKeyOf, putRecords, putDeviceDirectory, getRecord, replaceRecord } = store;
  const compound = await createRecord({
    kind: 'compound',
    id: COMPOUND,
    subDistrictId: sd,
    compoundId: COMPOUND,
    parentKey: parentKeyOf(sd, undefined, 'compound'),
    sortKey: COMPOUND,
    data: { name: '西凌新村' },
  });
  const companies = [...new Set(areas.map((area) => area.companyId))];
  for (const companyId of companies)
    await createRecord({
      kind: 'company',
      id: companyId,
      subDistrictId: sd,
      companyId,
      parentKey: parentKeyOf(sd, undefined, 'company'),
      sortKey: companyId,
      data: { name: `${companyId} 物业` },
    });
  for (const spec of areas) {
    const area = await createRecord({
      kind: 'area',
      id: spec.areaId,
      ...service.ancestryBelow(compound as RegistryRecord),
      areaId: spec.areaId,
      parentKey: parentKeyOf(sd, { kind: 'compound', id: COMPOUND }, 'area'),
      sortKey: spec.areaId,
      data: { name: `${spec.areaId} 区域` },
    });
    const below = service.ancestryBelow(area as RegistryRecord);
    const areaChild = (kind: 'building' | 'unit' | 'owner' | 'committee' | 'contract') =>
      parentKeyOf(sd, { kind: 'area', id: spec.areaId }, kind);
    for (const [index] of spec.buildings.entries())
      await createRecord({
        kind: 'building',
        id: `${spec.areaId}.${index + 1}`,
        ...below,
        parentKey: areaChild('building'),
        sortKey: `${index + 1}`,
        data: { building: `${index + 1}`, floors: 6 },
      });
    // The roster: unit r of building b owned by "owner b-r"; the last unit of the first building is
    // the developer's, and owner 1-1 also owns the area's last unit.
    const rows = spec.buildings.flatMap((units, b) =>
      Array.from({ length: units }, (_, r) => `${b + 1},${101 + r},88.50,业主${b + 1}-${r + 1},,`),
    );
    const lines = rows.map((row, index) =>
      index === rows.length - 1 && rows.length > 1
        ? `${row.split(',').slice(0, 3).join(',')},业主1-1,,`
        : row,
    );
    if (lines.length > 2) lines[1] = `${lines[1]?.split(',').slice(0, 3).join(',')},,,是`;
    const parsed = roster.parseRoster(
      ['楼号,室号,专有面积,业主姓名,手机号,开发商持有', ...lines].join('\n'),
      {
        areaId: spec.areaId,
      },
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    await putRecords([
      ...parsed.units.map(({ unitId, ownerIds, ...data }) => ({
        kind: 'unit' as const,
        id: unitId,
        ...below,
        ownerIds,
        parentKey: areaChild('unit'),
        sortKey: `${data.building}#${data.room}`,
        data,
        version: 1,
      })),
      ...parsed.owners.map(({ ownerId, ...data }) => ({
        kind: 'owner' as const,
        id: ownerId,
        ...below,
        ownerIds: [ownerId],
        parentKey: areaChild('owner'),
        sortKey: ownerId,
        data: JSON.parse(JSON.stringify(data)),
        version: 1,
      })),
    ]);
    // A fire lane of the area, with a geomagnetic sensor.
    const zoneId = `${spec.areaId}-lane`;
    await createRecord({
      kind: 'zone',
      id: `${COMPOUND}.${zoneId}`,
      ...service.ancestryBelow(compound as RegistryRecord),
      parentKey: parentKeyOf(sd, { kind: 'compound', id: COMPOUND }, 'zone'),
      sortKey: zoneId,
      data: { kind: 'fire-lane', name: `${spec.areaId} 消防通道`, areaId: spec.areaId, position },
    });
    const thingName = `${sd}-${spec.areaId}-gm`;
    await createRecord({
      kind: 'device',
      id: thingName,
      ...service.ancestryBelow(compound as RegistryRecord),
      parentKey: parentKeyOf(sd, { kind: 'compound', id: COMPOUND }, 'device'),
      sortKey: thingName,
      data: {
        thingName,
        type: 'geomagnetic-sensor',
        zoneId,
        position,
        zoneKind: 'fire-lane',
        installedAt: '2025-01-01T00:00:00.000Z',
        certificateId: `cert-${thingName}`,
        status: 'active',
      },
    });
    await putDeviceDirectory({
      thingName,
      subDistrictId: sd,
      compoundId: COMPOUND,
      zoneId,
      zoneKind: 'fire-lane',
      areaId: spec.areaId,
      type: 'geomagnetic-sensor',
      position,
      status: 'active',
    });
    // The committee in office, an earlier one (history), a running contract and one that ended.
    for (const [termStartsOn, termEndsOn] of [
      ['2019-01-01', '2024-01-01'],
      ['2024-01-01', '2029-01-01'],
    ] as const)
      await createRecord({
        kind: 'committee',
        id: `${spec.areaId}.${termStartsOn}`,
        ...below,
        parentKey: areaChild('committee'),
        sortKey: termStartsOn,
        data: { termStartsOn, termEndsOn, members: [{ name: '主任', role: 'chair' }] },
      });
    for (const [startsOn, endsOn] of [
      ['2020-01-01', '2023-12-31'],
      ['2024-01-01', '2028-12-31'],
    ] as const)
      await createRecord({
        kind: 'contract',
        id: `${spec.areaId}.${spec.companyId}.${startsOn}`,
        ...below,
        parentKey: areaChild('contract'),
        sortKey: startsOn,
        data: { companyId: spec.companyId, startsOn, endsOn, feePerSquareMetreFen: 180 },
      });
    const stored = await getRecord(sd, 'area', spec.areaId);
    if (stored) await replaceRecord({ ...stored, companyId: spec.companyId }, stored.version);
  }
  // Staff: a guard of every area, a guard of the first area only, and a manager of each company's first area.
  const first = areas[0] as AreaSpec;
  const staff = [
    { companyId: first.companyId, staffId: 'guard-all', areaIds: areas.map((area) => area.areaId) },
    { companyId: first.companyId, staffId: 'guard-one', areaIds: [first.areaId] },
    ...companies.map((companyId) => ({
      companyId,
      staffId: 'manager',
      areaIds: [areas.find((area) => area.companyId === companyId)?.areaId as string],
    })),
  ];
  for (const member of staff)
    await createRecord({
      kind: 'staff',
      id: `${member.companyId}.${member.staffId}`,
      subDistrictId: sd,
      companyId: member.companyId,
      parentKey: parentKeyOf(sd, { kind: 'company', id: member.companyId }, 'staff'),
      sortKey: member.staffId,
      data: {
        name: member.staffId,
        role: member.staffId === 'manager' ? 'manager' : 'guard',
        handheldThing: `${sd}-${member.staffId}-hh`,
        areaIds: member.areaIds,
      },
    });
};

/** Every item of the sub-district (its registry records and its devices' directory entries). */
const itemsOf = async (sd: string): Promise<Record<string, unknown>[]> => {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await clients.documentClient.send(
      new ScanCommand({ TableName: process.env.TABLE_NAME, ExclusiveStartKey }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey !== undefined);
  return items
    .filter((item) => `${item.pk}`.includes(`#${sd}#`) || `${item.pk}`.startsWith(`THING#${sd}-`))
    .sort((a, b) => (`${a.pk}|${a.sk}` < `${b.pk}|${b.sk}` ? -1 : 1));
};

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, member: unknown) =>
    member !== null && typeof member === 'object' && !Array.isArray(member)
      ? Object.fromEntries(
          Object.entries(member as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : member,
  );

/**
 * The sub-district's state for comparing runs: versions and the toolbox's timestamps left out (the two
 * seeds and runs happen at different moments), the sub-district's id replaced by a placeholder.
 */
const stateOf = async (sd: string) =>
  (await itemsOf(sd)).map((item) => {
    const { version: _version, _ct, _md, ...rest } = item;
    return canonical(rest).replaceAll(sd, 'SD');
  });

const listUnder = (
  sd: string,
  parent: { kind: 'area' | 'compound'; id: string },
  kind: Parameters<typeof store.parentKeyOf>[2],
) => store.listAllRecords(store.parentKeyOf(sd, parent, kind));

const THREE_AREAS = (sd: string): Scenario => ({
  sd,
  areas: [
    { areaId: 'xl-1', companyId: 'jinqiao', buildings: [3, 2] },
    { areaId: 'xl-2', companyId: 'jinqiao', buildings: [2, 2, 1] },
    { areaId: 'xl-3', companyId: 'hengsheng', buildings: [4] },
  ],
});

describe('carryOutMerge', () => {
  it('merges two of three areas: children under the new area, the third untouched, committees and contracts marked', async () => {
    const sd = 'sd-merge-basic';
    await seed(THREE_AREAS(sd));
    const untouched = (await itemsOf(sd)).filter((item) => canonical(item).includes('xl-3'));

    const report = await merge.carryOutMerge(request(sd, ['xl-1', 'xl-2']));

    const united = { kind: 'area' as const, id: 'xiling-united' };
    const newArea = await store.getRecord(sd, 'area', 'xiling-united');
    expect(newArea).toMatchObject({
      kind: 'area',
      subDistrictId: sd,
      compoundId: COMPOUND,
      areaId: 'xiling-united',
      companyId: 'jinqiao', // both old areas were served by it: dispatch still finds a company
      parentKey: store.parentKeyOf(sd, { kind: 'compound', id: COMPOUND }, 'area'),
      sortKey: 'xiling-united',
      data: { name: '西凌新村', createdByMerger: 'p-1', mergedFrom: ['xl-1', 'xl-2'] },
    });
    for (const areaId of ['xl-1', 'xl-2']) {
      expect((await store.getRecord(sd, 'area', areaId))?.data).toMatchObject({
        mergedInto: 'xiling-united',
        mergedAt: APPROVED_AT,
        mergedByProposal: 'p-1',
      });
      for (const kind of ['building', 'unit', 'owner'] as const)
        expect(await listUnder(sd, { kind: 'area', id: areaId }, kind)).toEqual([]);
    }

    const buildings = await listUnder(sd, united, 'building');
    expect(buildings.map((b) => b.id).sort()).toEqual(['xl-1.1', 'xl-1.2', 'xl-2.1', 'xl-2.2', 'xl-2.3']);
    const units = await listUnder(sd, united, 'unit');
    expect(units).toHaveLength(10);
    for (const unit of units) {
      expect(unit.areaId).toBe('xiling-united');
      expect(unit.ownerIds?.length).toBeGreaterThan(0);
      expect(unit.id.startsWith(`${(unit.data as { mergedFrom: string }).mergedFrom}.`)).toBe(true);
    }
    const owners = await listUnder(sd, united, 'owner');
    expect(owners.every((owner) => owner.areaId === 'xiling-united')).toBe(true);
    expect(new Set(units.flatMap((unit) => unit.ownerIds))).toEqual(new Set(owners.map((owner) => owner.id)));

    // The voter roll of the merged area's meetings reads exactly the merged areas' units.
    const roll = await meetings.unitsOfArea(sd, 'xiling-united');
    expect(roll.map((unit) => unit.unitId).sort()).toEqual(units.map((unit) => unit.id).sort());
    expect(await meetings.unitsOfArea(sd, 'xl-1')).toEqual([]);
    expect(await meetings.unitsOfArea(sd, 'xl-2')).toEqual([]);
    expect(await meetings.unitsOfArea(sd, 'xl-3')).toHaveLength(4);

    const zones = await listUnder(sd, { kind: 'compound', id: COMPOUND }, 'zone');
    expect(
      Object.fromEntries(zones.map((zone) => [zone.id, (zone.data as { areaId: string }).areaId])),
    ).toEqual({
      [`${COMPOUND}.xl-1-lane`]: 'xiling-united',
      [`${COMPOUND}.xl-2-lane`]: 'xiling-united',
      [`${COMPOUND}.xl-3-lane`]: 'xl-3',
    });
    expect((await store.getDeviceDirectory(`${sd}-xl-1-gm`))?.areaId).toBe('xiling-united');
    expect((await store.getDeviceDirectory(`${sd}-xl-2-gm`))?.areaId).toBe('xiling-united');
    expect((await store.getDeviceDirectory(`${sd}-xl-3-gm`))?.areaId).toBe('xl-3');

    const staffAreas = async (id: string) =>
      ((await store.getRecord(sd, 'staff', id))?.data as { areaIds: string[] } | undefined)?.areaIds;
    expect(await staffAreas('jinqiao.guard-all')).toEqual(['xiling-united', 'xl-3']);
    expect(await staffAreas('jinqiao.guard-one')).toEqual(['xiling-united']);
    expect(await staffAreas('jinqiao.manager')).toEqual(['xiling-united']);
    expect(await staffAreas('hengsheng.manager')).toEqual(['xl-3']);

    // The committee in office is marked, the earlier one (history) is not; nothing is deleted.
    const committees = await listUnder(sd, { kind: 'area', id: 'xl-1' }, 'committee');
    expect(committees).toHaveLength(2);
    expect(committees.find((c) => c.id === 'xl-1.2024-01-01')?.data).toMatchObject({
      deregistration: {
        reason: 'area merged into xiling-united',
        deregisterBy: '2026-04-09T02:00:00.000Z',
        proposalId: 'p-1',
      },
    });
    expect(committees.find((c) => c.id === 'xl-1.2019-01-01')?.data).not.toHaveProperty('deregistration');
    const contract = await store.getRecord(sd, 'contract', 'xl-2.jinqiao.2024-01-01');
    expect(contract?.data).toMatchObject({
      mergerNotice: { proposalId: 'p-1', noticeBy: '2026-06-10T02:00:00.000Z' },
    });
    expect((await store.getRecord(sd, 'contract', 'xl-2.jinqiao.2020-01-01'))?.data).not.toHaveProperty(
      'mergerNotice',
    );

    expect(report).toEqual({
      newAreaId: 'xiling-united',
      areas: 2,
      buildings: 5,
      units: 10,
      devices: 2,
      zones: 2,
      staff: 3,
      committeesToDeregister: [
        { committeeId: 'xl-1.2024-01-01', areaId: 'xl-1', deregisterBy: '2026-04-09T02:00:00.000Z' },
        { committeeId: 'xl-2.2024-01-01', areaId: 'xl-2', deregisterBy: '2026-04-09T02:00:00.000Z' },
      ],
      contractsFlagged: [
        {
          contractId: 'xl-1.jinqiao.2024-01-01',
          companyId: 'jinqiao',
          areaId: 'xl-1',
          noticeBy: '2026-06-10T02:00:00.000Z',
        },
        {
          contractId: 'xl-2.jinqiao.2024-01-01',
          companyId: 'jinqiao',
          areaId: 'xl-2',
          noticeBy: '2026-06-10T02:00:00.000Z',
        },
      ],
      filingDueBy: '2026-03-30T02:00:00.000Z',
    } satisfies MergeReport);

    // The third area, everything naming it, is item for item as it was (versions included).
    const third = (await itemsOf(sd)).filter(
      (item) => canonical(item).includes('xl-3') && !canonical(item).includes('xiling-united'),
    );
    expect(third.map(canonical)).toEqual(
      untouched.filter((item) => !`${item.pk}`.endsWith('#jinqiao.guard-all')).map(canonical),
    );
  });

  it('run twice, or twice at once, leaves the state of one run and answers the same report', async () => {
    const once = 'sd-merge-once';
    const twice = 'sd-merge-twice';
    const parallel = 'sd-merge-parallel';
    for (const sd of [once, twice, parallel]) await seed(THREE_AREAS(sd));
    const report = await merge.carryOutMerge(request(once, ['xl-1', 'xl-2']));

    let writes = 0;
    const first = await merge.carryOutMerge(request(twice, ['xl-1', 'xl-2']));
    const second = await merge.carryOutMerge(request(twice, ['xl-1', 'xl-2']), {
      afterWrite: (n) => {
        writes = n;
      },
    });
    expect(writes).toBe(0); // the repeat finds everything done and writes nothing
    expect(first).toEqual(report);
    expect(second).toEqual(report);
    expect(await stateOf(twice)).toEqual(await stateOf(once));

    const both = await Promise.all([
      merge.carryOutMerge(request(parallel, ['xl-1', 'xl-2'])),
      merge.carryOutMerge(request(parallel, ['xl-1', 'xl-2'])),
    ]);
    expect(both).toEqual([report, report]);
    expect(await stateOf(parallel)).toEqual(await stateOf(once));
  });

  it('resumes after a crash at any write: the end state and the report equal a clean run', async () => {
    let scenario = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), {
          minLength: 2,
          maxLength: 3,
        }),
        fc.boolean(),
        // Where the crash falls, as a fraction of the clean run's writes (unbiased: small numbers are not favoured).
        fc.noBias(fc.integer({ min: 0, max: 9_999 })),
        fc.integer({ min: 1, max: 4 }),
        async (buildings, oneCompany, crashPoint, concurrency) => {
          scenario++;
          const spec = (sd: string): Scenario => ({
            sd,
            areas: buildings.map((units, index) => ({
              areaId: `area-${index + 1}`,
              companyId: oneCompany || index === 0 ? 'jinqiao' : 'hengsheng',
              buildings: units,
            })),
          });
          const merged = buildings
            .map((_, index) => `area-${index + 1}`)
            .slice(0, Math.max(2, buildings.length - 1));
          const clean = `sd-clean-${scenario}`;
          const crashed = `sd-crashed-${scenario}`;
          await seed(spec(clean));
          await seed(spec(crashed));

          let total = 0;
          const report = await merge.carryOutMerge(request(clean, merged), {
            afterWrite: (n) => {
              total = n;
            },
          });
          const crashAt = 1 + Math.floor((crashPoint * total) / 10_000);
          await expect(
            merge.carryOutMerge(request(crashed, merged), {
              concurrency,
              afterWrite: (n) => {
                if (n >= crashAt) throw new Error(`crash after write ${n}`);
              },
            }),
          ).rejects.toThrow(/crash after write/);
          const resumed = await merge.carryOutMerge(request(crashed, merged), { concurrency });

          expect(resumed).toEqual(report);
          expect(await stateOf(crashed)).toEqual(await stateOf(clean));
          expect(report.units).toBe(
            merged.reduce((sum, _, index) => sum + (buildings[index] ?? []).reduce((a, b) => a + b, 0), 0),
          );
          expect((await meetings.unitsOfArea(crashed, 'xiling-united')).length).toBe(report.units);
        },
      ),
      { numRuns: 8, seed: 20260310 },
    );
  });

  describe('bad input changes nothing', () => {
    const sd = 'sd-merge-bad';
    beforeAll(async () => {
      await seed(THREE_AREAS(sd));
      const { createRecord, parentKeyOf } = store;
      // Another compound with an area, and an area id taken by an ordinary area.
      const other = await createRecord({
        kind: 'compound',
        id: 'other',
        subDistrictId: sd,
        compoundId: 'other',
        parentKey: parentKeyOf(sd, undefined, 'compound'),
        sortKey: 'other',
        data: { name: '别的小区' },
      });
      for (const [compound, areaId] of [
        [other, 'other-1'],
        [await store.getRecord(sd, 'compound', COMPOUND), 'taken'],
      ] as const)
        await createRecord({
          kind: 'area',
          id: areaId,
          ...service.ancestryBelow(compound as RegistryRecord),
          areaId,
          parentKey: parentKeyOf(sd, { kind: 'compound', id: compound?.id as string }, 'area'),
          sortKey: areaId,
          data: { name: areaId },
        });
    });

    const unchanged = async (
      run: () => Promise<unknown>,
      error: typeof BadRequestError | typeof ConflictError,
    ) => {
      const before = (await itemsOf(sd)).map(canonical);
      await expect(run()).rejects.toBeInstanceOf(error);
      expect((await itemsOf(sd)).map(canonical)).toEqual(before);
    };

    it('an unknown area, an area of another compound, an unknown compound, an invalid request: 400', async () => {
      await unchanged(() => merge.carryOutMerge(request(sd, ['xl-1', 'no-such-area'])), BadRequestError);
      await unchanged(() => merge.carryOutMerge(request(sd, ['xl-1', 'other-1'])), BadRequestError);
      await unchanged(
        () => merge.carryOutMerge({ ...request(sd, ['xl-1', 'xl-2']), compoundId: 'nowhere' }),
        BadRequestError,
      );
      await unchanged(() => merge.carryOutMerge(request(sd, ['xl-1'])), BadRequestError);
      await unchanged(() => merge.carryOutMerge(request(sd, ['xl-1', 'xl-1'])), BadRequestError);
      await unchanged(
        () => merge.carryOutMerge(request(sd, ['xl-1', 'xiling-united'], 'p-1', 'xiling-united')),
        BadRequestError,
      );
      await unchanged(
        () => merge.carryOutMerge({ ...request(sd, ['xl-1', 'xl-2']), approvedAt: 'yesterday' }),
        BadRequestError,
      );
    });

    it('a new area id already taken by an area the proposal did not create: 409', async () => {
      await unchanged(
        () => merge.carryOutMerge(request(sd, ['xl-1', 'xl-2'], 'p-1', 'taken')),
        ConflictError,
      );
    });

    it('an area already merged by another proposal: 409', async () => {
      await merge.carryOutMerge(request(sd, ['xl-1', 'xl-2'], 'p-first', 'first-united'));
      await unchanged(() => merge.carryOutMerge(request(sd, ['xl-2', 'xl-3'], 'p-second')), ConflictError);
      // The same proposal naming another new area for areas it merged is refused as well.
      await unchanged(
        () => merge.carryOutMerge(request(sd, ['xl-1', 'xl-2'], 'p-first', 'elsewhere')),
        ConflictError,
      );
    });
  });
});
