import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEMO, demoRosterCsv } from './demo-data.js';

/**
 * Seeds the demo sub-district through the HTTP API, as its street office would, so the data passes the
 * same validation and tenancy rules as anything a user enters. Skipped when the demo compound exists.
 */
export const seedDemoData = async (options: {
  apiUrl: string;
  token: string;
  /** Where the demo devices' credentials are written (one folder per thing), for the simulator. */
  devicesDir?: string;
  log?: (line: string) => void;
}): Promise<{ seeded: boolean }> => {
  const call = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${options.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.token}`,
        ...(body === undefined ? {} : { 'content-type': contentType }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    if (!response.ok && response.status !== 409) {
      throw new Error(`Seeding failed: ${method} ${path} → ${response.status} ${await response.text()}`);
    }
    return response;
  };

  const first = DEMO.compounds[0];
  if (
    (
      await fetch(`${options.apiUrl}/compounds/${first.compoundId}`, {
        headers: { authorization: `Bearer ${options.token}` },
      })
    ).status === 200
  ) {
    return { seeded: false };
  }
  for (const compound of DEMO.compounds) await call('POST', '/compounds', compound);
  for (const company of DEMO.companies) await call('POST', '/companies', company);
  let units = 0;
  for (const area of DEMO.areas) {
    await call('POST', `/compounds/${area.compoundId}/areas`, { areaId: area.areaId, name: area.name });
    for (const building of area.buildings) {
      await call('POST', `/areas/${area.areaId}/buildings`, {
        building: String(building),
        floors: area.floors,
      });
    }
    const imported = (await (
      await call('POST', `/areas/${area.areaId}/roster`, demoRosterCsv(area), 'text/csv')
    ).json()) as { rows: number };
    units += imported.rows;
    await call('POST', `/areas/${area.areaId}/contracts`, {
      companyId: area.company,
      startsOn: '2025-01-01',
      endsOn: '2027-12-31',
      feePerSquareMetreFen: 150,
    });
    await call('POST', `/areas/${area.areaId}/committees`, {
      termStartsOn: '2024-06-01',
      termEndsOn: '2029-05-31',
      members: [
        { name: '顾主任', role: 'chair' },
        { name: '沈副主任', role: 'vice-chair' },
        { name: '钱委员', role: 'member' },
      ],
    });
  }
  for (const { companyId, ...staff } of DEMO.staff)
    await call('POST', `/companies/${companyId}/staff`, staff);
  for (const caseworker of DEMO.caseworkers) await call('POST', '/caseworkers', caseworker);
  for (const { compoundId, ...zone } of DEMO.zones)
    await call('POST', `/compounds/${compoundId}/zones`, zone);
  for (const { compoundId, ...device } of DEMO.devices) {
    const response = await call('POST', `/compounds/${compoundId}/devices`, device);
    if (response.status !== 201 || options.devicesDir === undefined) continue;
    const { credentials } = (await response.json()) as {
      credentials: { certificatePem: string; privateKey: string };
    };
    const dir = path.join(options.devicesDir, device.thingName);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'certificate.pem.crt'), credentials.certificatePem);
    writeFileSync(path.join(dir, 'private.pem.key'), credentials.privateKey, { mode: 0o600 });
  }
  options.log?.(
    `Seeded the demo sub-district ${DEMO.subDistrictId}: ${DEMO.compounds.length} compounds, ${DEMO.areas.length} areas, ${units} units, ${DEMO.staff.length} staff, ${DEMO.zones.length} zones, ${DEMO.devices.length} devices${options.devicesDir ? ` (credentials in ${options.devicesDir})` : ''} (skip with --no-seed)`,
  );
  return { seeded: true };
};
