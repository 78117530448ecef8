/**
 * The resident code (住户守则) through the HTTP API and MQTT of the local cloud, after Yaojiang Garden:
 * the owners adopt a covenant at a general meeting; from the meeting's close its rules bind the area.
 * A corridor camera finds clutter on the 12th floor, and the case walks its ladder to a referral to city
 * management, each missed deadline moving it up on the Scheduler's timer; a garbage-sorting case opened
 * by the committee closes when remedied; the fee ledger opens arrears cases, which go through a formal
 * demand to suit or arbitration, or close when the ledger shows the fees paid; an owner in arrears cannot
 * stand for the committee. Days pass on the cloud's clock; nothing of the product is faked.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, type Device } from '../../device-shims/device.js';
import type { LocalCloud } from '../../local/cloud.js';
import { apiClient } from '../support/api.js';
import { eventually, startTestCloud } from '../support/cloud.js';

const SD = 'sd-yaojiang';
const COMPOUND = 'yaojiang';
const AREA = 'yj-1';
const OTHER = 'yj-2';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const position = { lat: 31.2291, lon: 121.4432 };

const ROSTER = [
  'building,room,area,owner,idLast4',
  '3,1201,89.37,张三,1234',
  '3,1202,76.10,李四,2345',
  '3,1203,92.55,王五,3456',
  '3,501,60.00,李四,2345',
  '5,101,120.00,赵六,4567',
].join('\n');

const covenant = {
  covenantId: 'yj-resident-code',
  version: 1,
  kind: 'management-covenant',
  title: '耀江花园住户守则（管理规约）',
  articles: [
    { articleId: 'art-12', text: '不得在楼道、楼梯间等共用部位堆放物品或停放、充电电动自行车。' },
    { articleId: 'art-15', text: '按规定分类投放生活垃圾。' },
    { articleId: 'art-20', text: '按时交纳物业服务费。' },
  ],
  rules: [
    { ruleId: 'corridor', caseType: 'corridor-clutter', articleId: 'art-12' },
    { ruleId: 'sorting', caseType: 'garbage-sorting', articleId: 'art-15' },
    { ruleId: 'fees', caseType: 'fee-arrears', articleId: 'art-20' },
  ],
};

describe('resident code: covenant adopted by vote → cases up their ladders → closed or referred', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let logs: string[];
  let office: string;
  let committee: string;
  let staff: string;
  const devices: Device[] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'civic-resident-'));
  const owners = new Map<string, string>();
  let adoptedOn: string;
  const { api, ok } = apiClient(
    () => cloud.endpoints.api,
    () => office,
  );
  const ownerToken = (name: string, areaId = AREA) =>
    cloud.token({
      role: 'owner',
      subDistrictId: SD,
      compoundIds: [COMPOUND],
      areaIds: [areaId],
      ownerId: owners.get(name) as string,
    });
  const cases = async (query = '') =>
    (await ok(`/areas/${AREA}/resident-cases${query}`)).items as {
      caseId: string;
      caseType: string;
      source: { kind: string };
      concerns: { unitIds: string[]; ownerIds: string[]; postingBoard?: string; floor?: number };
      state: {
        status: string;
        stepIndex: number;
        deadlineAt?: string;
        history: { kind: string; actor: string; stepId: string }[];
      };
    }[];
  const caseOf = (caseId: string) => ok(`/areas/${AREA}/resident-cases/${caseId}`);
  const advance = (ms: number) => cloud.clock.advance(ms);
  const now = () => new Date(cloud.clock.now()).toISOString();
  const notice = (stepId: string, channel: string, recipients: unknown, proofKind = 'signature') => ({
    stepId,
    channel,
    deliveredAt: now(),
    proof: { kind: proofKind, reference: `proof/${stepId}-${channel}.jpg` },
    recipients,
  });
  /** Waits until the case's timer moved it to step `index`. */
  const atStep = (caseId: string, index: number) =>
    eventually(
      async () => {
        const found = await caseOf(caseId);
        return found.state.stepIndex === index ? found : undefined;
      },
      20_000,
      `case ${caseId} at step ${index}`,
    );

  beforeAll(async () => {
    ({ cloud, stop, logs } = await startTestCloud());
    office = await cloud.token({ role: 'street-office', subDistrictId: SD });
    committee = await cloud.token({
      role: 'committee-member',
      subDistrictId: SD,
      compoundIds: [COMPOUND],
      areaIds: [AREA],
    });
    staff = await cloud.token({
      role: 'property-staff',
      subDistrictId: SD,
      compoundIds: [COMPOUND],
      areaIds: [AREA],
      companyId: 'bsy-wy',
    });
    await ok('/compounds', { body: { compoundId: COMPOUND, name: '耀江花园' } });
    await ok('/companies', { body: { companyId: 'bsy-wy', name: '半淞园物业' } });
    for (const areaId of [AREA, OTHER])
      await ok(`/compounds/${COMPOUND}/areas`, { body: { areaId, name: areaId } });
    await ok(`/areas/${AREA}/contracts`, {
      body: { companyId: 'bsy-wy', startsOn: '2025-01-01', endsOn: '2028-12-31', feePerSquareMetreFen: 180 },
    });
    await ok(`/areas/${AREA}/roster`, { csv: ROSTER });
    await ok(`/areas/${OTHER}/roster`, { csv: 'building,room,area,owner\n1,101,80.00,陈七' });
    for (const areaId of [AREA, OTHER])
      for (const owner of (await ok(`/areas/${areaId}/owners?limit=50`)).items as {
        id: string;
        name: string;
      }[])
        owners.set(owner.name, owner.id);
    await ok(`/compounds/${COMPOUND}/zones`, {
      body: {
        zoneId: 'b3-corridors',
        kind: 'corridor',
        name: '3号楼楼道',
        areaId: AREA,
        building: '3',
        position,
      },
    });
  }, 120_000);
  afterAll(async () => {
    for (const device of devices) await device.disconnect().catch(() => undefined);
    await stop?.();
  });

  it('binds the area only from the close of the meeting that adopted the covenant', async () => {
    await ok('/covenants', { token: committee, body: covenant });
    // The same version twice is refused: a change is a new version.
    expect((await api('/covenants', { token: committee, body: covenant })).status).toBe(409);
    const corridorCase = {
      caseType: 'corridor-clutter',
      unitIds: [`${AREA}.3.1201`],
      description: '楼道堆放纸箱',
    };
    // No covenant binds the area yet.
    const early = await api(`/areas/${AREA}/resident-cases`, { token: committee, body: corridorCase });
    expect(early.status, early.text).toBe(400);
    expect(early.body.errors[0].pointer).toBe('/body/caseType');

    const opens = cloud.clock.now() + 16 * DAY;
    await ok(`/areas/${AREA}/meetings`, {
      token: committee,
      body: {
        meetingId: 'code-2026',
        title: '表决《耀江花园住户守则》',
        format: 'written-consultation',
        votingOpensAt: new Date(opens).toISOString(),
        votingClosesAt: new Date(opens + DAY).toISOString(),
        matters: [{ matterId: 'adopt-code', kind: 'resolution', item: 2, title: '制定管理规约（住户守则）' }],
      },
    });
    const adoption = {
      covenantId: covenant.covenantId,
      version: 1,
      meetingId: 'code-2026',
      matterId: 'adopt-code',
    };
    // Before the owners decide there is nothing to record.
    expect(
      (await api(`/areas/${AREA}/covenant-adoptions`, { token: committee, body: adoption })).status,
    ).toBe(409);
    advance(opens - cloud.clock.now() + 1_000);
    await eventually(
      async () =>
        (await ok('/meetings/code-2026', { token: committee })).status === 'open' ? true : undefined,
      20_000,
    );
    for (const name of ['张三', '李四', '王五', '赵六'])
      await ok('/meetings/code-2026/ballots', {
        token: await ownerToken(name),
        body: { choices: [{ matterId: 'adopt-code', choice: 'for' }] },
      });
    advance(DAY + 1_000);
    const closed = await eventually(async () => {
      const meeting = await ok('/meetings/code-2026', { token: committee });
      return meeting.status === 'closed' ? meeting : undefined;
    }, 30_000);
    // Another area's committee cannot record it; this one's can.
    const neighbour = await cloud.token({
      role: 'committee-member',
      subDistrictId: SD,
      compoundIds: [COMPOUND],
      areaIds: [OTHER],
    });
    expect(
      (await api(`/areas/${AREA}/covenant-adoptions`, { token: neighbour, body: adoption })).status,
    ).toBe(404);
    const adopted = await ok(`/areas/${AREA}/covenant-adoptions`, { token: committee, body: adoption });
    adoptedOn = adopted.adoptedOn;
    expect(adoptedOn).toBe(closed.closedAt);
    expect(
      (await api(`/areas/${AREA}/covenant-adoptions`, { token: committee, body: adoption })).status,
    ).toBe(409);
    const inForce = await ok(`/areas/${AREA}/covenants`, { token: await ownerToken('张三') });
    expect(inForce.rulesInForce['corridor-clutter']).toMatchObject({ ruleId: 'corridor', adoptedOn });
    // The other area adopted nothing.
    expect((await ok(`/areas/${OTHER}/covenants`)).rulesInForce['fee-arrears']).toBeNull();

    // A rule applied to what was seen before the adoption is refused, named or not; nothing is opened.
    const before = new Date(Date.parse(adoptedOn) - 1).toISOString();
    for (const [body, pointer] of [
      [{ ...corridorCase, observedAt: before }, '/body/caseType'],
      [{ ...corridorCase, ruleId: 'corridor', observedAt: before }, '/body/ruleId'],
      [{ ...corridorCase, unitIds: [], ownerIds: [owners.get('陈七')] }, '/body/ownerIds/0'],
      [{ ...corridorCase, unitIds: [`${OTHER}.1.101`] }, '/body/unitIds/0'],
      [{ ...corridorCase, ruleId: 'sorting' }, '/body/ruleId'],
    ] as const) {
      const refused = await api(`/areas/${AREA}/resident-cases`, { token: committee, body });
      expect(refused.status, refused.text).toBe(400);
      expect(refused.body.errors[0].pointer).toBe(pointer);
    }
    expect(await cases()).toEqual([]);
  }, 120_000);

  it('a corridor camera on the 12th floor opens a case for its households, which climbs to a referral', async () => {
    const created = await ok(`/compounds/${COMPOUND}/devices`, {
      body: {
        thingName: 'yj-b3-f12-cam',
        type: 'camera',
        zoneId: 'b3-corridors',
        building: '3',
        floor: 12,
        position,
      },
    });
    const certificatePath = path.join(dir, 'cam.crt');
    const privateKeyPath = path.join(dir, 'cam.key');
    writeFileSync(certificatePath, created.credentials.certificatePem);
    writeFileSync(privateKeyPath, created.credentials.privateKey);
    const camera = await connectDevice(
      { thingName: 'yj-b3-f12-cam', certificatePath, privateKeyPath, caPath: cloud.caPath },
      cloud.endpoints.mqtt,
    );
    devices.push(camera);
    await camera.publish(`dt/civic/${COMPOUND}/yj-b3-f12-cam/event`, {
      ts: now(),
      seq: 1,
      event: 'corridor-clutter',
    });
    // The violation opens at once; its resident-code case a minute later, on the resident code's timer.
    await eventually(
      async () =>
        (await ok(`/violations?compoundId=${COMPOUND}&limit=10`)).items.length > 0 ? true : undefined,
      20_000,
    );
    expect(await cases('?caseType=corridor-clutter')).toEqual([]);
    advance(61_000);
    const [opened] = await eventually(async () => {
      const found = await cases('?caseType=corridor-clutter');
      return found.length > 0 ? found : undefined;
    }, 20_000).catch((error) => {
      console.log(
        logs
          .filter((line) => !line.startsWith('http-api') && /esident|iolation|rror|cam|ngest/.test(line))
          .slice(-40)
          .join('\n'),
      );
      throw error;
    });
    expect(opened?.source.kind).toBe('violation');
    expect(opened?.concerns).toMatchObject({
      unitIds: [`${AREA}.3.1201`, `${AREA}.3.1202`, `${AREA}.3.1203`],
      ownerIds: [owners.get('张三'), owners.get('李四'), owners.get('王五')].sort(),
      floor: 12,
    });
    expect(opened?.concerns.postingBoard).toBeUndefined();
    const caseId = opened?.caseId as string;
    // The same event again (a retried delivery) opens nothing more.
    await camera.publish(`dt/civic/${COMPOUND}/yj-b3-f12-cam/event`, { ts: now(), seq: 2, event: 'clear' });
    // An owner of the floor sees it; the owner of 5-101 does not.
    expect(
      (await api(`/areas/${AREA}/resident-cases/${caseId}`, { token: await ownerToken('王五') })).status,
    ).toBe(200);
    expect(
      (await api(`/areas/${AREA}/resident-cases/${caseId}`, { token: await ownerToken('赵六') })).status,
    ).toBe(404);

    const households = { unitIds: [`${AREA}.3.1201`, `${AREA}.3.1202`, `${AREA}.3.1203`] };
    const refused = async (token: string, body: unknown, status: number) => {
      const answer = await api(`/areas/${AREA}/resident-cases/${caseId}/notices`, { token, body });
      expect(answer.status, answer.text).toBe(status);
      return answer;
    };
    // The committee dissuades first: not the company, and no step is skipped.
    await refused(staff, notice('dissuade', 'in-person', households), 403);
    expect(
      (await refused(committee, notice('public-posting', 'posting-board', { postingBoard: '3' }), 409)).body
        .errors[0].pointer,
    ).toBe('/body/stepId');
    await refused(committee, notice('dissuade', 'registered-mail', households), 400);
    await refused(committee, notice('dissuade', 'in-person', { unitIds: [`${AREA}.5.101`] }), 400);
    await refused(
      committee,
      {
        ...notice('dissuade', 'in-person', households),
        deliveredAt: new Date(cloud.clock.now() + HOUR).toISOString(),
      },
      400,
    );
    expect((await caseOf(caseId)).state.history).toHaveLength(1);

    const first = await ok(`/areas/${AREA}/resident-cases/${caseId}/notices`, {
      token: committee,
      body: notice('dissuade', 'in-person', households),
    });
    expect(Date.parse(first.state.deadlineAt) - Date.parse(first.state.notice.deliveredAt)).toBe(72 * HOUR);
    // The deadline passes with the clutter still there: the scheduler moves the case to public posting.
    advance(72 * HOUR + 1_000);
    const posted = await atStep(caseId, 1);
    expect(posted.state.history.at(-1)).toMatchObject({ kind: 'escalated', actor: 'scheduler' });
    await ok(`/areas/${AREA}/resident-cases/${caseId}/notices`, {
      token: committee,
      body: notice('public-posting', 'posting-board', { postingBoard: '3' }, 'photo'),
    });
    advance(168 * HOUR + 1_000);
    await atStep(caseId, 2);
    // The referral to city management is the street office's letter.
    await refused(committee, notice('referral', 'referral-letter', households, 'referral-receipt'), 403);
    const referred = await ok(`/areas/${AREA}/resident-cases/${caseId}/notices`, {
      token: office,
      body: notice('referral', 'referral-letter', households, 'referral-receipt'),
    });
    expect(referred.state.status).toBe('referred');
    expect(referred.state.history.map((event: { kind: string }) => event.kind)).toEqual([
      'opened',
      'notice',
      'escalated',
      'notice',
      'escalated',
      'referred',
    ]);
    expect(referred.ladder.steps[2]).toMatchObject({ referTo: 'city-management', actor: 'street-office' });
    // A referred case is no longer the area's to close.
    const late = await api(`/areas/${AREA}/resident-cases/${caseId}/remedy`, {
      token: committee,
      body: { kind: 'remedied', detail: 'cleared' },
    });
    expect(late.status).toBe(409);
  }, 120_000);

  it('tunes a ladder within the law and closes a garbage-sorting case when remedied', async () => {
    const tune = (steps: unknown) =>
      api(`/areas/${AREA}/ladders/garbage-sorting`, { method: 'PUT', token: committee, body: { steps } });
    const skipped = await tune([{ stepId: 'dissuade' }, { stepId: 'referral' }]);
    expect(skipped.status, skipped.text).toBe(400);
    expect(skipped.text).toContain('public-posting');
    const tooShort = await tune([
      { stepId: 'dissuade', deadlineHours: 11 },
      { stepId: 'public-posting' },
      { stepId: 'referral' },
    ]);
    expect(tooShort.status).toBe(400);
    expect(tooShort.body.errors[0].pointer).toBe('/body/steps/0/deadlineHours');
    expect((await ok(`/areas/${AREA}/ladders/garbage-sorting`)).tunedBy).toBeUndefined();
    const tuned = await tune([
      { stepId: 'dissuade', deadlineHours: 48 },
      { stepId: 'public-posting' },
      { stepId: 'referral' },
    ]);
    expect(tuned.status, tuned.text).toBe(200);
    expect(tuned.body.steps[0].deadlineHours).toBe(48);

    const opened = await ok(`/areas/${AREA}/resident-cases`, {
      token: committee,
      body: { caseType: 'garbage-sorting', postingBoard: '5', description: '5号楼垃圾箱房混投' },
    });
    expect(opened.rule).toMatchObject({ ruleId: 'sorting', articleId: 'art-15' });
    const noticed = await ok(`/areas/${AREA}/resident-cases/${opened.caseId}/notices`, {
      token: committee,
      body: notice('dissuade', 'in-person', { postingBoard: '5' }),
    });
    expect(Date.parse(noticed.state.deadlineAt) - Date.parse(noticed.state.notice.deliveredAt)).toBe(
      48 * HOUR,
    );
    const wrongKind = await api(`/areas/${AREA}/resident-cases/${opened.caseId}/remedy`, {
      token: committee,
      body: { kind: 'paid', detail: 'x' },
    });
    expect(wrongKind.status).toBe(400);
    const closed = await ok(`/areas/${AREA}/resident-cases/${opened.caseId}/remedy`, {
      token: committee,
      body: { kind: 'remedied', detail: 'photo/bins-sorted.jpg' },
    });
    expect(closed.state.status).toBe('closed');
    // The deadline passing later moves nothing.
    advance(48 * HOUR + 1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await caseOf(opened.caseId)).state).toMatchObject({ status: 'closed', stepIndex: 0 });
  }, 60_000);

  it('imports the fee ledger: arrears open cases, a paid-up unit closes its own, a debtor cannot stand', async () => {
    const bad = [
      '楼号,室号,欠费金额,欠费起始',
      '3,1202,1234.56,2026-01-01',
      '9,909,10.00,2026-01-01',
      '3,1203,-5.00,2026-01-01',
      '5,101,1.234,2026-01-01',
    ].join('\n');
    const refused = await api(`/areas/${AREA}/fee-ledger`, { token: staff, csv: bad });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.errors.map((error: { pointer: string }) => error.pointer.split('/')[3])).toEqual([
      '3',
      '4',
      '5',
    ]);
    expect(await cases('?caseType=fee-arrears')).toEqual([]);

    const ledger = (paid101: boolean) =>
      [
        '楼号,室号,欠费金额,欠费起始',
        '3,1201,0,',
        '3,1202,"1,234.56",2026-01',
        `5,101,${paid101 ? '0' : '980.00'},2026-03-01`,
      ].join('\n');
    const imported = await ok(`/areas/${AREA}/fee-ledger`, { token: staff, csv: ledger(false) });
    expect(imported).toMatchObject({
      rows: 3,
      inArrears: 2,
      totalArrearsFen: 123_456 + 98_000,
      ledger: { created: 3, updated: 0, unchanged: 0 },
      cases: { opened: 2, closedAsPaid: 0 },
    });
    const again = await ok(`/areas/${AREA}/fee-ledger`, { token: staff, csv: ledger(false) });
    expect(again).toMatchObject({
      ledger: { created: 0, updated: 0, unchanged: 3 },
      cases: { opened: 0, closedAsPaid: 0 },
    });
    const arrears = await cases('?caseType=fee-arrears');
    expect(arrears).toHaveLength(2);
    const debtor = arrears.find((item) => item.concerns.unitIds[0] === `${AREA}.3.1202`);
    expect(debtor).toMatchObject({ arrearsFen: 123_456, source: { kind: 'ledger' } });

    // 李四 owes: the meetings feature refuses him as a candidate for the committee.
    const opens = cloud.clock.now() + 16 * DAY;
    const election = (ownerId: string) => ({
      meetingId: `election-${ownerId.slice(-6)}`,
      title: '业委会换届选举',
      format: 'written-consultation',
      votingOpensAt: new Date(opens).toISOString(),
      votingClosesAt: new Date(opens + DAY).toISOString(),
      matters: [
        {
          matterId: 'committee',
          kind: 'election',
          item: 3,
          title: '选举业主委员会委员',
          seats: 1,
          candidates: [{ candidateId: 'c-1', name: '候选人', ownerId }],
        },
      ],
    });
    const barred = await api(`/areas/${AREA}/meetings`, {
      token: committee,
      body: election(owners.get('李四') as string),
    });
    expect(barred.status, barred.text).toBe(409);
    expect(barred.body.errors[0].pointer).toBe('/body/matters/0/candidates/0/ownerId');
    expect(
      (await api(`/meetings/${election(owners.get('李四') as string).meetingId}`, { token: committee }))
        .status,
    ).toBe(404);
    expect(
      (
        await api(`/areas/${AREA}/meetings`, {
          token: committee,
          body: election(owners.get('张三') as string),
        })
      ).status,
    ).toBe(201);

    // 赵六 pays: the next ledger closes his case as paid.
    const paid = await ok(`/areas/${AREA}/fee-ledger`, { token: staff, csv: ledger(true) });
    expect(paid).toMatchObject({
      ledger: { updated: 1, unchanged: 2 },
      cases: { closedAsPaid: 1, opened: 0 },
    });
    const zhao = (await cases('?caseType=fee-arrears')).find(
      (item) => item.concerns.unitIds[0] === `${AREA}.5.101`,
    );
    expect(zhao?.state.status).toBe('closed');
    expect(zhao?.state.history.at(-1)).toMatchObject({ kind: 'paid' });

    // 李四 does not: reminder → posting → formal demand → suit or arbitration.
    const caseId = debtor?.caseId as string;
    const unit = { unitIds: [`${AREA}.3.1202`] };
    const step = async (token: string, body: unknown) =>
      ok(`/areas/${AREA}/resident-cases/${caseId}/notices`, { token, body });
    await step(staff, notice('dissuade', 'written-notice', unit));
    advance(720 * HOUR + 1_000);
    await atStep(caseId, 1);
    await step(committee, notice('public-posting', 'posting-board', { postingBoard: '3' }, 'photo'));
    advance(720 * HOUR + 1_000);
    await atStep(caseId, 2);
    await step(staff, notice('formal-demand', 'registered-mail', unit, 'registered-mail-receipt'));
    advance(720 * HOUR + 1_000);
    const demanded = await atStep(caseId, 3);
    expect(demanded.ladder.steps[3]).toMatchObject({ kind: 'referral', referTo: 'court-or-arbitration' });
    const referred = await step(staff, notice('referral', 'referral-letter', unit, 'referral-receipt'));
    expect(referred.state.status).toBe('referred');
    // Still owing, the referred case is not opened again by the next import.
    expect((await ok(`/areas/${AREA}/fee-ledger`, { token: staff, csv: ledger(true) })).cases.opened).toBe(0);

    const statistics = await ok(`/areas/${AREA}/resident-statistics`, { token: committee });
    expect(statistics.byType['fee-arrears']).toMatchObject({ opened: 2, closed: 1, referred: 1, open: 0 });
    expect(statistics.byType['corridor-clutter']).toMatchObject({ opened: 1, referred: 1 });
    expect(statistics.byType['garbage-sorting']).toMatchObject({
      opened: 1,
      closed: 1,
      closedAtFirstStep: 1,
    });
  }, 180_000);
});
