/**
 * The resident code's tenancy matrix: every route of its catalogue × every role × {own area, neighbour
 * (same sub-district and compound, another area), foreign (another sub-district, same ids)}, against the
 * local cloud. Expectations follow the feature's rules — the route's roles (403), then the registry's
 * view of the area (404: committee members, company staff and owners see their areas, caseworkers their
 * compounds, the office its sub-district), an owner only the cases about it, and a step only for its
 * actor (403) — and a refused case changes nothing of tenant A's area.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LADDERS } from '../../functions/resident/domain.js';
import { residentRoutes } from '../../functions/resident/routes.js';
import { ROLES, type Role } from '../../functions/shared/auth.js';
import type { RouteDefinition } from '../../functions/shared/routes.js';
import type { LocalCloud } from '../../local/cloud.js';
import { eventually, startTestCloud } from '../support/cloud.js';

type Tenant = 'a' | 'b';
type Scope = 'own' | 'neighbour' | 'foreign';
const SD: Record<Tenant, string> = { a: 'sd-rt-a', b: 'sd-rt-b' };
const COMPOUND = 'cpd';
const AREA = 'area-1';
const OTHER_AREA = 'area-3';
const DAY = 86_400_000;
const CASE_ID = 'matrix-case';

const covenant = {
  covenantId: 'code',
  version: 1,
  kind: 'management-covenant',
  title: '住户守则',
  articles: [{ articleId: 'art-1', text: '分类投放生活垃圾。' }],
  rules: [{ ruleId: 'sorting', caseType: 'garbage-sorting', articleId: 'art-1' }],
};

/** The role that carries out the first step of a garbage-sorting case (the fixture's case). */
const FIRST_ACTOR: Role = (
  {
    committee: 'committee-member',
    'property-company': 'property-staff',
    'street-office': 'street-office',
  } as const
)[DEFAULT_LADDERS['garbage-sorting'].steps[0]?.actor ?? 'committee'];

const requestOf = (
  route: RouteDefinition,
  caseId: string,
): { path: string; body?: unknown; csv?: string } => {
  const [, template = ''] = route.routeKey.split(' ');
  const path = template
    .replace('{areaId}', AREA)
    .replace('{caseId}', caseId)
    .replace('{caseType}', 'garbage-sorting')
    .replace('{covenantId}', covenant.covenantId)
    .replace('{version}', '1');
  switch (route.handler) {
    case 'createCovenant':
      return { path, body: { ...covenant, covenantId: 'matrix-covenant' } };
    case 'adoptCovenant':
      return { path, body: { covenantId: 'code', version: 1, meetingId: 'no-meeting', matterId: 'no-matter' } };
    case 'tuneLadder':
      return {
        path,
        body: { steps: DEFAULT_LADDERS['garbage-sorting'].steps.map((step) => ({ stepId: step.stepId })) },
      };
    case 'importFeeLedger':
      return { path, csv: 'building,room,arrears\n1,101,0' };
    case 'openCase':
      return { path, body: { caseType: 'garbage-sorting', postingBoard: '1', description: 'matrix' } };
    case 'recordNotice':
      return {
        path,
        body: {
          stepId: DEFAULT_LADDERS['garbage-sorting'].steps[0]?.stepId,
          channel: DEFAULT_LADDERS['garbage-sorting'].steps[0]?.channels[0],
          deliveredAt: new Date(Date.now() - 60_000).toISOString(),
          proof: { kind: 'signature', reference: 'proof.jpg' },
          recipients: { postingBoard: '1' },
        },
      };
    case 'remedyCase':
      return { path, body: { kind: 'remedied', detail: 'photo.jpg' } };
    default:
      return { path };
  }
};

/** Whether the feature's rules let this caller reach what the request names (roles aside). */
const reaches = (route: RouteDefinition, role: Role, scope: Scope): boolean => {
  if (scope === 'foreign') return true; // B's claims reach B's records of the same ids
  if (route.handler === 'createCovenant' || route.handler === 'getCovenant') return true; // sub-district-wide
  if (scope === 'own') return true;
  // Another area of the same compound: the office sees its sub-district, a caseworker its compounds.
  return role === 'street-office' || role === 'caseworker';
};

describe('resident-code tenancy matrix: every route × every role × own / neighbour / foreign', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  const caseIds: Record<Tenant, string> = { a: '', b: '' };
  const ownerIds: Record<Tenant, string> = { a: '', b: '' };

  const tokenFor = (tenant: Tenant, role: Role, scope: Scope) =>
    cloud.token({
      role,
      subDistrictId: SD[tenant],
      sub: `${role}-${scope}`,
      compoundIds: [COMPOUND],
      areaIds: [scope === 'neighbour' ? OTHER_AREA : AREA],
      ...(role === 'owner' ? { ownerId: scope === 'neighbour' ? 'someone-else' : ownerIds[tenant] } : {}),
      ...(role === 'property-staff' ? { companyId: 'co' } : {}),
    });
  const call = async (
    token: string,
    method: string,
    request: { path: string; body?: unknown; csv?: string },
  ) => {
    const response = await fetch(`${cloud.endpoints.api}${request.path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(request.csv === undefined ? {} : { 'content-type': 'text/csv' }),
      },
      body: request.csv ?? (request.body === undefined ? undefined : JSON.stringify(request.body)),
    });
    return { status: response.status, text: await response.text() };
  };
  const snapshot = async () => {
    const office = await cloud.token({ role: 'street-office', subDistrictId: SD.a });
    const parts = await Promise.all(
      [
        `/areas/${AREA}/resident-cases`,
        `/areas/${AREA}/covenants`,
        `/areas/${AREA}/ladders/garbage-sorting`,
        '/covenants/matrix-covenant/versions/1',
      ].map(async (path) => (await call(office, 'GET', { path })).text),
    );
    return parts;
  };

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    const opens = cloud.clock.now() + 16 * DAY;
    for (const tenant of ['a', 'b'] as const) {
      const office = await cloud.token({ role: 'street-office', subDistrictId: SD[tenant] });
      const post = async (path: string, body: unknown, csv?: string) => {
        const answer = await call(office, 'POST', { path, body: csv === undefined ? body : undefined, csv });
        if (answer.status >= 300) throw new Error(`${path}: ${answer.status} ${answer.text}`);
        return JSON.parse(answer.text);
      };
      await post('/compounds', { compoundId: COMPOUND, name: `Compound ${tenant}` });
      for (const areaId of [AREA, OTHER_AREA])
        await post(`/compounds/${COMPOUND}/areas`, { areaId, name: areaId });
      await post(`/areas/${AREA}/roster`, undefined, 'building,room,area,owner\n1,101,80.00,业主');
      await post('/covenants', covenant);
      await post(`/areas/${AREA}/meetings`, {
        meetingId: 'code',
        title: '住户守则',
        format: 'written-consultation',
        votingOpensAt: new Date(opens).toISOString(),
        votingClosesAt: new Date(opens + DAY).toISOString(),
        matters: [{ matterId: 'adopt', kind: 'resolution', item: 2, title: '制定管理规约' }],
      });
    }
    cloud.clock.advance(opens - cloud.clock.now() + 1_000);
    for (const tenant of ['a', 'b'] as const) {
      const office = await cloud.token({ role: 'street-office', subDistrictId: SD[tenant] });
      const owners = JSON.parse((await call(office, 'GET', { path: `/areas/${AREA}/owners?limit=5` })).text);
      ownerIds[tenant] = owners.items[0].id;
      await eventually(
        async () =>
          JSON.parse((await call(office, 'GET', { path: '/meetings/code' })).text).status === 'open'
            ? true
            : undefined,
        20_000,
      );
      const owner = await cloud.token({
        role: 'owner',
        subDistrictId: SD[tenant],
        compoundIds: [COMPOUND],
        areaIds: [AREA],
        ownerId: ownerIds[tenant],
      });
      const cast = await call(owner, 'POST', {
        path: '/meetings/code/ballots',
        body: { choices: [{ matterId: 'adopt', choice: 'for' }] },
      });
      if (cast.status >= 300) throw new Error(`ballot: ${cast.status} ${cast.text}`);
    }
    cloud.clock.advance(DAY + 1_000);
    for (const tenant of ['a', 'b'] as const) {
      const office = await cloud.token({ role: 'street-office', subDistrictId: SD[tenant] });
      await eventually(
        async () =>
          JSON.parse((await call(office, 'GET', { path: '/meetings/code' })).text).status === 'closed'
            ? true
            : undefined,
        30_000,
      );
      const adopted = await call(office, 'POST', {
        path: `/areas/${AREA}/covenant-adoptions`,
        body: { covenantId: 'code', version: 1, meetingId: 'code', matterId: 'adopt' },
      });
      if (adopted.status >= 300) throw new Error(`adoption: ${adopted.status} ${adopted.text}`);
      const opened = await call(office, 'POST', {
        path: `/areas/${AREA}/resident-cases`,
        body: { caseType: 'garbage-sorting', unitIds: [`${AREA}.1.101`], description: 'fixture' },
      });
      if (opened.status >= 300) throw new Error(`case: ${opened.status} ${opened.text}`);
      caseIds[tenant] = JSON.parse(opened.text).caseId;
    }
  }, 180_000);
  afterAll(async () => stop?.());

  const cases: { name: string; route: RouteDefinition; role: Role; scope: Scope }[] = [];
  for (const route of Object.values(residentRoutes) as RouteDefinition[])
    for (const role of ROLES)
      for (const scope of ['own', 'neighbour', 'foreign'] as const)
        cases.push({ name: `${route.routeKey} as ${role} (${scope})`, route, role, scope });

  it.each(cases)('$name', async ({ route, role, scope }) => {
    const tenant: Tenant = scope === 'foreign' ? 'b' : 'a';
    const [method = 'GET'] = route.routeKey.split(' ');
    const request = requestOf(route, caseIds[tenant] || CASE_ID);
    const allowedRole = route.roles.includes(role);
    const visible = reaches(route, role, scope);
    const before = await snapshot();
    const answer = await call(await tokenFor(tenant, role, scope), method, request);
    if (!allowedRole) expect(answer.status, 'role').toBe(403);
    else if (!visible) expect(answer.status, `tenancy: ${answer.text}`).toBe(404);
    else if (route.handler === 'recordNotice' && role !== FIRST_ACTOR && answer.status === 403)
      // Reached, but the first step is another actor's: the 403 names the step, not the role.
      expect(answer.text).toMatch(/is the \w[\w-]*'s to carry out/);
    else expect([403, 404], `allowed: ${answer.text}`).not.toContain(answer.status);
    if (!allowedRole || !visible || scope === 'foreign') expect(await snapshot()).toEqual(before);
  });
});
