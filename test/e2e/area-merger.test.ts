/**
 * The area merger (联小建大) through the HTTP API of the local cloud, as the seed's Xiling New Village
 * went: seven areas proposed, the third-party survey uploaded for each, one area's committee opts out
 * (respected), six general meetings vote on the plan (five pass, one fails), the housing bureau approves,
 * and five areas become one — run by the template's own state machine. Bad inputs are refused with
 * nothing changed. The local cloud's clock moves past the meetings' notice and window; nothing is faked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.js';
import { type Answer, apiClient } from '../support/api.js';
import { eventually, startTestCloud } from '../support/cloud.js';

const SD = 'sd-merger';
const OTHER_SD = 'sd-elsewhere';
const COMPOUND = 'xiling';
const AREAS = ['xl-1', 'xl-2', 'xl-3', 'xl-4', 'xl-5', 'xl-6', 'xl-7'];
/** Areas of the proposals that end otherwise. */
const MORE = ['xl-8', 'xl-9', 'xl-10'];
const OPTS_OUT = 'xl-7';
const FAILS = 'xl-6';
const PROPOSAL = 'xiling-2026';
const MATTER = `merger-${PROPOSAL}`;
const DAY = 86_400_000;

const roster = (area: string) =>
  [
    'building,room,area,owner,idLast4,phone,developerHeld',
    `${area}-1,101,80.00,${area}甲,0001,13900000001,否`,
    `${area}-1,102,90.50,${area}乙,0002,13900000002,否`,
    `${area}-2,101,100.25,${area}丙,0003,13900000003,否`,
  ].join('\n');

describe('an area merger from proposal to one merged area', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let office: string;
  let surveyor: string;
  let bureau: string;
  let foreignBureau: string;
  const committees = new Map<string, string>();
  const owners = new Map<string, { id: string; token: string }[]>();
  let opensAt: number;
  let closesAt: number;

  const { api, ok } = apiClient(
    () => cloud.endpoints.api,
    () => office,
  );
  const iso = (ms: number) => new Date(ms).toISOString();
  const proposal = () => ok(`/proposals/${PROPOSAL}`);
  const unchanged = async (action: () => Promise<Answer>, status: number) => {
    const before = await proposal();
    const timelineBefore = (await ok(`/proposals/${PROPOSAL}/timeline`)).events;
    const answer = await action();
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ status });
    expect(await proposal()).toEqual(before);
    expect((await ok(`/proposals/${PROPOSAL}/timeline`)).events).toEqual(timelineBefore);
    return answer;
  };

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    office = await cloud.token({ role: 'street-office', subDistrictId: SD });
    surveyor = await cloud.token({ role: 'evaluator', subDistrictId: SD });
    bureau = await cloud.token({ role: 'housing-bureau', subDistrictId: SD });
    foreignBureau = await cloud.token({ role: 'housing-bureau', subDistrictId: OTHER_SD });
    await ok('/compounds', { body: { compoundId: COMPOUND, name: '西凌新村' } });
    for (const area of [...AREAS, ...MORE]) {
      await ok(`/compounds/${COMPOUND}/areas`, { body: { areaId: area, name: `西凌${area}` } });
      await ok(`/areas/${area}/roster`, { csv: roster(area) });
      committees.set(
        area,
        await cloud.token({
          role: 'committee-member',
          subDistrictId: SD,
          compoundIds: [COMPOUND],
          areaIds: [area],
        }),
      );
      const listed = (await ok(`/areas/${area}/owners?limit=100`)).items as { id: string }[];
      owners.set(
        area,
        await Promise.all(
          listed.map(async ({ id }) => ({
            id,
            token: await cloud.token({
              role: 'owner',
              subDistrictId: SD,
              compoundIds: [COMPOUND],
              areaIds: [area],
              ownerId: id,
            }),
          })),
        ),
      );
    }
    // Another sub-district, with an area of its own.
    const otherOffice = await cloud.token({ role: 'street-office', subDistrictId: OTHER_SD });
    await ok('/compounds', { token: otherOffice, body: { compoundId: COMPOUND, name: '别处' } });
    await ok(`/compounds/${COMPOUND}/areas`, {
      token: otherOffice,
      body: { areaId: 'far-1', name: '别处一区' },
    });
  }, 240_000);
  afterAll(async () => stop?.());

  it('refuses a proposal naming an area of another sub-district, or another compound, and starts none', async () => {
    const body = {
      proposalId: PROPOSAL,
      title: '西凌新村联小建大',
      compoundId: COMPOUND,
      areaIds: [...AREAS.slice(0, 6), 'far-1'],
      newArea: { areaId: 'xl-all', name: '西凌新村' },
      plan: '七个物业管理区域调整为一个，成立新的业主大会',
    };
    const foreign = await api('/proposals', { body });
    expect(foreign.status).toBe(400);
    expect(foreign.body.errors).toEqual([expect.objectContaining({ pointer: '/body/areaIds/6' })]);
    const twice = await api('/proposals', { body: { ...body, areaIds: ['xl-1', 'xl-1'] } });
    expect(twice.status).toBe(400);
    expect((await api(`/proposals/${PROPOSAL}`)).status).toBe(404);
    expect((await ok('/proposals')).items).toEqual([]);
  });

  it('proposes the merger and takes the survey results of every area; a survey for an area not in it is refused', async () => {
    const created = await ok('/proposals', {
      body: {
        proposalId: PROPOSAL,
        title: '西凌新村联小建大',
        compoundId: COMPOUND,
        areaIds: AREAS,
        newArea: { areaId: 'xl-all', name: '西凌新村' },
        plan: '七个物业管理区域调整为一个，成立新的业主大会',
      },
    });
    expect(created).toMatchObject({ proposalId: PROPOSAL, step: 'survey' });
    expect((await api('/proposals', { body: { ...created, step: undefined } })).status).toBe(400);
    await eventually(async () => ((await proposal()).waitingFor.includes('survey') ? true : undefined));

    await unchanged(
      () =>
        api(`/proposals/${PROPOSAL}/areas/far-1/survey`, {
          method: 'PUT',
          token: surveyor,
          body: { organisation: '第三方', households: 3, respondents: 3, inFavour: 3, reportReference: 'r' },
        }),
      404,
    );
    for (const area of AREAS)
      await ok(`/proposals/${PROPOSAL}/areas/${area}/survey`, {
        method: 'PUT',
        token: surveyor,
        body: {
          organisation: '第三方调查机构',
          households: 3,
          respondents: 3,
          inFavour: area === OPTS_OUT ? 0 : 3,
          reportReference: `surveys/${area}.pdf`,
        },
      });
    await eventually(async () => ((await proposal()).step === 'participation' ? true : undefined), 20_000);
  });

  it('records one opt-out with its reason, never overridden, and opens the plan in six general meetings', async () => {
    const now = cloud.clock.now();
    opensAt = now + 16 * DAY;
    closesAt = opensAt + 2 * DAY;
    for (const area of AREAS.filter((a) => a !== OPTS_OUT))
      await ok(`/areas/${area}/meetings`, {
        token: committees.get(area),
        body: {
          meetingId: `plan-${area}`,
          title: '关于调整物业管理区域的业主大会',
          format: 'written-consultation',
          votingOpensAt: iso(opensAt),
          votingClosesAt: iso(closesAt),
          matters: [{ matterId: 'minutes', kind: 'resolution', item: 9, title: '会议记录' }],
        },
      });
    await ok(`/proposals/${PROPOSAL}/areas/${OPTS_OUT}/participation`, {
      method: 'PUT',
      token: committees.get(OPTS_OUT),
      body: { takesPart: false, reason: '本楼业主希望保留独立的业委会' },
    });
    // Final: neither the committee nor the office can change it.
    await unchanged(
      () =>
        api(`/proposals/${PROPOSAL}/areas/${OPTS_OUT}/participation`, {
          method: 'PUT',
          token: committees.get(OPTS_OUT),
          body: { takesPart: true, meetingId: 'plan-xl-1' },
        }),
      409,
    );
    expect(
      (
        await api(`/proposals/${PROPOSAL}/areas/${OPTS_OUT}/participation`, {
          method: 'PUT',
          token: office,
          body: { takesPart: true, meetingId: 'plan-xl-1' },
        })
      ).status,
    ).toBe(403);
    for (const area of AREAS.filter((a) => a !== OPTS_OUT))
      await ok(`/proposals/${PROPOSAL}/areas/${area}/participation`, {
        method: 'PUT',
        token: committees.get(area),
        body: { takesPart: true, meetingId: `plan-${area}` },
      });
    for (const area of AREAS.filter((a) => a !== OPTS_OUT))
      await eventually(async () => {
        const meeting = await ok(`/meetings/plan-${area}`, { token: committees.get(area) });
        return meeting.matters.some((m: { matterId: string }) => m.matterId === MATTER) ? true : undefined;
      }, 20_000);
    expect((await proposal()).step).toBe('votes');
  });

  it('counts five meetings that pass and one that fails, then waits for the housing bureau', async () => {
    cloud.clock.advance(opensAt - cloud.clock.now() + 1_000);
    for (const area of AREAS.filter((a) => a !== OPTS_OUT)) {
      await eventually(async () => {
        const meeting = await ok(`/meetings/plan-${area}`, { token: committees.get(area) });
        return meeting.status === 'open' ? true : undefined;
      }, 20_000);
      for (const owner of owners.get(area) ?? [])
        await ok(`/meetings/plan-${area}/ballots`, {
          token: owner.token,
          body: {
            choices: [
              { matterId: MATTER, choice: area === FAILS ? 'against' : 'for' },
              { matterId: 'minutes', choice: 'for' },
            ],
          },
        });
    }
    cloud.clock.advance(closesAt - cloud.clock.now() + 1_000);
    const waiting = await eventually(async () => {
      const current = await proposal();
      return current.step === 'bureau' && current.waitingFor.includes('bureau') ? current : undefined;
    }, 60_000);
    expect(waiting.votes).toEqual(
      expect.arrayContaining(
        AREAS.filter((a) => a !== OPTS_OUT).map((areaId) =>
          expect.objectContaining({ areaId, passed: areaId !== FAILS }),
        ),
      ),
    );
    expect(waiting.votes).toHaveLength(6);
  });

  it('refuses a decision from anyone but the bureau of the sub-district, and a foreign proposal id', async () => {
    const approval = { approved: true, reference: '沪房管〔2026〕12号' };
    await unchanged(() => api(`/proposals/${PROPOSAL}/decision`, { token: office, body: approval }), 403);
    await unchanged(
      () => api(`/proposals/${PROPOSAL}/decision`, { token: foreignBureau, body: approval }),
      404,
    );
    await unchanged(
      () => api('/proposals/no-such-proposal/decision', { token: bureau, body: approval }),
      404,
    );
    await unchanged(
      () =>
        api(`/proposals/${PROPOSAL}/decision`, { token: bureau, body: { approved: false, reference: 'x' } }),
      400,
    );
    expect((await api('/compounds', { token: bureau })).status).toBe(403);
  });

  it('merges the five areas that passed into one when the bureau approves; approving twice is refused', async () => {
    await ok(`/proposals/${PROPOSAL}/decision`, {
      token: bureau,
      body: { approved: true, reference: '沪房管〔2026〕12号' },
    });
    const ended = await eventually(async () => {
      const current = await proposal();
      return current.outcome === 'merged' ? current : undefined;
    }, 60_000);
    await unchanged(
      () =>
        api(`/proposals/${PROPOSAL}/decision`, {
          token: bureau,
          body: { approved: true, reference: '沪房管〔2026〕12号' },
        }),
      409,
    );
    expect(ended.merge).toMatchObject({ newAreaId: 'xl-all', units: 15 });
    expect(ended.founding).toMatchObject({
      preparatoryGroupBy: expect.any(String),
      firstMeetingBy: expect.any(String),
    });

    const merged = AREAS.filter((a) => a !== OPTS_OUT && a !== FAILS);
    expect((await ok('/areas/xl-all/units?limit=100')).items).toHaveLength(15);
    for (const area of merged) expect((await ok(`/areas/${area}/units?limit=100`)).items).toEqual([]);
    for (const area of [OPTS_OUT, FAILS])
      expect((await ok(`/areas/${area}/units?limit=100`)).items).toHaveLength(3);

    const timeline = await ok(`/proposals/${PROPOSAL}/timeline`, { token: bureau });
    expect(timeline.execution).toMatchObject({ status: 'SUCCEEDED' });
    const states = timeline.execution.states.map((s: { state: string }) => s.state);
    for (const state of [
      'Survey',
      'Participation',
      'Votes',
      'CountVotes',
      'BureauDecision',
      'CarryOutMerge',
      'PublicNotice',
      'Merged',
    ])
      expect(states).toContain(state);
    const what = timeline.events.map((e: { what: string }) => e.what);
    expect(what).toEqual(
      expect.arrayContaining([
        'proposed',
        'survey results uploaded',
        'opted out',
        'takes part',
        'the general meeting passed the plan',
        'the plan did not pass (not-passed)',
        'approved by the housing bureau',
        '5 areas became xl-all',
        'ended: Merged',
      ]),
    );
    // A committee of an area that took part reads the proposal; one of another sub-district does not.
    expect((await api(`/proposals/${PROPOSAL}`, { token: committees.get('xl-1') })).status).toBe(200);
    expect((await api(`/proposals/${PROPOSAL}`, { token: foreignBureau })).status).toBe(404);
  });

  /** A proposal of these areas up to the bureau: surveys, every area takes part, the votes as given. */
  const upToTheBureau = async (proposalId: string, areas: Record<string, 'for' | 'against'>) => {
    const areaIds = Object.keys(areas);
    await ok('/proposals', {
      body: {
        proposalId,
        title: `合并 ${areaIds.join('、')}`,
        compoundId: COMPOUND,
        areaIds,
        newArea: { areaId: `${proposalId}-area`, name: '合并区域' },
        plan: '调整物业管理区域',
      },
    });
    for (const area of areaIds)
      await ok(`/proposals/${proposalId}/areas/${area}/survey`, {
        method: 'PUT',
        token: surveyor,
        body: {
          organisation: '第三方',
          households: 3,
          respondents: 3,
          inFavour: 2,
          reportReference: 'r.pdf',
        },
      });
    await eventually(
      async () => ((await ok(`/proposals/${proposalId}`)).step === 'participation' ? true : undefined),
      20_000,
    );
    const opens = cloud.clock.now() + 16 * DAY;
    for (const area of areaIds) {
      await ok(`/areas/${area}/meetings`, {
        token: committees.get(area),
        body: {
          meetingId: `${proposalId}-${area}`,
          title: '关于调整物业管理区域的业主大会',
          format: 'written-consultation',
          votingOpensAt: iso(opens),
          votingClosesAt: iso(opens + DAY),
          matters: [{ matterId: 'minutes', kind: 'resolution', item: 9, title: '会议记录' }],
        },
      });
      await ok(`/proposals/${proposalId}/areas/${area}/participation`, {
        method: 'PUT',
        token: committees.get(area),
        body: { takesPart: true, meetingId: `${proposalId}-${area}` },
      });
    }
    const matterId = `merger-${proposalId}`;
    for (const area of areaIds)
      await eventually(async () => {
        const meeting = await ok(`/meetings/${proposalId}-${area}`, { token: committees.get(area) });
        return meeting.matters.some((m: { matterId: string }) => m.matterId === matterId) ? true : undefined;
      }, 20_000);
    cloud.clock.advance(opens - cloud.clock.now() + 1_000);
    for (const [area, choice] of Object.entries(areas)) {
      await eventually(async () => {
        const meeting = await ok(`/meetings/${proposalId}-${area}`, { token: committees.get(area) });
        return meeting.status === 'open' ? true : undefined;
      }, 20_000);
      for (const owner of owners.get(area) ?? [])
        await ok(`/meetings/${proposalId}-${area}/ballots`, {
          token: owner.token,
          body: {
            choices: [
              { matterId, choice },
              { matterId: 'minutes', choice: 'for' },
            ],
          },
        });
    }
    cloud.clock.advance(DAY + 1_000);
  };
  const endsIn = async (proposalId: string, outcome: string, state: string) => {
    const ended = await eventually(async () => {
      const current = await ok(`/proposals/${proposalId}`);
      return current.outcome !== undefined ? current : undefined;
    }, 60_000);
    expect(ended.outcome).toBe(outcome);
    const timeline = await ok(`/proposals/${proposalId}/timeline`);
    expect(timeline.execution).toMatchObject({
      status: outcome === 'merged' ? 'SUCCEEDED' : 'FAILED',
      error: state,
    });
    expect(timeline.execution.states.map((s: { state: string }) => s.state)).toContain(state);
    return ended;
  };

  it('ends in TooFewAreasPassed when all areas but one vote the plan down, merging nothing', async () => {
    await upToTheBureau('few-passed', { 'xl-8': 'for', 'xl-9': 'against' });
    const ended = await endsIn('few-passed', 'too-few-passed', 'TooFewAreasPassed');
    expect(ended.merge).toBeUndefined();
    expect((await api('/areas/few-passed-area')).status).toBe(404);
    expect((await ok('/areas/xl-8/units?limit=100')).items).toHaveLength(3);
  });

  it('ends in RejectedByBureau when the housing bureau rejects with its reasons, merging nothing', async () => {
    await upToTheBureau('rejected', { 'xl-8': 'for', 'xl-9': 'for' });
    await eventually(
      async () => ((await ok('/proposals/rejected')).waitingFor.includes('bureau') ? true : undefined),
      60_000,
    );
    await ok('/proposals/rejected/decision', {
      token: bureau,
      body: { approved: false, reference: '沪房管〔2026〕13号', reasons: '两区域共用设施的产权尚未厘清' },
    });
    const ended = await endsIn('rejected', 'rejected', 'RejectedByBureau');
    expect(ended.decision).toMatchObject({ approved: false, reasons: '两区域共用设施的产权尚未厘清' });
    expect((await api('/areas/rejected-area')).status).toBe(404);
    expect((await ok('/areas/xl-9/units?limit=100')).items).toHaveLength(3);
  });

  it('ends in Cancelled when the office cancels while the survey runs; a cancelled proposal cannot be cancelled again', async () => {
    await ok('/proposals', {
      body: {
        proposalId: 'cancelled',
        title: '合并 xl-9、xl-10',
        compoundId: COMPOUND,
        areaIds: ['xl-9', 'xl-10'],
        newArea: { areaId: 'cancelled-area', name: '合并区域' },
        plan: '调整物业管理区域',
      },
    });
    await eventually(async () =>
      (await ok('/proposals/cancelled')).waitingFor.includes('survey') ? true : undefined,
    );
    expect((await api('/proposals/cancelled/cancel', { body: { reason: '' } })).status).toBe(400);
    await ok('/proposals/cancelled/cancel', { body: { reason: '街道调整工作安排' } });
    await endsIn('cancelled', 'cancelled', 'Cancelled');
    expect((await api('/proposals/cancelled/cancel', { body: { reason: '再次' } })).status).toBe(409);
    expect((await api(`/proposals/${PROPOSAL}/cancel`, { body: { reason: '合并已完成' } })).status).toBe(409);

    // A committee lists the proposals naming its area, in one page; the office lists them all.
    const listed = async (token?: string) =>
      ((await ok('/proposals', { token })).items as { proposalId: string }[]).map((p) => p.proposalId);
    expect(await listed(committees.get('xl-8'))).toEqual(['few-passed', 'rejected']);
    expect(await listed(committees.get('xl-10'))).toEqual(['cancelled']);
    expect(await listed(committees.get('xl-1'))).toEqual([PROPOSAL]);
    expect((await listed()).sort()).toEqual(['cancelled', 'few-passed', 'rejected', PROPOSAL].sort());
    expect(await listed(foreignBureau)).toEqual([]);
  });
});
