/**
 * A year's rule-of-law evaluation of owners' committees (法治评估) through the HTTP API of the local
 * cloud: evaluators assigned (a conflict of interest refused, from the registry's units and contracts),
 * score sheets with evidence, the computed indicators from the disclosures on record, a disagreement
 * reconciled before finalising, a failed veto, gaps as follow-up tasks, the printable report, and the
 * guidance fund split in whole fen. Bad inputs are refused with nothing changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INDICATOR_SYSTEM } from '../../functions/evaluation/domain.js';
import type { LocalCloud } from '../../local/cloud.js';
import { type Answer, apiClient } from '../support/api.js';
import { eventually, startTestCloud } from '../support/cloud.js';

const SD = 'sd-evaluation';
const COMPOUND = 'bansongyuan';
const AREAS = ['bsy-1', 'bsy-2', 'bsy-3'];
const CYCLE = 'bsy-2027';
const SYSTEM = {
  systemId: DEFAULT_INDICATOR_SYSTEM.systemId,
  systemVersion: DEFAULT_INDICATOR_SYSTEM.version,
};
const committeeOf = (area: string) => `${area}.2024-01-01`;

/** Full marks on every typed indicator of the default system, except what `change` says. */
const sheet = (change: Record<string, number> = {}) => ({
  scores: DEFAULT_INDICATOR_SYSTEM.dimensions
    .flatMap((d) => d.indicators)
    .filter((indicator) => indicator.rule.kind !== 'computed')
    .map((indicator) => ({
      indicatorId: indicator.indicatorId,
      score: change[indicator.indicatorId] ?? (indicator.rule.kind === 'scale' ? indicator.rule.max : 1),
      evidence: [`evidence/${indicator.indicatorId}.pdf`],
    })),
});

describe('a committee evaluation cycle from assignment to the guidance fund', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let office: string;
  const evaluators = new Map<string, string>();
  const committees = new Map<string, string>();
  let ownerOfArea1: string;

  const { api, ok } = apiClient(
    () => cloud.endpoints.api,
    () => office,
  );
  const report = (area: string, token?: string) =>
    api(`/evaluation-cycles/${CYCLE}/committees/${committeeOf(area)}/report`, { token });
  /** The action is refused with `status` and neither the cycle nor any report changes. */
  const unchanged = async (action: () => Promise<Answer>, status: number) => {
    const before = [
      await api(`/evaluation-cycles/${CYCLE}`),
      ...(await Promise.all(AREAS.map((a) => report(a)))),
    ];
    const answer = await action();
    expect(answer.status, answer.text).toBe(status);
    expect(answer.type).toContain('application/problem+json');
    const after = [
      await api(`/evaluation-cycles/${CYCLE}`),
      ...(await Promise.all(AREAS.map((a) => report(a)))),
    ];
    // A provisional report's due dates and generation time are read now: everything else must be equal.
    const strip = (a: Answer) => ({
      status: a.status,
      body: JSON.parse(JSON.stringify(a.body ?? null).replace(/"(dueBy|generatedAt)":"[^"]*"/g, '"$1":""')),
    });
    expect(after.map(strip)).toEqual(before.map(strip));
    return answer;
  };

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    office = await cloud.token({ role: 'street-office', subDistrictId: SD });
    await ok('/compounds', { body: { compoundId: COMPOUND, name: '半淞园' } });
    await ok('/companies', { body: { companyId: 'bsy-property', name: '半淞园物业' } });
    for (const area of AREAS) {
      await ok(`/compounds/${COMPOUND}/areas`, { body: { areaId: area, name: area } });
      await ok(`/areas/${area}/roster`, {
        csv: [
          'building,room,area,owner,idLast4,phone,developerHeld',
          `1,101,80.00,${area}业主,0001,13900000001,否`,
        ].join('\n'),
      });
      await ok(`/areas/${area}/committees`, {
        body: {
          termStartsOn: '2024-01-01',
          termEndsOn: '2028-12-31',
          members: [{ name: `${area}主任`, role: 'chair' }],
        },
      });
      committees.set(
        area,
        await cloud.token({
          role: 'committee-member',
          subDistrictId: SD,
          compoundIds: [COMPOUND],
          areaIds: [area],
        }),
      );
    }
    await ok('/areas/bsy-1/contracts', {
      body: {
        companyId: 'bsy-property',
        startsOn: '2025-01-01',
        endsOn: '2027-12-31',
        feePerSquareMetreFen: 150,
      },
    });
    ownerOfArea1 = ((await ok('/areas/bsy-1/owners?limit=10')).items as { id: string }[])[0]?.id as string;
    for (const name of ['lawyer-a', 'lawyer-b', 'lawyer-c', 'director-d', 'outsider'])
      evaluators.set(name, await cloud.token({ role: 'evaluator', subDistrictId: SD, sub: name }));
  }, 180_000);
  afterAll(async () => stop?.());

  it('keeps indicator systems as versioned data and refuses weights that do not sum to 100', async () => {
    const builtIn = await ok(`/indicator-systems/${SYSTEM.systemId}/versions/${SYSTEM.systemVersion}`, {
      token: evaluators.get('lawyer-a'),
    });
    expect(builtIn.dimensions.flatMap((d: { indicators: unknown[] }) => d.indicators)).toHaveLength(11);
    const custom = { ...DEFAULT_INDICATOR_SYSTEM, systemId: 'bsy-custom', version: 1 };
    const [first, ...rest] = custom.dimensions;
    const heavier = {
      ...custom,
      dimensions: [
        {
          ...first,
          indicators: first?.indicators.map((i, n) => (n === 0 ? { ...i, weight: i.weight + 1 } : i)),
        },
        ...rest,
      ],
    };
    const refused = await api('/indicator-systems', { body: heavier });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0]).toMatchObject({
      pointer: '/body/dimensions',
      detail: expect.stringContaining('101'),
    });
    expect((await api('/indicator-systems/bsy-custom/versions/1')).status).toBe(404);
    await ok('/indicator-systems', { body: custom });
    expect((await api('/indicator-systems', { body: custom })).status).toBe(409);
  });

  it('opens the cycle and assigns evaluators, refusing one who owns a unit in the area or works for its company', async () => {
    await ok('/evaluation-cycles', { body: { cycleId: CYCLE, year: 2027, ...SYSTEM } });
    await unchanged(
      () =>
        api(`/evaluation-cycles/${CYCLE}/assignments`, {
          body: {
            committeeId: committeeOf('bsy-1'),
            evaluatorId: 'outsider',
            name: '业主律师',
            ownerIds: [ownerOfArea1],
          },
        }),
      409,
    );
    const employed = await unchanged(
      () =>
        api(`/evaluation-cycles/${CYCLE}/assignments`, {
          body: {
            committeeId: committeeOf('bsy-1'),
            evaluatorId: 'outsider',
            name: '物业员工',
            employerCompanyId: 'bsy-property',
          },
        }),
      409,
    );
    expect(employed.body.errors[0].detail).toBe('works-for-its-property-company');
    const assign = (area: string, evaluatorId: string) =>
      ok(`/evaluation-cycles/${CYCLE}/assignments`, {
        body: { committeeId: committeeOf(area), evaluatorId, name: evaluatorId },
      });
    for (const lawyer of ['lawyer-a', 'lawyer-b', 'lawyer-c']) await assign('bsy-1', lawyer);
    await assign('bsy-2', 'director-d');
    await assign('bsy-3', 'director-d');
    // An evaluator sees only its own assignments.
    const seen = await ok(`/evaluation-cycles/${CYCLE}`, { token: evaluators.get('lawyer-a') });
    expect(seen.assignments.map((a: { committeeId: string }) => a.committeeId)).toEqual([
      committeeOf('bsy-1'),
    ]);
    expect((await api(`/evaluation-cycles/${CYCLE}`, { token: evaluators.get('outsider') })).status).toBe(
      404,
    );
    expect((await report('bsy-2', evaluators.get('lawyer-a'))).status).toBe(404);
  });

  it('takes score sheets with evidence; refuses a score off its scale and a sheet for an unassigned committee', async () => {
    const scores = (area: string, evaluator: string, body: unknown) =>
      api(`/evaluation-cycles/${CYCLE}/committees/${committeeOf(area)}/scores`, {
        method: 'PUT',
        token: evaluators.get(evaluator),
        body,
      });
    const offScale = await unchanged(() => scores('bsy-1', 'lawyer-a', sheet({ 'records-archive': 6 })), 400);
    expect(offScale.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual([
      expect.stringMatching(/^\/body\/scores\/\d+\/score$/),
    ]);
    await unchanged(() => scores('bsy-2', 'lawyer-a', sheet()), 404);
    await unchanged(
      () =>
        scores('bsy-1', 'lawyer-a', {
          scores: [{ indicatorId: 'meetings-every-two-months', score: 1, evidence: ['x'] }],
        }),
      400,
    );

    // Disclosures on record make the computed indicators: the committee of bsy-1 posts the fund's in the
    // first half-year and the common income's in the first two quarters of 2027 (the cloud's clock moves).
    const post = (kind: string, period: string) =>
      ok('/areas/bsy-1/disclosures', {
        token: committees.get('bsy-1'),
        body: { kind, period, documentRef: `notice/${period}.pdf` },
      });
    const moveTo = (iso: string) => cloud.clock.advance(Date.parse(iso) - cloud.clock.now());
    moveTo('2027-02-01T02:00:00Z');
    await post('maintenance-fund', '2027-H1');
    await post('common-income', '2027-Q1');
    moveTo('2027-05-01T02:00:00Z');
    await post('common-income', '2027-Q2');
    const badPeriod = await api('/areas/bsy-1/disclosures', {
      token: committees.get('bsy-1'),
      body: { kind: 'common-income', period: '2027-Q5', documentRef: 'x' },
    });
    expect(badPeriod.status).toBe(400);
    expect(
      (
        await api('/areas/bsy-1/disclosures', {
          token: committees.get('bsy-2'),
          body: { kind: 'common-income', period: '2027-Q2', documentRef: 'x' },
        })
      ).status,
    ).toBe(404);

    await ok(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-1')}/scores`, {
      method: 'PUT',
      token: evaluators.get('lawyer-a'),
      body: sheet(),
    });
    await ok(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-1')}/scores`, {
      method: 'PUT',
      token: evaluators.get('lawyer-b'),
      body: sheet(),
    });
    // lawyer-c disagrees on reception hours: 0 against the others' 1.
    await ok(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-1')}/scores`, {
      method: 'PUT',
      token: evaluators.get('lawyer-c'),
      body: sheet({ 'reception-hours': 0 }),
    });
    // bsy-2 fails a veto item: a member in fee arrears.
    await ok(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-2')}/scores`, {
      method: 'PUT',
      token: evaluators.get('director-d'),
      body: sheet({ 'no-member-fee-arrears': 0 }),
    });
    await ok(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-3')}/scores`, {
      method: 'PUT',
      token: evaluators.get('director-d'),
      body: sheet({ 'audit-posted-30-days': 0 }),
    });
  });

  it('refuses to finalise while evaluators disagree; finalises once they reconcile, with gaps as follow-ups', async () => {
    const finalise = (area: string) =>
      api(`/evaluation-cycles/${CYCLE}/committees/${committeeOf(area)}/finalise`, { method: 'POST' });
    const disagreeing = await unchanged(() => finalise('bsy-1'), 409);
    expect(disagreeing.body.detail).toContain('reception-hours');
    expect((await report('bsy-1')).body.disagreements).toEqual(['reception-hours']);

    // Reconciliation: lawyer-c re-scores after looking at the reception records again.
    await ok(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-1')}/scores`, {
      method: 'PUT',
      token: evaluators.get('lawyer-c'),
      body: sheet(),
    });
    const first = await ok(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-1')}/finalise`, {
      method: 'POST',
    });
    expect(first.result.disagreements).toEqual([]);
    // Typed indicators in full (50), fund disclosure 1 of 2 half-years (7.5 of 15), income 2 of 4 quarters
    // (6 of 12), no meetings held (0 of 23): 63.50 → pass.
    expect(first.result.scoreHundredths).toBe(6350);
    expect(first.result.grade).toBe('pass');
    expect(first.followUps.map((f: { indicatorId: string }) => f.indicatorId)).toEqual(
      expect.arrayContaining([
        'meetings-every-two-months',
        'meeting-notice-3-days',
        'fund-disclosure-half-yearly',
        'income-disclosure-quarterly',
      ]),
    );
    expect((await finalise('bsy-1')).status).toBe(409);

    const vetoed = await ok(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-2')}/finalise`, {
      method: 'POST',
    });
    expect(vetoed.result).toMatchObject({ grade: 'fail', vetoed: ['no-member-fee-arrears'] });
    await ok(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-3')}/finalise`, { method: 'POST' });

    // A sheet after the result is final is refused.
    const late = await api(`/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-1')}/scores`, {
      method: 'PUT',
      token: evaluators.get('lawyer-a'),
      body: sheet(),
    });
    expect(late.status).toBe(409);
  });

  it('serves the report as a printable page and as JSON, to the committee itself but not to another', async () => {
    const html = await api(
      `/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-1')}/report?format=html`,
      {
        token: committees.get('bsy-1'),
      },
    );
    expect(html.status).toBe(200);
    expect(html.type).toContain('text/html');
    expect(html.text).toMatch(/^<!doctype html>/i);
    expect(html.text).toContain(committeeOf('bsy-1'));
    expect(html.text).toContain('63.50');
    expect(html.text).toContain('问题与整改');
    expect(html.text).not.toContain('<script');
    const json = (await report('bsy-1', committees.get('bsy-1'))).body;
    expect(json).toMatchObject({ status: 'finalised', grade: 'pass', scoreHundredths: 6350 });
    expect(json.gaps.length).toBe(json.followUps.length);
    // The area's resident-code cases come with the report (none in this area).
    expect(json.residentCases).toMatchObject({
      total: 0,
      byType: {
        'fee-arrears': { opened: 0 },
        'corridor-clutter': { opened: 0 },
        'garbage-sorting': { opened: 0 },
      },
    });
    expect(html.text).toContain('住户守则案件');
    expect((await report('bsy-1', committees.get('bsy-2'))).status).toBe(404);
  });

  it('splits the guidance fund in whole fen; refuses a budget that is not whole fen, and a second split', async () => {
    const refused = await unchanged(
      () => api(`/evaluation-cycles/${CYCLE}/fund`, { body: { year: 2027, budgetFen: 10_000_000.5 } }),
      400,
    );
    expect(refused.body.errors[0].pointer).toBe('/body/budgetFen');
    const fund = await ok(`/evaluation-cycles/${CYCLE}/fund`, {
      body: {
        year: 2027,
        budgetFen: 10_000_000,
        weights: { '5-star': 5, '4-star': 4, '3-star': 3, pass: 1, fail: 0 },
        capsFen: { '5-star': 3_000_000, '4-star': 2_000_000, '3-star': 1_000_000, pass: 5_000_000, fail: 0 },
      },
    });
    const total =
      fund.allocations.reduce((sum: number, a: { fen: number }) => sum + a.fen, 0) + fund.unallocatedFen;
    expect(total).toBe(10_000_000);
    const byCommittee = new Map(
      fund.allocations.map((a: { committeeId: string; fen: number }) => [a.committeeId, a.fen]),
    );
    expect(byCommittee.get(committeeOf('bsy-2'))).toBe(0);
    // bsy-1 passed and is the only committee with a weight: it gets its level's cap, the rest is left.
    expect(byCommittee.get(committeeOf('bsy-1'))).toBe(5_000_000);
    expect(fund.unallocatedFen).toBe(5_000_000);
    expect((await report('bsy-1')).body.fund).toMatchObject({
      year: 2027,
      allocatedFen: byCommittee.get(committeeOf('bsy-1')),
    });
    expect(
      (await api(`/evaluation-cycles/${CYCLE}/fund`, { body: { year: 2027, budgetFen: 1 } })).status,
    ).toBe(409);
  });

  it('pays approved self-governance projects from the allocation, and records their spending within budget', async () => {
    const base = `/evaluation-cycles/${CYCLE}/committees/${committeeOf('bsy-1')}/projects`;
    const chair = committees.get('bsy-1');
    const allocated = (await report('bsy-1')).body.fund.allocatedFen as number;
    const project = {
      projectId: 'bike-shed',
      title: '非机动车棚改造',
      description: '充电桩与车棚',
      budgetFen: allocated - 100,
    };
    const tooMuch = await api(base, { token: chair, body: { ...project, budgetFen: allocated + 1 } });
    expect(tooMuch.status, tooMuch.text).toBe(400);
    expect(tooMuch.body.errors[0].pointer).toBe('/body/budgetFen');
    expect((await api(`${base}/bike-shed`, { token: chair })).status).toBe(404);
    await ok(base, { token: chair, body: project });
    expect(
      (await api(base, { token: chair, body: { ...project, projectId: 'second', budgetFen: 101 } })).status,
    ).toBe(400);
    const spend = (amountFen: number) =>
      api(`${base}/bike-shed/spending`, {
        token: chair,
        body: { amountFen, description: '车棚材料', receiptRef: 'receipts/1.pdf' },
      });
    expect((await spend(1_000)).status).toBe(409); // not approved yet
    expect((await api(`${base}/bike-shed/approval`, { method: 'POST', token: chair })).status).toBe(403);
    await ok(`${base}/bike-shed/approval`, { method: 'POST' });
    expect((await api(`${base}/bike-shed/approval`, { method: 'POST' })).status).toBe(409);
    expect((await spend(project.budgetFen + 1)).status).toBe(400);
    expect((await spend(1_000)).status).toBe(201);
    const read = await ok(`${base}/bike-shed`, { token: chair });
    expect(read).toMatchObject({
      spentFen: 1_000,
      leftFen: project.budgetFen - 1_000,
      approved: expect.any(Object),
    });
    expect((await api(`${base}/bike-shed`, { token: committees.get('bsy-2') })).status).toBe(404);
  });

  it('hires a secretary within the cap the owners approved, after training; a pay change needs a new vote', async () => {
    const area = 'bsy-3';
    const committee = committeeOf(area);
    const chair = committees.get(area);
    const opens = cloud.clock.now() + 16 * 86_400_000;
    await ok(`/areas/${area}/meetings`, {
      token: chair,
      body: {
        meetingId: 'secretary-2027',
        title: '聘请业委会秘书',
        format: 'written-consultation',
        votingOpensAt: new Date(opens).toISOString(),
        votingClosesAt: new Date(opens + 86_400_000).toISOString(),
        matters: [
          { matterId: 'secretary', kind: 'resolution', item: 9, title: '设立秘书岗位，月薪不超过3000元' },
        ],
      },
    });
    const post = { meetingId: 'secretary-2027', matterId: 'secretary', payCapFen: 300_000 };
    // Before the owners decide there is nothing to record.
    expect((await api(`/committees/${committee}/secretary-posts`, { token: chair, body: post })).status).toBe(
      409,
    );
    cloud.clock.advance(opens - cloud.clock.now() + 1_000);
    const owner = ((await ok(`/areas/${area}/owners?limit=10`)).items as { id: string }[])[0]?.id as string;
    const voter = await cloud.token({
      role: 'owner',
      subDistrictId: SD,
      compoundIds: [COMPOUND],
      areaIds: [area],
      ownerId: owner,
    });
    await eventually(
      async () =>
        (await ok('/meetings/secretary-2027', { token: chair })).status === 'open' ? true : undefined,
      20_000,
    );
    await ok('/meetings/secretary-2027/ballots', {
      token: voter,
      body: { choices: [{ matterId: 'secretary', choice: 'for' }] },
    });
    cloud.clock.advance(86_400_000 + 1_000);
    await eventually(
      async () =>
        (await ok('/meetings/secretary-2027', { token: chair })).status === 'closed' ? true : undefined,
      30_000,
    );
    expect(
      (await api(`/committees/${committee}/secretary-posts`, { token: committees.get('bsy-1'), body: post }))
        .status,
    ).toBe(404);
    await ok(`/committees/${committee}/secretary-posts`, { token: chair, body: post });

    const hire = {
      secretaryId: 'sec-1',
      name: '李秘书',
      payFen: 280_000,
      startsOn: '2027-06-01',
      training: { course: '业委会秘书培训', completedOn: '2027-05-20', certificateRef: 'certs/li.pdf' },
    };
    const refused = async (body: unknown, status: number, pointer: string) => {
      const answer = await api(`/committees/${committee}/secretaries`, { token: chair, body });
      expect(answer.status, answer.text).toBe(status);
      expect(answer.body.errors?.[0]?.pointer).toBe(pointer);
      expect((await api(`/committees/${committee}/secretaries/sec-1`, { token: chair })).status).toBe(404);
    };
    await refused({ ...hire, payFen: 300_001 }, 400, '/body/payFen');
    await refused({ ...hire, training: undefined }, 400, '/body/training');
    await refused({ ...hire, name: `${area}主任` }, 409, '/body/name');
    await refused({ ...hire, payFen: 2800.5 }, 400, '/body/payFen');
    const hired = await ok(`/committees/${committee}/secretaries`, { token: chair, body: hire });
    expect(hired).toMatchObject({ member: false, vote: false, seal: false, payFen: 280_000 });

    const raise = await api(`/committees/${committee}/secretaries/sec-1/pay`, {
      method: 'PUT',
      token: chair,
      body: { payFen: 290_000 },
    });
    expect(raise.status).toBe(409);
    await ok(`/committees/${committee}/secretaries/sec-1/duties`, {
      token: chair,
      body: { kind: 'disclosure-reminder', reference: '2027年上半年维修资金公示', dueBy: '2027-07-15' },
    });
    const read = await ok(`/committees/${committee}/secretaries/sec-1`, { token: chair });
    expect(read).toMatchObject({ payFen: 280_000, post: { payCapFen: 300_000, version: 1 } });
    expect(read.duties).toEqual([
      expect.objectContaining({ kind: 'disclosure-reminder', dueBy: '2027-07-15' }),
    ]);
  });
});
