/**
 * The merger's tenancy matrix: every route of its catalogue × every role × {own proposal, neighbour
 * (same sub-district, a committee of none of its areas), foreign proposal (another sub-district, same
 * ids)}, against the local cloud. The expectation of each case comes from the feature's own rules — the
 * route's roles (403), then `canSee` on the proposal (404) — never written by hand; a case the rules
 * allow must not be refused for tenancy, and a refused case changes nothing (the proposal, its timeline
 * and the other sub-district's, compared before and after).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canSee } from '../../functions/merger/domain.js';
import { mergerRoutes } from '../../functions/merger/routes.js';
import { type Caller, ROLES, type Role } from '../../functions/shared/auth.js';
import type { RouteDefinition } from '../../functions/shared/routes.js';
import type { LocalCloud } from '../../local/cloud.js';
import { eventually, startTestCloud } from '../support/cloud.js';

type Tenant = 'a' | 'b';
const SD: Record<Tenant, string> = { a: 'sd-mt-a', b: 'sd-mt-b' };
const COMPOUND = 'cpd';
const AREAS = ['area-1', 'area-2'];
const NEIGHBOUR_AREA = 'area-3';
const PROPOSAL = 'merge-1';
const CANCELLED = 'merge-2';

type Scope = 'own' | 'neighbour';
/** The claims each role's token carries in a tenant: committee members of one of the proposal's areas
 * ('own') or of another area of the compound ('neighbour'). */
const callerOf = (tenant: Tenant, role: Role, scope: Scope): Caller => ({
  sub: `${role}-${tenant}-${scope}`,
  roles: [role],
  subDistrictId: SD[tenant],
  compoundIds: [COMPOUND],
  areaIds: [scope === 'own' ? 'area-1' : NEIGHBOUR_AREA],
  ...(role === 'owner' ? { ownerId: `owner-${tenant}` } : {}),
  ...(role === 'property-staff' ? { companyId: 'co' } : {}),
});

/** A request for each route, naming the tenant-A proposal (the bodies are valid, so only access decides). */
const requestOf = (route: RouteDefinition): { path: string; body?: unknown } => {
  const [, template = ''] = route.routeKey.split(' ');
  // A cancellation that the rules allow ends its proposal while later cases run: it gets one of its own.
  const proposalId = route.handler === 'cancelProposal' ? CANCELLED : PROPOSAL;
  const path = template.replace('{proposalId}', proposalId).replace('{areaId}', 'area-1');
  switch (route.handler) {
    case 'createProposal':
      return {
        path,
        body: {
          proposalId: 'merge-new',
          title: 'A second merger',
          compoundId: COMPOUND,
          areaIds: AREAS,
          newArea: { areaId: 'area-new', name: 'New' },
          plan: 'Two areas become one',
        },
      };
    case 'uploadSurvey':
      return {
        path,
        body: {
          organisation: 'Survey Co',
          households: 1,
          respondents: 1,
          inFavour: 1,
          reportReference: 'r.pdf',
        },
      };
    case 'recordParticipation':
      return { path, body: { takesPart: false, reason: 'The matrix opts out' } };
    case 'decide':
      return { path, body: { approved: false, reference: 'ref-1', reasons: 'The matrix rejects' } };
    case 'cancelProposal':
      return { path, body: { reason: 'The matrix cancels' } };
    default:
      return { path };
  }
};

describe('merger tenancy matrix: every route × every role × own / neighbour / foreign proposal', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  const proposals: Partial<Record<Tenant, { subDistrictId: string; areaIds: string[] }>> = {};

  const call = async (caller: Caller, route: RouteDefinition, tenant: Tenant) => {
    const [method = 'GET'] = route.routeKey.split(' ');
    const request = requestOf(route);
    const token = await cloud.token({
      role: caller.roles[0] as Role,
      subDistrictId: SD[tenant],
      compoundIds: caller.compoundIds,
      areaIds: caller.areaIds,
      ...(caller.ownerId ? { ownerId: caller.ownerId } : {}),
      ...(caller.companyId ? { companyId: caller.companyId } : {}),
    });
    const response = await fetch(`${cloud.endpoints.api}${request.path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
    });
    await response.text();
    return response.status;
  };
  const snapshot = async (tenant: Tenant) => {
    const office = await cloud.token({ role: 'street-office', subDistrictId: SD[tenant] });
    const read = async (path: string) =>
      (
        await fetch(`${cloud.endpoints.api}${path}`, { headers: { authorization: `Bearer ${office}` } })
      ).text();
    const timeline = JSON.parse(await read(`/proposals/${PROPOSAL}/timeline`)) as { events: unknown };
    return JSON.stringify([await read(`/proposals/${PROPOSAL}`), timeline.events]);
  };

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    for (const tenant of ['a', 'b'] as const) {
      const office = await cloud.token({ role: 'street-office', subDistrictId: SD[tenant] });
      const post = async (path: string, body: unknown) => {
        const response = await fetch(`${cloud.endpoints.api}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${office}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (response.status >= 300) throw new Error(`${path}: ${response.status} ${await response.text()}`);
        return response.json();
      };
      await post('/compounds', { compoundId: COMPOUND, name: `Compound ${tenant}` });
      for (const areaId of [...AREAS, NEIGHBOUR_AREA])
        await post(`/compounds/${COMPOUND}/areas`, { areaId, name: areaId });
      for (const proposalId of [CANCELLED, PROPOSAL]) {
        const created = (await post('/proposals', {
          proposalId,
          title: `Merger of ${tenant}`,
          compoundId: COMPOUND,
          areaIds: AREAS,
          newArea: { areaId: 'area-merged', name: 'Merged' },
          plan: 'Two areas become one',
        })) as { subDistrictId: string; areaIds: string[] };
        if (proposalId === PROPOSAL) proposals[tenant] = created;
        await eventually(async () => {
          const response = await fetch(`${cloud.endpoints.api}/proposals/${proposalId}`, {
            headers: { authorization: `Bearer ${office}` },
          });
          const body = (await response.json()) as { waitingFor: string[] };
          return body.waitingFor.includes('survey') ? true : undefined;
        });
      }
    }
  }, 180_000);
  afterAll(async () => stop?.());

  const cases: { name: string; route: RouteDefinition; role: Role; scope: Scope | 'foreign' }[] = [];
  for (const route of Object.values(mergerRoutes) as RouteDefinition[])
    for (const role of ROLES)
      for (const scope of ['own', 'neighbour', 'foreign'] as const)
        cases.push({ name: `${route.routeKey} as ${role} (${scope})`, route, role, scope });

  it.each(cases)('$name', async ({ route, role, scope }) => {
    const tenant: Tenant = scope === 'foreign' ? 'b' : 'a';
    const caller = callerOf(tenant, role, scope === 'foreign' ? 'own' : scope);
    // The caller's own sub-district is the token's; a foreign case reaches A's proposal id with B's claims,
    // which name B's proposal of the same id: tenancy is that it sees B's and never A's.
    const allowedRole = route.roles.includes(role);
    const proposal = proposals[tenant] as { subDistrictId: string; areaIds: string[] };
    const names = route.routeKey.includes('{proposalId}');
    const visible = !names || canSee(caller, proposal);
    const beforeA = await snapshot('a');
    const status = await call(caller, route, tenant);
    if (!allowedRole) expect(status, 'role').toBe(403);
    else if (!visible) expect(status, 'tenancy').toBe(404);
    else expect([403, 404], 'allowed').not.toContain(status);
    if (!allowedRole || !visible || scope === 'foreign') expect(await snapshot('a')).toBe(beforeA);
  });
});
