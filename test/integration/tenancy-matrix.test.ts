/**
 * The tenancy matrix: every registry route (the registry's, the roster import's and the device
 * registration's catalogues) and every meetings route × every role × {own records, neighbour records (same
 * sub-district, outside the token's compounds/areas/company/owner), foreign records (another
 * sub-district)}, run against the local cloud. The expected status of each case is computed from the
 * domain's own rules (the route's roles, then `inTenancy` on every record the handler loads or
 * creates), never written by hand, so a change to the rules changes the expectations with it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meetingsRoutes } from '../../functions/meetings/routes.js';
import { type Ancestry, inTenancy, type Kind } from '../../functions/registry/domain.js';
import { ownerIdOf, unitIdOf } from '../../functions/registry/roster.js';
import { deviceRoutes, registryRoutes, rosterRoutes } from '../../functions/registry/routes.js';
import { type Caller, ROLES, type Role } from '../../functions/shared/auth.js';
import type { RouteDefinition } from '../../functions/shared/routes.js';
import type { LocalCloud } from '../../local/cloud.js';
import { eventually, startTestCloud } from '../support/cloud.js';

type Tenant = 'a' | 'b';
type RecordModel = Ancestry & { kind: Kind; id: string; parent: string };

/** Ids a request can name. */
interface Refs {
  compoundId: string;
  areaId: string;
  companyId: string;
  unitId: string;
  ownerId: string;
  thingName: string;
  caseworkerId: string;
}

/**
 * own: tenant A's records inside the scope of A's tokens. neighbour: A's records outside that scope
 * (another compound, area and company; another owner's unit in the same area). foreign: tenant B's.
 * mixed: A's path, B's record in the body. (A create naming an id that B uses is no separate case: ids
 * are a namespace per sub-district, so it is an ordinary create of A's own record; registry.test.ts checks
 * that B stays untouched.)
 */
type Variant = 'own' | 'neighbour' | 'foreign' | 'mixed';

const SD = { a: 'sd-a', b: 'sd-b' } as const;
const refsOf = (tenant: Tenant, neighbour = false): Refs => {
  const n = neighbour ? '2' : '';
  return {
    compoundId: `cpd-${tenant}${n}`,
    areaId: `area-${tenant}${n}`,
    companyId: `co-${tenant}${n}`,
    // The neighbour unit and owner share the own area: only the owner role is kept out of them.
    unitId: `unit-${tenant}-${neighbour ? 2 : 1}`,
    ownerId: `own-${tenant}${neighbour ? 2 : 1}`,
    thingName: `thing-${tenant}-${neighbour ? 2 : 1}`,
    caseworkerId: `cw-${tenant}${n}`,
  };
};
const REFS: Record<'own' | 'neighbour' | 'foreign', Refs> = {
  own: refsOf('a'),
  neighbour: refsOf('a', true),
  foreign: refsOf('b'),
};

/** What the store holds after the arrange step (checked against the API before the matrix runs). */
const worldOf = (tenant: Tenant): RecordModel[] => {
  const subDistrictId = SD[tenant];
  const records: RecordModel[] = [];
  for (const neighbour of [false, true]) {
    const r = refsOf(tenant, neighbour);
    const inCompound = { subDistrictId, compoundId: r.compoundId };
    const inArea = { ...inCompound, areaId: r.areaId, companyId: r.companyId };
    const sd = `SD#${subDistrictId}`;
    records.push(
      { kind: 'compound', id: r.compoundId, parent: sd, ...inCompound },
      { kind: 'company', id: r.companyId, parent: sd, subDistrictId, companyId: r.companyId },
      { kind: 'area', id: r.areaId, parent: `COMPOUND#${r.compoundId}`, ...inArea },
      {
        kind: 'contract',
        id: `${r.areaId}.${r.companyId}.2024-01-01`,
        parent: `AREA#${r.areaId}`,
        ...inArea,
      },
      { kind: 'building', id: `${r.areaId}.1`, parent: `AREA#${r.areaId}`, ...inArea },
      { kind: 'committee', id: `${r.areaId}.2024-01-01`, parent: `AREA#${r.areaId}`, ...inArea },
      {
        kind: 'staff',
        id: `${r.companyId}.guard`,
        parent: `COMPANY#${r.companyId}`,
        subDistrictId,
        companyId: r.companyId,
      },
      { kind: 'caseworker', id: r.caseworkerId, parent: sd, subDistrictId },
      { kind: 'zone', id: `${r.compoundId}.fire-lane`, parent: `COMPOUND#${r.compoundId}`, ...inCompound },
      { kind: 'device', id: r.thingName, parent: `COMPOUND#${r.compoundId}`, ...inCompound },
    );
  }
  // Units 1 and 2 and their owners live in the first area, 3 and 4 in the neighbour area (where the
  // office's meetings need owners too); each owner holds one unit.
  for (const k of [1, 2, 3, 4]) {
    const home = refsOf(tenant, k > 2);
    const inArea = {
      subDistrictId,
      compoundId: home.compoundId,
      areaId: home.areaId,
      companyId: home.companyId,
    };
    const ownerId = `own-${tenant}${k}`;
    records.push(
      {
        kind: 'unit',
        id: `unit-${tenant}-${k}`,
        parent: `AREA#${home.areaId}`,
        ...inArea,
        ownerIds: [ownerId],
      },
      { kind: 'owner', id: ownerId, parent: `AREA#${home.areaId}`, ...inArea, ownerIds: [ownerId] },
    );
  }
  return records;
};
/** The world as arranged before any device is registered (devices registered later: see REGISTERED). */
const BASE_WORLD = [...worldOf('a'), ...worldOf('b')];
const recordOf = (kind: Kind, id: string): RecordModel => {
  const found = BASE_WORLD.find((record) => record.kind === kind && record.id === id);
  if (found === undefined) throw new Error(`no ${kind} ${id} in the arranged world`);
  return found;
};

/** Every token of the matrix is scoped to tenant A's own records. */
const callerOf = (role: Role): Caller => ({
  sub: role === 'caseworker' ? REFS.own.caseworkerId : `${role}-a`,
  roles: [role],
  subDistrictId: SD.a,
  compoundIds: [REFS.own.compoundId],
  areaIds: [REFS.own.areaId],
  companyId: REFS.own.companyId,
  ownerId: REFS.own.ownerId,
});

/** The ancestry a child inherits from its parent (as registry/service.ts's ancestryBelow). */
const below = (parent: RecordModel): Ancestry => ({
  subDistrictId: parent.subDistrictId,
  compoundId: parent.kind === 'compound' ? parent.id : parent.compoundId,
  areaId: parent.kind === 'area' ? parent.id : parent.areaId,
  companyId: parent.kind === 'company' ? parent.id : parent.companyId,
});
const child = (parent: RecordModel, kind: Kind, id: string, extra: Partial<Ancestry> = {}) => ({
  ...below(parent),
  ...extra,
  kind,
  id,
});

interface CaseRequest {
  method: string;
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (with the content type its headers name). */
  text?: string;
  headers?: Record<string, string>;
}
interface Scoped {
  kind: Kind;
  id: string;
  subDistrictId: string;
  compoundId?: string;
  areaId?: string;
  companyId?: string;
  ownerIds?: string[];
}

/** How the matrix exercises one route: the request, and the records the handler checks the caller against. */
interface MatrixSpec {
  variants: readonly Variant[];
  request(refs: Refs, n: number, variant: Variant, role: Role): Omit<CaseRequest, 'method'>;
  /** Records loaded (and, for creates, the record created) — each must be inside the caller's tenancy. */
  scope(refs: Refs, n: number, caller: Caller, variant: Variant): Scoped[];
  /** For list routes: the kind listed and its parent key, to check what the list shows. */
  lists?: { kind: Kind; parent(refs: Refs, caller: Caller): string };
  /** For the mixed variant: A's ids in the path, one of B's in the body. */
  mixed?: Refs;
  /** For a case that succeeded: what is wrong with its answer, if anything (the success must be real). */
  check?(body: unknown, n: number): string | undefined;
}

const PATH_SCOPED = ['own', 'neighbour', 'foreign'] as const;
const dateFor = (n: number, plusYears = 0) =>
  new Date(Date.UTC(2030 + plusYears, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);
const position = { lat: 31.2, lon: 121.4 };
const sdCreate = (kind: Kind, id: string, caller: Caller, extra: Partial<Ancestry> = {}) => ({
  kind,
  id,
  subDistrictId: caller.subDistrictId as string,
  ...extra,
});

const compound = (r: Refs) => recordOf('compound', r.compoundId);
const area = (r: Refs) => recordOf('area', r.areaId);
const company = (r: Refs) => recordOf('company', r.companyId);

/** Every route the matrix covers, from the three catalogues the registry's functions serve. */
const CATALOGUES = { registryRoutes, rosterRoutes, deviceRoutes, meetingsRoutes } as const;
const ROUTES = { ...registryRoutes, ...rosterRoutes, ...deviceRoutes, ...meetingsRoutes };
type RouteName = keyof typeof ROUTES;

/** A two-row roster whose buildings (and owners) belong to case n alone, so that cases never share records. */
const rosterRows = (n: number) =>
  (['101', '102'] as const).map((room, k) => ({
    building: `m${n}`,
    room,
    area: k === 0 ? '80.50' : '66.25',
    owner: `Owner ${n}${k === 0 ? 'A' : 'B'}`,
    idLast4: String(1000 + ((n * 2 + k) % 9000)),
    phone: `139${String(n * 2 + k).padStart(8, '0')}`,
  }));
const rosterCsv = (n: number) =>
  [
    'building,room,area,owner,idLast4,phone',
    ...rosterRows(n).map((row) =>
      [row.building, row.room, row.area, row.owner, row.idLast4, row.phone].join(','),
    ),
  ].join('\r\n');
/** The units and owners an import of case n's roster writes into the area (ids as registry/roster.ts makes them). */
const rosterRecords = (parent: RecordModel, n: number) =>
  rosterRows(n).flatMap((row) => {
    const ownerId = ownerIdOf(parent.id, row.owner, row.idLast4, row.phone);
    return [
      child(parent, 'unit', unitIdOf(parent.id, row.building, row.room), { ownerIds: [ownerId] }),
      child(parent, 'owner', ownerId, { ownerIds: [ownerId] }),
    ];
  });

/**
 * Decommission targets, registered through the API (as each tenant's office) before the matrix runs: in
 * A's own and neighbour compounds, one device per case whose role the route admits (the cases that may
 * succeed), so that no case's success touches another's target, and one device the refused roles all
 * name, which must stay; in sd-b, two devices that the foreign cases name and that must stay.
 */
const deviceIn = (compoundId: string, thingName: string): RecordModel => {
  const { subDistrictId } = recordOf('compound', compoundId);
  return { kind: 'device', id: thingName, parent: `COMPOUND#${compoundId}`, subDistrictId, compoundId };
};
const KEPT_DEVICES = [refsOf('a'), refsOf('a', true), refsOf('b'), refsOf('b', true)].map((r) =>
  deviceIn(r.compoundId, `mx-${r.compoundId}-keep`),
);
const B_DEVICES = KEPT_DEVICES.filter((record) => record.subDistrictId === SD.b);
const decommissionTarget = (refs: Refs, n: number, variant: Variant, role: Role): RecordModel => {
  if (variant === 'foreign') return B_DEVICES[n % B_DEVICES.length] as RecordModel;
  return deviceRoutes.decommissionDevice.roles.includes(role)
    ? deviceIn(refs.compoundId, `mx-${n}-dc`)
    : (KEPT_DEVICES.find((record) => record.compoundId === refs.compoundId) as RecordModel);
};

/**
 * Meetings, arranged through the API in A's own area, A's neighbour area and B's area (see
 * arrangeMeetings): one still noticed (matters and proxies can be added), one open with its roll frozen,
 * one closed with a published result. A meeting is visible exactly where its area is, so each case's
 * scope is the area; the ids a case names are those of the variant's area.
 */
const meetingIn = (r: Refs, state: 'noticed' | 'open' | 'closed') => `mx-${state}-${r.areaId}`;
/** An owner of the area (units 1 and 3 of the world), whose ballots the office and committee cases name. */
const voterIn = (r: Refs) => {
  const owners = BASE_WORLD.filter((record) => record.kind === 'owner' && record.areaId === r.areaId);
  return (owners[0] as RecordModel).id;
};
const secondOwnerIn = (r: Refs) =>
  (BASE_WORLD.filter((record) => record.kind === 'owner' && record.areaId === r.areaId)[1] as RecordModel).id;
const inArea = (r: Refs) => [area(r)];
const meetingRead = (state: 'noticed' | 'open' | 'closed', suffix = ''): MatrixSpec => ({
  variants: PATH_SCOPED,
  request: (r) => ({ path: `/meetings/${meetingIn(r, state)}${suffix}` }),
  scope: inArea,
});
const choices = [{ matterId: 'rules', choice: 'for' }];

const SPECS: Record<RouteName, MatrixSpec> = {
  createCompound: {
    variants: ['own'],
    request: (_r, n, _v) => ({
      path: '/compounds',
      body: { compoundId: `m${n}-cpd`, name: `m${n}` },
    }),
    scope: (_r, n, c, _v) => [sdCreate('compound', `m${n}-cpd`, c, { compoundId: `m${n}-cpd` })],
  },
  listCompounds: {
    variants: ['own'],
    request: () => ({ path: '/compounds?limit=100' }),
    scope: () => [],
    lists: { kind: 'compound', parent: (_r, c) => `SD#${c.subDistrictId}` },
  },
  getCompound: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/compounds/${r.compoundId}` }),
    scope: (r) => [compound(r)],
  },
  updateCompound: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/compounds/${r.compoundId}`,
      body: { name: `renamed ${n}` },
      headers: { 'if-match': '*' },
    }),
    scope: (r) => [compound(r)],
  },
  createArea: {
    variants: [...PATH_SCOPED],
    request: (r, n, _v) => ({
      path: `/compounds/${r.compoundId}/areas`,
      body: { areaId: `m${n}-area`, name: `m${n}` },
    }),
    scope: (r, n, _c, _v) => [
      compound(r),
      child(compound(r), 'area', `m${n}-area`, { areaId: `m${n}-area` }),
    ],
  },
  listAreas: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/compounds/${r.compoundId}/areas?limit=100` }),
    scope: (r) => [compound(r)],
    lists: { kind: 'area', parent: (r) => `COMPOUND#${r.compoundId}` },
  },
  getArea: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/areas/${r.areaId}` }),
    scope: (r) => [area(r)],
  },
  updateArea: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/areas/${r.areaId}`,
      body: { name: `renamed ${n}` },
      headers: { 'if-match': '*' },
    }),
    scope: (r) => [area(r)],
  },
  createBuilding: {
    variants: PATH_SCOPED,
    request: (r, n) => ({ path: `/areas/${r.areaId}/buildings`, body: { building: `b${n}`, floors: 6 } }),
    scope: (r, n) => [area(r), child(area(r), 'building', `${r.areaId}.b${n}`)],
  },
  listBuildings: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/areas/${r.areaId}/buildings?limit=100` }),
    scope: (r) => [area(r)],
    lists: { kind: 'building', parent: (r) => `AREA#${r.areaId}` },
  },
  listUnits: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/areas/${r.areaId}/units?limit=100` }),
    scope: (r) => [area(r)],
    lists: { kind: 'unit', parent: (r) => `AREA#${r.areaId}` },
  },
  getUnit: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/units/${r.unitId}` }),
    scope: (r) => [recordOf('unit', r.unitId)],
  },
  updateUnit: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/units/${r.unitId}`,
      body: { note: `note ${n}` },
      headers: { 'if-match': '*' },
    }),
    scope: (r) => [recordOf('unit', r.unitId)],
  },
  listOwners: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/areas/${r.areaId}/owners?limit=100` }),
    scope: (r) => [area(r)],
    lists: { kind: 'owner', parent: (r) => `AREA#${r.areaId}` },
  },
  getOwner: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/owners/${r.ownerId}` }),
    scope: (r) => [recordOf('owner', r.ownerId)],
  },
  createCompany: {
    variants: ['own'],
    request: (_r, n, _v) => ({
      path: '/companies',
      body: { companyId: `m${n}-co`, name: `m${n}` },
    }),
    scope: (_r, n, c, _v) => [sdCreate('company', `m${n}-co`, c, { companyId: `m${n}-co` })],
  },
  listCompanies: {
    variants: ['own'],
    request: () => ({ path: '/companies?limit=100' }),
    scope: () => [],
    lists: { kind: 'company', parent: (_r, c) => `SD#${c.subDistrictId}` },
  },
  getCompany: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/companies/${r.companyId}` }),
    scope: (r) => [company(r)],
  },
  createContract: {
    variants: [...PATH_SCOPED, 'mixed'],
    mixed: { ...REFS.own, companyId: REFS.foreign.companyId },
    request: (r, n) => ({
      path: `/areas/${r.areaId}/contracts`,
      body: {
        companyId: r.companyId,
        startsOn: dateFor(n),
        endsOn: dateFor(n, 3),
        feePerSquareMetreFen: 250,
      },
    }),
    scope: (r, n) => [
      company(r),
      area(r),
      child(area(r), 'contract', `${r.areaId}.${r.companyId}.${dateFor(n)}`),
    ],
  },
  listContracts: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/areas/${r.areaId}/contracts?limit=100` }),
    scope: (r) => [area(r)],
    lists: { kind: 'contract', parent: (r) => `AREA#${r.areaId}` },
  },
  createStaff: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/companies/${r.companyId}/staff`,
      body: { staffId: `m${n}-staff`, name: `m${n}`, role: 'guard', areaIds: [r.areaId] },
    }),
    scope: (r, n) => [company(r), child(company(r), 'staff', `${r.companyId}.m${n}-staff`)],
  },
  listStaff: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/companies/${r.companyId}/staff?limit=100` }),
    scope: (r) => [company(r)],
    lists: { kind: 'staff', parent: (r) => `COMPANY#${r.companyId}` },
  },
  createCommittee: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/areas/${r.areaId}/committees`,
      body: {
        termStartsOn: dateFor(n),
        termEndsOn: dateFor(n, 5),
        members: [{ name: `m${n}`, role: 'chair' }],
      },
    }),
    scope: (r, n) => [area(r), child(area(r), 'committee', `${r.areaId}.${dateFor(n)}`)],
  },
  listCommittees: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/areas/${r.areaId}/committees?limit=100` }),
    scope: (r) => [area(r)],
    lists: { kind: 'committee', parent: (r) => `AREA#${r.areaId}` },
  },
  createCaseworker: {
    variants: ['own'],
    request: (_r, n, _v) => ({
      path: '/caseworkers',
      body: {
        caseworkerId: `m${n}-cw`,
        name: `m${n}`,
        compoundIds: [REFS.own.compoundId],
      },
    }),
    scope: (_r, n, c, _v) => [sdCreate('caseworker', `m${n}-cw`, c)],
  },
  listCaseworkers: {
    variants: ['own'],
    request: () => ({ path: '/caseworkers?limit=100' }),
    scope: () => [],
    lists: { kind: 'caseworker', parent: (_r, c) => `SD#${c.subDistrictId}` },
  },
  createZone: {
    variants: [...PATH_SCOPED, 'mixed'],
    mixed: { ...REFS.own, areaId: REFS.foreign.areaId },
    request: (r, n) => ({
      path: `/compounds/${r.compoundId}/zones`,
      body: { zoneId: `m${n}-zone`, kind: 'fire-lane', name: `m${n}`, areaId: r.areaId, position },
    }),
    scope: (r, n) => [area(r), compound(r), child(compound(r), 'zone', `${r.compoundId}.m${n}-zone`)],
  },
  listZones: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/compounds/${r.compoundId}/zones?limit=100` }),
    scope: (r) => [compound(r)],
    lists: { kind: 'zone', parent: (r) => `COMPOUND#${r.compoundId}` },
  },
  listDevices: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/compounds/${r.compoundId}/devices?limit=100` }),
    scope: (r) => [compound(r)],
    lists: { kind: 'device', parent: (r) => `COMPOUND#${r.compoundId}` },
  },
  getDevice: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/devices/${r.thingName}` }),
    scope: (r) => [recordOf('device', r.thingName)],
  },

  importRoster: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/areas/${r.areaId}/roster`,
      text: rosterCsv(n),
      headers: { 'content-type': 'text/csv' },
    }),
    scope: (r, n) => [area(r), ...rosterRecords(area(r), n)],
    check: (body) => {
      const counts = body as { units?: { created?: number }; owners?: { created?: number } };
      return counts.units?.created === 2 && counts.owners?.created === 2
        ? undefined
        : 'the import did not create its 2 units and 2 owners';
    },
  },

  registerDevice: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/compounds/${r.compoundId}/devices`,
      body: { thingName: `mx-${n}-reg`, type: 'geomagnetic-sensor', zoneId: 'fire-lane', position },
    }),
    scope: (r, n) => [
      compound(r),
      recordOf('zone', `${r.compoundId}.fire-lane`),
      child(compound(r), 'device', `mx-${n}-reg`),
    ],
    check: (body, n) => {
      const { device, credentials } = body as {
        device?: { id?: string; status?: string };
        credentials?: { certificatePem?: string };
      };
      return device?.id === `mx-${n}-reg` && device.status === 'active' && credentials?.certificatePem
        ? undefined
        : 'the answer is not the registered device with its credentials';
    },
  },
  decommissionDevice: {
    variants: PATH_SCOPED,
    request: (r, n, v, role) => ({ path: `/devices/${decommissionTarget(r, n, v, role).id}` }),
    scope: (r, n, c, v) => [decommissionTarget(r, n, v, c.roles[0] as Role)],
    check: (body, n) => {
      const device = body as { id?: string; status?: string };
      return device.id === `mx-${n}-dc` && device.status === 'decommissioned'
        ? undefined
        : 'the answer is not the decommissioned device';
    },
  },
  putMeetingRules: {
    variants: PATH_SCOPED,
    request: (r) => ({
      method: 'PUT',
      path: `/areas/${r.areaId}/meeting-rules`,
      body: {
        noticeDays: 15,
        nonReplyMode: 'not-counted',
        proxyCapPerHolder: 3,
        conflictRule: 'paper-prevails',
      },
    }),
    scope: inArea,
  },
  getMeetingRules: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/areas/${r.areaId}/meeting-rules` }),
    scope: inArea,
  },
  createMeeting: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/areas/${r.areaId}/meetings`,
      body: {
        meetingId: `m${n}-mtg`,
        title: `m${n}`,
        format: 'written-consultation',
        votingOpensAt: '2035-06-01T00:00:00Z',
        votingClosesAt: '2035-06-08T00:00:00Z',
        matters: [{ matterId: 'rules', kind: 'resolution', item: 1, title: 'Rules' }],
      },
    }),
    scope: inArea,
    check: (body, n) =>
      (body as { meetingId?: string }).meetingId === `m${n}-mtg` ? undefined : 'not the meeting',
  },
  listMeetings: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/areas/${r.areaId}/meetings?limit=100` }),
    scope: inArea,
    check: (body) =>
      (body as { items: { meetingId: string }[] }).items.some((item) => item.meetingId.startsWith('mx-open-'))
        ? undefined
        : 'the arranged meetings are not listed',
  },
  getMeeting: meetingRead('open'),
  addMatter: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/meetings/${meetingIn(r, 'noticed')}/matters`,
      body: { matter: { matterId: `m${n}`, kind: 'resolution', item: 9, title: `m${n}` } },
    }),
    scope: inArea,
  },
  getEligibility: meetingRead('open', '/eligibility'),
  listRoll: meetingRead('open', '/roll?limit=100'),
  recordDelivery: {
    variants: PATH_SCOPED,
    // One record per owner and channel: each role that may record uses a channel of its own.
    request: (r, n, _v, role) => ({
      path: `/meetings/${meetingIn(r, 'noticed')}/deliveries`,
      body: {
        ownerId: voterIn(r),
        channel: role === 'street-office' ? 'paper' : role === 'committee-member' ? 'sms' : 'public-notice',
        evidenceRef: `evidence/${n}`,
      },
    }),
    scope: inArea,
  },
  registerProxy: {
    variants: PATH_SCOPED,
    // One authorisation per grantor: the office's and the committee's cases name different grantors.
    request: (r, n, _v, role) => {
      const [grantorOwnerId, holderOwnerId] =
        role === 'committee-member' ? [secondOwnerIn(r), voterIn(r)] : [voterIn(r), secondOwnerIn(r)];
      return {
        path: `/meetings/${meetingIn(r, 'noticed')}/proxies`,
        body: { grantorOwnerId, holderOwnerId, scanRef: `scans/proxy-${n}.pdf` },
      };
    },
    scope: inArea,
  },
  castBallot: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/meetings/${meetingIn(r, 'open')}/ballots`, body: { choices } }),
    scope: inArea,
    check: (body) =>
      /^[0-9a-f]{64}$/.test((body as { ballots: { receipt: string }[] }).ballots?.[0]?.receipt ?? '')
        ? undefined
        : 'no receipt',
  },
  enterPaperBallot: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/meetings/${meetingIn(r, 'open')}/paper-ballots`,
      body: { voterId: voterIn(r), choices, scanRef: `scans/ballot-${n}.pdf` },
    }),
    scope: inArea,
  },
  listMyBallots: meetingRead('open', '/my-ballots'),
  readNamedBallots: {
    variants: PATH_SCOPED,
    request: (r) => ({
      path: `/meetings/${meetingIn(r, 'open')}/ballots?voterId=${voterIn(r)}&reason=tenancy%20matrix`,
    }),
    scope: inArea,
  },
  listBallotReads: meetingRead('open', '/ballot-reads'),
  getTurnout: meetingRead('open', '/turnout'),
  closeMeeting: {
    variants: PATH_SCOPED,
    request: (r) => ({ method: 'POST', path: `/meetings/${meetingIn(r, 'closed')}/close` }),
    scope: inArea,
  },
  getResult: meetingRead('closed', '/result'),
  recount: meetingRead('closed', '/recount?reason=tenancy%20matrix'),
  getProof: {
    variants: PATH_SCOPED,
    // The receipt of the ballot cast in that area's closed meeting while arranging (see `call`).
    request: (r) => ({ path: `/meetings/${meetingIn(r, 'closed')}/proofs/{receipt:${r.areaId}}` }),
    scope: inArea,
  },
  createPetition: {
    variants: PATH_SCOPED,
    request: (r, n) => ({
      path: `/areas/${r.areaId}/petitions`,
      body: { petitionId: `m${n}-pet`, subject: `m${n}` },
    }),
    scope: inArea,
  },
  listPetitions: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/areas/${r.areaId}/petitions?limit=100` }),
    scope: inArea,
  },
  getPetition: {
    variants: PATH_SCOPED,
    request: (r) => ({ path: `/petitions/mx-pet-${r.areaId}` }),
    scope: inArea,
  },
  signPetition: {
    variants: PATH_SCOPED,
    request: (r) => ({ method: 'POST', path: `/petitions/mx-pet-${r.areaId}/signatures` }),
    scope: inArea,
  },
};

/** The ids a case names. */
const refsFor = (spec: MatrixSpec, variant: Variant): Refs => {
  if (variant === 'mixed') {
    if (spec.mixed === undefined) throw new Error('a mixed variant needs its refs');
    return spec.mixed;
  }
  return REFS[variant];
};

/**
 * Where the service answers otherwise than the rules: none today. (Ids were once one global namespace,
 * so a create naming another sub-district's id answered 409 and revealed it; ids are now a namespace per
 * sub-district, and such a create simply makes the caller's own record.) An entry here must match a
 * case, and fails the day the service is fixed.
 */
const KNOWN_DEVIATIONS: Record<string, { status: number; why: string }> = {};

interface MatrixCase {
  n: number;
  name: RouteName;
  route: RouteDefinition;
  role: Role;
  variant: Variant;
  request: CaseRequest;
  expected: number;
}

const CASES: MatrixCase[] = (() => {
  const cases: MatrixCase[] = [];
  for (const [name, route] of Object.entries(ROUTES) as [RouteName, RouteDefinition][]) {
    const spec = SPECS[name];
    const [method = 'GET'] = route.routeKey.split(' ');
    for (const role of ROLES) {
      for (const variant of spec.variants) {
        const n = cases.length;
        const refs = refsFor(spec, variant);
        const request = { method, ...spec.request(refs, n, variant, role) };
        const caller = callerOf(role);
        const allowed = route.roles.includes(role);
        const visible = spec.scope(refs, n, caller, variant).every((record) => inTenancy(caller, record));
        const expected = !allowed ? 403 : visible ? (route.successStatus ?? 200) : 404;
        cases.push({ n, name, route, role, variant, request, expected });
      }
    }
  }
  return cases;
})();

const targetOf = (entry: MatrixCase) =>
  decommissionTarget(refsFor(SPECS.decommissionDevice, entry.variant), entry.n, entry.variant, entry.role);
/** The decommission targets (see decommissionTarget), registered before the matrix runs. */
const REGISTERED: RecordModel[] = [
  ...new Map(
    [...KEPT_DEVICES, ...CASES.filter((entry) => entry.name === 'decommissionDevice').map(targetOf)].map(
      (record) => [record.id, record],
    ),
  ).values(),
];
/** What the store holds after the arrange step (checked against the API before the matrix runs). */
const WORLD = [...BASE_WORLD, ...REGISTERED];

interface Outcome {
  status: number;
  body: unknown;
}

describe('tenancy matrix: every registry and meetings route × every role × own / neighbour / foreign records', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  const tokens = new Map<string, string>();
  const outcomes = new Map<number, Outcome>();
  let snapshotBefore: Record<string, unknown>;

  /** Receipts of the ballots cast in each area's closed meeting while arranging, by area. */
  const receiptsByArea = new Map<string, string>();
  const call = async (token: string, request: CaseRequest): Promise<Outcome> => {
    const path = request.path.replace(
      /\{receipt:([a-z0-9-]+)\}/,
      (_match, areaId: string) => receiptsByArea.get(areaId) ?? '',
    );
    const response = await fetch(`${cloud.endpoints.api}${path}`, {
      method: request.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...request.headers,
      },
      body: request.text ?? (request.body === undefined ? undefined : JSON.stringify(request.body)),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Kept as text for the failure message.
    }
    return { status: response.status, body };
  };

  /** Runs the calls `width` at a time. */
  const inBatches = async <T>(items: readonly T[], width: number, run: (item: T) => Promise<void>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(width, items.length) }, async () => {
        while (next < items.length) await run(items[next++] as T);
      }),
    );
  };

  const officeOf = (tenant: Tenant) => tokens.get(`office-${tenant}`) as string;
  const arrangeCall = async (tenant: Tenant, method: string, path: string, body?: unknown) => {
    const outcome = await call(officeOf(tenant), { method, path, body });
    if (outcome.status >= 300) {
      throw new Error(
        `arrange ${method} ${path} as sd-${tenant}: ${outcome.status} ${JSON.stringify(outcome.body)}`,
      );
    }
    return outcome;
  };

  const arrange = async (tenant: Tenant) => {
    for (const neighbour of [false, true]) {
      const r = refsOf(tenant, neighbour);
      await arrangeCall(tenant, 'POST', '/compounds', { compoundId: r.compoundId, name: r.compoundId });
      await arrangeCall(tenant, 'POST', '/companies', { companyId: r.companyId, name: r.companyId });
      await arrangeCall(tenant, 'POST', `/compounds/${r.compoundId}/areas`, {
        areaId: r.areaId,
        name: r.areaId,
      });
      await arrangeCall(tenant, 'POST', `/areas/${r.areaId}/contracts`, {
        companyId: r.companyId,
        startsOn: '2024-01-01',
        endsOn: '2027-01-01',
        feePerSquareMetreFen: 180,
      });
      await Promise.all([
        arrangeCall(tenant, 'POST', `/areas/${r.areaId}/buildings`, { building: '1', floors: 6 }),
        arrangeCall(tenant, 'POST', `/areas/${r.areaId}/committees`, {
          termStartsOn: '2024-01-01',
          termEndsOn: '2029-01-01',
          members: [{ name: '主任', role: 'chair' }],
        }),
        arrangeCall(tenant, 'POST', `/companies/${r.companyId}/staff`, {
          staffId: 'guard',
          name: '保安',
          role: 'guard',
          areaIds: [r.areaId],
        }),
        arrangeCall(tenant, 'POST', '/caseworkers', {
          caseworkerId: r.caseworkerId,
          name: '社工',
          compoundIds: [r.compoundId],
        }),
        arrangeCall(tenant, 'POST', `/compounds/${r.compoundId}/zones`, {
          zoneId: 'fire-lane',
          kind: 'fire-lane',
          name: '消防通道',
          position,
        }),
      ]);
    }
  };

  /**
   * Units, owners and devices have no create route yet: they are written as registry/store.ts writes
   * them (dynamodb-toolbox's RegistryRecord entity: keys, gsi1, entity name, timestamps).
   */
  const putDirect = async (records: RecordModel[]) => {
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: cloud.endpoints.dynamodb,
        region: cloud.sdkEnvironment.AWS_REGION,
        credentials: {
          accessKeyId: cloud.sdkEnvironment.AWS_ACCESS_KEY_ID as string,
          secretAccessKey: cloud.sdkEnvironment.AWS_SECRET_ACCESS_KEY as string,
        },
      }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    const now = new Date().toISOString();
    try {
      await Promise.all(
        records.map(({ parent, ...record }) => {
          const data =
            record.kind === 'unit'
              ? {
                  building: '1',
                  room: `10${record.id.slice(-1)}`,
                  area: '89.50',
                  developerHeld: false,
                }
              : record.kind === 'owner'
                ? {
                    name: `业主 ${record.id}`,
                    phone: '13800001234',
                    unitIds: [record.id.replace(/^own-(\w)(\d)$/, 'unit-$1-$2')],
                  }
                : { type: 'geomagnetic-sensor', zoneId: 'fire-lane', position };
          const sortKey = record.kind === 'unit' ? `1#${data.room}` : record.id;
          return client.send(
            new PutCommand({
              TableName: cloud.tableName,
              Item: {
                pk: `${record.kind.toUpperCase()}#${record.subDistrictId}#${record.id}`,
                sk: record.kind.toUpperCase(),
                gsi1pk: parent.startsWith('SD#')
                  ? `${parent}#${record.kind}`
                  : `SD#${record.subDistrictId}#${parent}#${record.kind}`,
                gsi1sk: sortKey,
                entity: 'RegistryRecord',
                ...record,
                version: 1,
                data,
                _ct: now,
                _md: now,
              },
            }),
          );
        }),
      );
    } finally {
      client.destroy();
    }
  };

  /**
   * The meetings the matrix names, in A's own and neighbour areas and in B's area (see meetingIn), and a
   * petition in each. The cloud's clock then passes the 15 days' notice, so the open and closed
   * meetings' rolls are frozen, an owner votes in each closed meeting, and the clock passes its close.
   */
  const arrangeMeetings = async () => {
    const DAY = 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const now = cloud.clock.now();
    const opens = iso(now + 15 * DAY + 60_000);
    const windows = {
      noticed: ['2035-01-01T00:00:00Z', '2035-01-08T00:00:00Z'],
      open: [opens, iso(now + 60 * DAY)],
      closed: [opens, iso(now + 15 * DAY + 180_000)],
    } as const;
    const areas: [Tenant, Refs][] = [
      ['a', REFS.own],
      ['a', REFS.neighbour],
      ['b', REFS.foreign],
    ];
    for (const [tenant, r] of areas) {
      for (const [state, [votingOpensAt, votingClosesAt]] of Object.entries(windows)) {
        await arrangeCall(tenant, 'POST', `/areas/${r.areaId}/meetings`, {
          meetingId: meetingIn(r, state as keyof typeof windows),
          title: `${state} meeting`,
          format: 'written-consultation',
          votingOpensAt,
          votingClosesAt,
          matters: [{ matterId: 'rules', kind: 'resolution', item: 1, title: 'Rules of procedure' }],
        });
      }
      await arrangeCall(tenant, 'POST', `/areas/${r.areaId}/petitions`, {
        petitionId: `mx-pet-${r.areaId}`,
        subject: 'An extraordinary meeting',
      });
    }
    const statusOf = async (tenant: Tenant, meetingId: string) =>
      (
        (await call(officeOf(tenant), { method: 'GET', path: `/meetings/${meetingId}` })).body as {
          status?: string;
        }
      ).status;
    const allAre = (state: 'open' | 'closed', which: ('open' | 'closed')[]) =>
      eventually(
        async () => {
          for (const [tenant, r] of areas)
            for (const meeting of which)
              if ((await statusOf(tenant, meetingIn(r, meeting))) !== state) return undefined;
          return true;
        },
        30_000,
        `meetings ${state}`,
      );
    cloud.clock.advance(15 * DAY + 120_000);
    await allAre('open', ['open', 'closed']);
    for (const [tenant, r] of areas) {
      const ownerId = voterIn(r);
      const token = await cloud.token({
        role: 'owner',
        sub: `voter-${ownerId}`,
        subDistrictId: SD[tenant],
        compoundIds: [r.compoundId],
        areaIds: [r.areaId],
        ownerId,
      });
      const cast = await call(token, {
        method: 'POST',
        path: `/meetings/${meetingIn(r, 'closed')}/ballots`,
        body: { choices: [{ matterId: 'rules', choice: 'for' }] },
      });
      if (cast.status !== 201)
        throw new Error(`arrange a ballot in ${r.areaId}: ${JSON.stringify(cast.body)}`);
      receiptsByArea.set(
        r.areaId,
        (cast.body as { ballots: { receipt: string }[] }).ballots[0]?.receipt as string,
      );
    }
    cloud.clock.advance(120_000);
    await allAre('closed', ['closed']);
  };

  /** Everything sd-b's office can read, with versions: compared before and after the matrix. */
  const snapshotOf = async (tenant: Tenant) => {
    const paths = ['/compounds?limit=100', '/companies?limit=100', '/caseworkers?limit=100'];
    for (const record of WORLD.filter((candidate) => candidate.subDistrictId === SD[tenant])) {
      const one = {
        compound: '/compounds/',
        area: '/areas/',
        unit: '/units/',
        owner: '/owners/',
        company: '/companies/',
        device: '/devices/',
      }[record.kind as string];
      if (one !== undefined) paths.push(`${one}${record.id}`);
      if (record.kind === 'compound')
        paths.push(
          ...['areas', 'zones', 'devices'].map((list) => `/compounds/${record.id}/${list}?limit=100`),
        );
      if (record.kind === 'area')
        paths.push(
          ...['buildings', 'units', 'owners', 'contracts', 'committees'].map(
            (list) => `/areas/${record.id}/${list}?limit=100`,
          ),
        );
      if (record.kind === 'company') paths.push(`/companies/${record.id}/staff?limit=100`);
    }
    const b = refsOf(tenant);
    paths.push(
      `/areas/${b.areaId}/meetings?limit=100`,
      `/areas/${b.areaId}/meeting-rules`,
      `/areas/${b.areaId}/petitions?limit=100`,
      `/petitions/mx-pet-${b.areaId}`,
      ...(['noticed', 'open', 'closed'] as const).map((state) => `/meetings/${meetingIn(b, state)}`),
      `/meetings/${meetingIn(b, 'open')}/roll?limit=100`,
      `/meetings/${meetingIn(b, 'open')}/turnout`,
      `/meetings/${meetingIn(b, 'open')}/ballot-reads`,
      `/meetings/${meetingIn(b, 'closed')}/result`,
    );
    const snapshot: Record<string, unknown> = {};
    await inBatches(paths, 8, async (path) => {
      const outcome = await call(officeOf(tenant), { method: 'GET', path });
      snapshot[path] = outcome;
    });
    return snapshot;
  };

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    for (const tenant of ['a', 'b'] as const) {
      tokens.set(`office-${tenant}`, await cloud.token({ role: 'street-office', subDistrictId: SD[tenant] }));
    }
    for (const role of ROLES) {
      const caller = callerOf(role);
      tokens.set(
        role,
        await cloud.token({
          role,
          sub: caller.sub,
          subDistrictId: caller.subDistrictId,
          compoundIds: caller.compoundIds,
          areaIds: caller.areaIds,
          companyId: caller.companyId,
          ownerId: caller.ownerId,
        }),
      );
    }
    await Promise.all([arrange('a'), arrange('b')]);
    await putDirect(BASE_WORLD.filter((record) => ['unit', 'owner', 'device'].includes(record.kind)));
    // The decommission targets exist in the IoT control plane too: registered as their tenant's office.
    await inBatches(REGISTERED, 4, async (record) => {
      const tenant: Tenant = record.subDistrictId === SD.a ? 'a' : 'b';
      await arrangeCall(tenant, 'POST', `/compounds/${record.compoundId}/devices`, {
        thingName: record.id,
        type: 'geomagnetic-sensor',
        zoneId: 'fire-lane',
        position,
      });
    });

    await arrangeMeetings();

    // The arranged world must be what the expectations are computed from.
    await inBatches(
      WORLD.filter((record) =>
        ['compound', 'area', 'unit', 'owner', 'company', 'device'].includes(record.kind),
      ),
      8,
      async (record) => {
        const tenant: Tenant = record.subDistrictId === SD.a ? 'a' : 'b';
        const path = {
          compound: '/compounds/',
          area: '/areas/',
          unit: '/units/',
          owner: '/owners/',
          company: '/companies/',
          device: '/devices/',
        }[record.kind as string];
        const outcome = await call(officeOf(tenant), { method: 'GET', path: `${path}${record.id}` });
        const { kind: _kind, parent: _parent, ownerIds: _ownerIds, ...ancestry } = record;
        expect(outcome, `${record.kind} ${record.id}`).toMatchObject({
          status: 200,
          body: { ...ancestry, id: record.id },
        });
      },
    );

    snapshotBefore = await snapshotOf('b');

    // Writes that replace an existing record (PATCH, and a contract's update of its area) run one at a
    // time so that they cannot race each other into a 412; everything else runs 8 at a time.
    const serial = (entry: MatrixCase) => entry.request.method === 'PATCH' || entry.name === 'createContract';
    const run = async (entry: MatrixCase) => {
      outcomes.set(entry.n, await call(tokens.get(entry.role) as string, entry.request));
    };
    await inBatches(
      CASES.filter((entry) => !serial(entry)),
      8,
      run,
    );
    await inBatches(CASES.filter(serial), 1, run);
  }, 180_000);

  afterAll(async () => {
    await stop?.();
  });

  /** Whether a listed item lies inside the caller's tenancy, from the world model or from what the API shows. */
  const listedInTenancy = (caller: Caller, kind: Kind, item: Record<string, unknown>) => {
    const known = WORLD.find((record) => record.kind === kind && record.id === item.id);
    const record = known ?? ({ ...item, kind } as unknown as Scoped);
    return inTenancy(caller, record);
  };

  it.each(Object.keys(ROUTES) as RouteName[])('%s answers every role as the domain rules say', (name) => {
    const failures: string[] = [];
    const spec = SPECS[name];
    for (const entry of CASES.filter((candidate) => candidate.name === name)) {
      const outcome = outcomes.get(entry.n) as Outcome;
      const describeCase = `${entry.role} / ${entry.variant} / ${entry.request.method} ${entry.request.path}`;
      const deviation = KNOWN_DEVIATIONS[`${name} / ${entry.role} / ${entry.variant}`];
      const expected = deviation?.status ?? entry.expected;
      if (outcome.status !== expected) {
        const note = deviation
          ? ` (a known deviation from ${entry.expected}: if it is fixed, remove it from KNOWN_DEVIATIONS)`
          : '';
        failures.push(
          `${describeCase}: expected ${expected}${note}, got ${outcome.status} ${JSON.stringify(outcome.body)}`,
        );
        continue;
      }
      const wrong = outcome.status < 300 ? spec.check?.(outcome.body, entry.n) : undefined;
      if (wrong !== undefined) failures.push(`${describeCase}: ${wrong}: ${JSON.stringify(outcome.body)}`);
      if (spec.lists === undefined || outcome.status !== 200) continue;
      const caller = callerOf(entry.role);
      const items = (outcome.body as { items: Record<string, unknown>[] }).items;
      const refs = refsFor(spec, entry.variant);
      const parent = spec.lists.parent(refs, caller);
      for (const item of items) {
        if (item.subDistrictId !== SD.a)
          failures.push(`${describeCase}: lists ${item.id} of ${String(item.subDistrictId)}`);
        else if (!listedInTenancy(caller, spec.lists.kind, item))
          failures.push(`${describeCase}: lists ${item.id}, outside the caller's tenancy`);
      }
      const shown = new Set(items.map((item) => item.id));
      for (const record of WORLD) {
        if (
          record.kind === spec.lists.kind &&
          record.parent === parent &&
          inTenancy(caller, record) &&
          !shown.has(record.id)
        )
          failures.push(
            `${describeCase}: does not list ${record.kind} ${record.id}, which the caller may see`,
          );
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it('covers every route of every catalogue, every role and every variant of each route', () => {
    const catalogued = Object.values(CATALOGUES).flatMap((catalogue) => Object.keys(catalogue));
    // No catalogue shadows another's route in the merged map, and no two routes share a route key.
    expect(new Set(catalogued).size).toBe(catalogued.length);
    const routeKeys = Object.values(CATALOGUES).flatMap((catalogue) =>
      Object.values(catalogue).map((route: RouteDefinition) => route.routeKey),
    );
    expect(new Set(routeKeys).size).toBe(routeKeys.length);
    expect(Object.keys(ROUTES).sort()).toEqual([...catalogued].sort());
    expect(Object.keys(SPECS).sort()).toEqual([...catalogued].sort());
    for (const [catalogue, routes] of Object.entries(CATALOGUES)) {
      for (const name of Object.keys(routes)) {
        const cases = CASES.filter((entry) => entry.name === name);
        expect(cases.length, `${catalogue}.${name}`).toBeGreaterThan(0);
        expect(new Set(cases.map((entry) => entry.role)), `${catalogue}.${name}`).toEqual(new Set(ROLES));
      }
    }
    for (const [name, spec] of Object.entries(SPECS)) {
      expect(CASES.filter((entry) => entry.name === name)).toHaveLength(ROLES.length * spec.variants.length);
    }
    expect(outcomes.size).toBe(CASES.length);
    const keys = new Set(CASES.map((entry) => `${entry.name} / ${entry.role} / ${entry.variant}`));
    for (const key of Object.keys(KNOWN_DEVIATIONS)) expect(keys, key).toContain(key);
    // The matrix must exercise both sides of the tenancy rules, not only refusals.
    const statuses = new Set(CASES.map((entry) => entry.expected));
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 201, 403, 404]));
  });

  it("leaves the other sub-district's data exactly as it was", async () => {
    // The snapshot holds sd-b's units, owners and devices, one by one and as their areas' and compounds' lists.
    const kept = ['/units/', '/owners/', '/devices/', '/units?', '/owners?', '/devices?'];
    for (const part of kept)
      expect(
        Object.keys(snapshotBefore).some((path) => path.includes(part)),
        part,
      ).toBe(true);
    expect(await snapshotOf('b')).toEqual(snapshotBefore);
  });

  it('decommissions exactly the devices whose cases succeeded; sd-b’s devices are still active', async () => {
    const failures: string[] = [];
    const decommissioned = new Set(
      CASES.filter((entry) => entry.name === 'decommissionDevice' && entry.expected === 200).map(
        (entry) => targetOf(entry).id,
      ),
    );
    expect(decommissioned.size).toBeGreaterThan(0);
    await inBatches(REGISTERED, 8, async (record) => {
      const tenant: Tenant = record.subDistrictId === SD.a ? 'a' : 'b';
      const outcome = await call(officeOf(tenant), { method: 'GET', path: `/devices/${record.id}` });
      const status = decommissioned.has(record.id) ? 'decommissioned' : 'active';
      const shown = (outcome.body as { status?: string }).status;
      if (outcome.status !== 200 || shown !== status)
        failures.push(
          `device ${record.id} of ${record.subDistrictId}: expected ${status}, got ${outcome.status} ${shown}`,
        );
    });
    expect(KEPT_DEVICES.every((record) => !decommissioned.has(record.id))).toBe(true);
    expect(failures, failures.join('\n')).toEqual([]);
  });
});
