/**
 * The registry's HTTP handlers for its records; each export is one route of routes.ts, and `dispatch`
 * hands each event to its route's handler. The roster import and device registration have modules of
 * their own, so that these functions' bundles carry neither the CSV parser nor the IoT client.
 */
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import * as handlers from './api.handler.js';
import { registryRoutes as r } from './routes.js';
import { createUnder, etag, listUnder, loadVisible, present, updateVisible } from './service.js';
import { getRecord, replaceRecord } from './store.js';

const page = <T>(items: T[], nextCursor?: string) => json(200, { items, nextCursor });
const created = (record: Parameters<typeof present>[0], location: string) =>
  json(201, present(record), { location, etag: etag(record) });
const one = (record: Parameters<typeof present>[0]) => json(200, present(record), { etag: etag(record) });

export const createCompound = httpRoute(r.createCompound, async ({ caller, body }) => {
  const { compoundId, ...data } = body;
  const record = await createUnder(caller, 'sub-district', 'compound', compoundId, data, {
    extra: { compoundId },
  });
  return created(record, `/compounds/${compoundId}`);
});
export const listCompounds = httpRoute(r.listCompounds, async ({ caller, page: paging }) => {
  const result = await listUnder(caller, 'sub-district', 'compound', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});
export const getCompound = httpRoute(r.getCompound, async ({ caller, params }) =>
  one(await loadVisible(caller, 'compound', params.compoundId)),
);
export const updateCompound = httpRoute(r.updateCompound, async ({ caller, params, body, headers }) =>
  one(await updateVisible(caller, 'compound', params.compoundId, headers['if-match'], body)),
);

export const createArea = httpRoute(r.createArea, async ({ caller, params, body }) => {
  const { areaId, ...data } = body;
  const record = await createUnder(
    caller,
    { kind: 'compound', id: params.compoundId },
    'area',
    areaId,
    data,
    { extra: { areaId } },
  );
  return created(record, `/areas/${areaId}`);
});
export const listAreas = httpRoute(r.listAreas, async ({ caller, params, query, page: paging }) => {
  const result = await listUnder(caller, { kind: 'compound', id: params.compoundId }, 'area', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});
export const getArea = httpRoute(r.getArea, async ({ caller, params }) =>
  one(await loadVisible(caller, 'area', params.areaId)),
);
export const updateArea = httpRoute(r.updateArea, async ({ caller, params, body, headers }) =>
  one(await updateVisible(caller, 'area', params.areaId, headers['if-match'], body)),
);

export const createBuilding = httpRoute(r.createBuilding, async ({ caller, params, body }) => {
  const id = `${params.areaId}.${body.building}`;
  const record = await createUnder(caller, { kind: 'area', id: params.areaId }, 'building', id, body, {
    sortKey: body.building,
  });
  return created(record, `/areas/${params.areaId}/buildings`);
});
export const listBuildings = httpRoute(r.listBuildings, async ({ caller, params, query, page: paging }) => {
  const result = await listUnder(caller, { kind: 'area', id: params.areaId }, 'building', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});

export const listUnits = httpRoute(r.listUnits, async ({ caller, params, query, page: paging }) => {
  const result = await listUnder(caller, { kind: 'area', id: params.areaId }, 'unit', {
    ...paging,
    sortKeyPrefix: query.building === undefined ? undefined : `${query.building}#`,
  });
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});
export const getUnit = httpRoute(r.getUnit, async ({ caller, params }) =>
  one(await loadVisible(caller, 'unit', params.unitId)),
);
export const updateUnit = httpRoute(r.updateUnit, async ({ caller, params, body, headers }) =>
  one(await updateVisible(caller, 'unit', params.unitId, headers['if-match'], body)),
);
export const listOwners = httpRoute(r.listOwners, async ({ caller, params, query, page: paging }) => {
  const result = await listUnder(caller, { kind: 'area', id: params.areaId }, 'owner', paging);
  return page(
    result.items.map((record) => present(record, { maskPhones: true })),
    paging.next(result.lastKey),
  );
});
export const getOwner = httpRoute(r.getOwner, async ({ caller, params }) =>
  one(await loadVisible(caller, 'owner', params.ownerId)),
);

export const createCompany = httpRoute(r.createCompany, async ({ caller, body }) => {
  const { companyId, ...data } = body;
  const record = await createUnder(caller, 'sub-district', 'company', companyId, data, {
    extra: { companyId },
  });
  return created(record, `/companies/${companyId}`);
});
export const listCompanies = httpRoute(r.listCompanies, async ({ caller, page: paging }) => {
  const result = await listUnder(caller, 'sub-district', 'company', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});
export const getCompany = httpRoute(r.getCompany, async ({ caller, params }) =>
  one(await loadVisible(caller, 'company', params.companyId)),
);

/** A contract also makes the company the area's current manager (the area record keeps companyId). */
export const createContract = httpRoute(r.createContract, async ({ caller, params, body }) => {
  await loadVisible(caller, 'company', body.companyId);
  const id = `${params.areaId}.${body.companyId}.${body.startsOn}`;
  const record = await createUnder(caller, { kind: 'area', id: params.areaId }, 'contract', id, body, {
    sortKey: body.startsOn,
  });
  const area = await getRecord(record.subDistrictId, 'area', params.areaId);
  if (area !== undefined) await replaceRecord({ ...area, companyId: body.companyId }, area.version);
  return created(record, `/areas/${params.areaId}/contracts`);
});
export const listContracts = httpRoute(r.listContracts, async ({ caller, params, query, page: paging }) => {
  const result = await listUnder(caller, { kind: 'area', id: params.areaId }, 'contract', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});
export const createStaff = httpRoute(r.createStaff, async ({ caller, params, body }) => {
  const { staffId, ...data } = body;
  const record = await createUnder(
    caller,
    { kind: 'company', id: params.companyId },
    'staff',
    `${params.companyId}.${staffId}`,
    data,
    { sortKey: staffId },
  );
  return created(record, `/companies/${params.companyId}/staff`);
});
export const listStaff = httpRoute(r.listStaff, async ({ caller, params, query, page: paging }) => {
  const result = await listUnder(caller, { kind: 'company', id: params.companyId }, 'staff', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});

export const createCommittee = httpRoute(r.createCommittee, async ({ caller, params, body }) => {
  const id = `${params.areaId}.${body.termStartsOn}`;
  const record = await createUnder(caller, { kind: 'area', id: params.areaId }, 'committee', id, body, {
    sortKey: body.termStartsOn,
  });
  return created(record, `/areas/${params.areaId}/committees`);
});
export const listCommittees = httpRoute(r.listCommittees, async ({ caller, params, query, page: paging }) => {
  const result = await listUnder(caller, { kind: 'area', id: params.areaId }, 'committee', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});
export const createCaseworker = httpRoute(r.createCaseworker, async ({ caller, body }) => {
  const { caseworkerId, ...data } = body;
  const record = await createUnder(caller, 'sub-district', 'caseworker', caseworkerId, data);
  return created(record, '/caseworkers');
});
export const listCaseworkers = httpRoute(r.listCaseworkers, async ({ caller, page: paging }) => {
  const result = await listUnder(caller, 'sub-district', 'caseworker', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});

export const createZone = httpRoute(r.createZone, async ({ caller, params, body }) => {
  const { zoneId, ...data } = body;
  if (body.areaId !== undefined) await loadVisible(caller, 'area', body.areaId);
  const record = await createUnder(
    caller,
    { kind: 'compound', id: params.compoundId },
    'zone',
    `${params.compoundId}.${zoneId}`,
    data,
    { sortKey: zoneId },
  );
  return created(record, `/compounds/${params.compoundId}/zones`);
});
export const listZones = httpRoute(r.listZones, async ({ caller, params, query, page: paging }) => {
  const result = await listUnder(caller, { kind: 'compound', id: params.compoundId }, 'zone', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});
export const listDevices = httpRoute(r.listDevices, async ({ caller, params, query, page: paging }) => {
  const result = await listUnder(caller, { kind: 'compound', id: params.compoundId }, 'device', paging);
  return page(
    result.items.map((record) => present(record)),
    paging.next(result.lastKey),
  );
});
export const getDevice = httpRoute(r.getDevice, async ({ caller, params }) =>
  one(await loadVisible(caller, 'device', params.thingName)),
);

/** The handler of every function serving the registry's routes (see routeDispatcher). */
export const dispatch = routeDispatcher(r, 'registry/api.handler.ts', handlers);
