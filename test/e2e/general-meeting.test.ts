/**
 * A whole written consultation through the HTTP API of the local cloud, as an area's committee and its
 * owners would hold it: rules of procedure, the notice, eligibility before the roll is frozen, proof of
 * delivery, a proxy, electronic and paper ballots (a changed vote, a conflict), the scheduled close, the
 * result with raw and deemed figures and an election tie, a receipt checked offline with
 * `npm run verify-receipt`, a recount, and every bad input refused with nothing recorded.
 *
 * The local cloud's clock is moved forward past the 15 days' notice and the voting window; the
 * functions and the Scheduler see the moved time, nothing else is faked.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '../../local/cloud.js';
import { eventually, startTestCloud } from '../support/cloud.js';

const SD = 'sd-meeting';
const AREA = 'xl-1';
const OTHER_AREA = 'xl-2';
const DAY = 86_400_000;
const ROOT = path.resolve(import.meta.dirname, '..', '..');

const ROSTER = [
  'building,room,area,owner,idLast4,phone,developerHeld',
  '1,101,100.00,王一,0001,13900000001,否',
  '1,102,100.00,王二,0002,13900000002,否',
  '1,201,100.00,王三,0003,13900000003,否',
  '1,202,100.00,王四,0004,13900000004,否',
  '2,101,100.00,王五,0005,13900000005,否',
  '2,102,100.00,王六,0006,13900000006,否',
  '2,201,90.50,王一,0001,13900000001,否',
  '2,202,80.25,陈七;陈八,0007;0008,13900000007;13900000008,否',
  '3,101,120.00,开发商,,,是',
  '3,102,120.00,开发商,,,是',
].join('\n');

interface Answer {
  status: number;
  body: any;
}

describe('a written consultation from notice to result', () => {
  let cloud: LocalCloud;
  let stop: () => Promise<void>;
  let office: string;
  let committee: string;
  const owners = new Map<string, string>();
  const tokens = new Map<string, string>();

  const api = async (
    route: string,
    init: {
      method?: string;
      token?: string;
      body?: unknown;
      csv?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const response = await fetch(`${cloud.endpoints.api}${route}`, {
      method: init.method ?? (init.body === undefined && init.csv === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${init.token ?? office}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.csv !== undefined ? { 'content-type': 'text/csv' } : {}),
        ...init.headers,
      },
      body: init.csv ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : JSON.parse(text) } as Answer;
  };
  const ok = async (route: string, init: Parameters<typeof api>[1] = {}) => {
    const answer = await api(route, init);
    if (answer.status >= 300) throw new Error(`${route}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const as = (name: string) => tokens.get(name) as string;
  const ownerId = (name: string) => owners.get(name) as string;
  const pointers = (answer: Answer) =>
    (answer.body?.errors ?? []).map((error: { pointer: string }) => error.pointer);
  const iso = (ms: number) => new Date(ms).toISOString();

  let opensAt: number;
  let closesAt: number;
  const receipts = new Map<string, { receipt: string; nonce: string }>();

  beforeAll(async () => {
    ({ cloud, stop } = await startTestCloud());
    office = await cloud.token({ role: 'street-office', subDistrictId: SD });
    await ok('/compounds', { body: { compoundId: 'xiling', name: '西凌新村' } });
    await ok('/compounds/xiling/areas', { body: { areaId: AREA, name: '西凌一区' } });
    await ok('/compounds/xiling/areas', { body: { areaId: OTHER_AREA, name: '西凌二区' } });
    await ok(`/areas/${AREA}/roster`, { csv: ROSTER });
    for (const owner of (await ok(`/areas/${AREA}/owners?limit=100`)).items as { id: string; name: string }[])
      owners.set(owner.name, owner.id);
    committee = await cloud.token({
      role: 'committee-member',
      subDistrictId: SD,
      compoundIds: ['xiling'],
      areaIds: [AREA],
    });
    for (const [name, id] of owners)
      tokens.set(
        name,
        await cloud.token({
          role: 'owner',
          subDistrictId: SD,
          compoundIds: ['xiling'],
          areaIds: [AREA],
          ownerId: id,
        }),
      );
    tokens.set(
      'outsider',
      await cloud.token({
        role: 'owner',
        subDistrictId: SD,
        compoundIds: ['xiling'],
        areaIds: [OTHER_AREA],
        ownerId: 'xl-2.someone',
      }),
    );
    tokens.set('guard', await cloud.token({ role: 'property-staff', subDistrictId: SD, areaIds: [AREA] }));
  }, 180_000);
  afterAll(async () => stop?.());

  it('notices the meeting only with the full notice period', async () => {
    expect(owners.size).toBe(9);
    await ok(`/areas/${AREA}/meeting-rules`, {
      method: 'PUT',
      token: committee,
      body: {
        noticeDays: 15,
        nonReplyMode: 'counted-with-majority',
        proxyCapPerHolder: 1,
        conflictRule: 'paper-prevails',
      },
    });
    const shortNotice = await api(`/areas/${AREA}/meeting-rules`, {
      method: 'PUT',
      token: committee,
      body: {
        noticeDays: 14,
        nonReplyMode: 'not-counted',
        proxyCapPerHolder: 1,
        conflictRule: 'paper-prevails',
      },
    });
    expect(shortNotice.status).toBe(400);
    expect(pointers(shortNotice)).toEqual(['/body/noticeDays']);
    expect(await ok(`/areas/${AREA}/meeting-rules`, { token: committee })).toMatchObject({
      noticeDays: 15,
      nonReplyMode: 'counted-with-majority',
    });
    const now = cloud.clock.now();
    opensAt = now + 15 * DAY + 60_000;
    closesAt = opensAt + 7 * DAY;
    const meeting = {
      meetingId: 'agm-2026',
      title: '2026年业主大会（书面征求意见）',
      format: 'written-consultation',
      votingOpensAt: iso(opensAt),
      votingClosesAt: iso(closesAt),
      matters: [
        { matterId: 'company', kind: 'resolution', item: 4, title: '续聘物业服务企业' },
        { matterId: 'fund', kind: 'resolution', item: 6, title: '续筹专项维修资金' },
        {
          matterId: 'seat',
          kind: 'election',
          item: 3,
          title: '增补业委会委员两名',
          seats: 2,
          candidates: [
            { candidateId: 'ann', name: '安' },
            { candidateId: 'bob', name: '鲍' },
            { candidateId: 'cy', name: '崔' },
          ],
        },
      ],
    };
    const early = await api(`/areas/${AREA}/meetings`, {
      token: committee,
      body: { ...meeting, votingOpensAt: iso(now + 14 * DAY) },
    });
    expect(early.status).toBe(400);
    expect(pointers(early)).toEqual(['/body/votingOpensAt']);
    expect((await ok(`/areas/${AREA}/meetings`, { token: committee })).items).toEqual([]);

    const noticed = await ok(`/areas/${AREA}/meetings`, { token: committee, body: meeting });
    expect(noticed).toMatchObject({ status: 'noticed', rules: { nonReplyMode: 'counted-with-majority' } });
    expect(noticed.matters.map((matter: { threshold: string }) => matter.threshold)).toEqual([
      'more-than-half',
      'three-quarters',
      'more-than-half',
    ]);
  });

  it('lets owners check their eligibility before the roll is frozen, and records deliveries and a proxy', async () => {
    const wang = await ok('/meetings/agm-2026/eligibility', { token: as('王一') });
    expect(wang).toMatchObject({ frozen: false, eligible: true, entries: [{ area: '190.50', count: 1 }] });
    expect(wang.entries[0].unitIds).toHaveLength(2);
    const chen = await ok('/meetings/agm-2026/eligibility', { token: as('陈八') });
    expect(chen.entries[0].ownerIds.sort()).toEqual([ownerId('陈七'), ownerId('陈八')].sort());

    await ok('/meetings/agm-2026', { token: as('王一') });
    await ok('/meetings/agm-2026/deliveries', {
      token: committee,
      body: { ownerId: ownerId('王六'), channel: 'sms', evidenceRef: 'sms-gateway/20261203/0006' },
    });
    const twice = await api('/meetings/agm-2026/deliveries', {
      token: committee,
      body: { ownerId: ownerId('王六'), channel: 'sms', evidenceRef: 'again' },
    });
    expect(twice.status).toBe(409);

    await ok('/meetings/agm-2026/proxies', {
      token: committee,
      body: {
        grantorOwnerId: ownerId('王三'),
        holderOwnerId: ownerId('王二'),
        scanRef: 'scans/proxy-1-201.pdf',
      },
    });
    const overCap = await api('/meetings/agm-2026/proxies', {
      token: committee,
      body: {
        grantorOwnerId: ownerId('王五'),
        holderOwnerId: ownerId('王二'),
        scanRef: 'scans/proxy-2-101.pdf',
      },
    });
    expect(overCap.status).toBe(409);
    expect(pointers(overCap)).toEqual(['/body/holderOwnerId']);
    const futureDelivery = await api('/meetings/agm-2026/deliveries', {
      token: committee,
      body: {
        ownerId: ownerId('王五'),
        channel: 'paper',
        evidenceRef: 'receipts/2-101.jpg',
        deliveredAt: iso(cloud.clock.now() + DAY),
      },
    });
    expect(futureDelivery.status).toBe(400);
    expect(pointers(futureDelivery)).toEqual(['/body/deliveredAt']);

    const before = await api('/meetings/agm-2026/ballots', {
      token: as('王一'),
      body: { choices: [{ matterId: 'company', choice: 'for' }] },
    });
    expect(before.status).toBe(409);
    expect(before.body.detail).toMatch(/opens/);
  });

  it('freezes the roll when voting opens; a roster change afterwards does not change it', async () => {
    cloud.clock.advance(opensAt - cloud.clock.now() + 1_000);
    const open = await eventually(
      async () => {
        const meeting = await ok('/meetings/agm-2026', { token: committee });
        return meeting.status === 'open' ? meeting : undefined;
      },
      20_000,
      'voting to open',
    );
    // 王一's two units count once, 陈七 and 陈八 once, the developer's two units once: 8 owners.
    expect(open.roll).toMatchObject({ totalArea: '1010.75', totalCount: 8 });
    const unit = (await ok(`/areas/${AREA}/units?building=3&limit=10`)).items[0];
    await ok(`/units/${unit.id}`, {
      method: 'PATCH',
      body: { developerHeld: false },
      headers: { 'if-match': '*' },
    });
    const roll = await ok('/meetings/agm-2026/roll?limit=100', { token: committee });
    expect(roll.items).toHaveLength(8);
    expect(roll.roll).toEqual(open.roll);
    expect((await ok('/meetings/agm-2026/eligibility', { token: as('王一') })).frozen).toBe(true);
  });

  it('takes electronic, proxy and paper ballots, a changed vote and a conflict; refuses bad ballots and records nothing', async () => {
    const cast = async (name: string, choices: unknown[], voterId?: string) => {
      const answer = await ok('/meetings/agm-2026/ballots', {
        token: as(name),
        body: { ...(voterId === undefined ? {} : { voterId }), choices },
      });
      for (const ballot of answer.ballots)
        receipts.set(`${name}/${voterId ?? ''}/${ballot.matterId}`, ballot);
      return answer;
    };
    await cast('王一', [
      { matterId: 'company', choice: 'against' },
      { matterId: 'fund', choice: 'for' },
      { matterId: 'seat', choice: { approve: ['ann'] } },
    ]);
    const firstFund = receipts.get('王一//fund');
    receipts.set('王一/replaced/fund', firstFund as { receipt: string; nonce: string });
    await cast('王一', [{ matterId: 'fund', choice: 'against' }]);
    await cast('王二', [
      { matterId: 'company', choice: 'for' },
      { matterId: 'fund', choice: 'for' },
      { matterId: 'seat', choice: { approve: ['ann', 'bob'] } },
    ]);
    const proxied = await cast(
      '王二',
      [
        { matterId: 'company', choice: 'for' },
        { matterId: 'fund', choice: 'against' },
        { matterId: 'seat', choice: { approve: ['bob', 'cy'] } },
      ],
      ownerId('王三'),
    );
    expect(proxied.asProxy).toBe(true);
    await cast('王四', [
      { matterId: 'company', choice: 'against' },
      { matterId: 'fund', choice: 'for' },
      { matterId: 'seat', choice: { approve: ['ann'] } },
    ]);
    await cast('陈八', [
      { matterId: 'company', choice: 'for' },
      { matterId: 'fund', choice: 'for' },
      { matterId: 'seat', choice: { approve: ['ann'] } },
    ]);
    // 王六 votes in the election only: on the two resolutions they are silent.
    await cast('王六', [{ matterId: 'seat', choice: { approve: ['ann', 'cy'] } }]);
    const paper = (name: string, choices: unknown[]) =>
      ok('/meetings/agm-2026/paper-ballots', {
        token: committee,
        body: { voterId: ownerId(name), choices, scanRef: `scans/ballot-${name}.pdf` },
      });
    // 王四 also returned a signed paper ballot: the area's rules say paper prevails.
    await paper('王四', [
      { matterId: 'company', choice: 'for' },
      { matterId: 'fund', choice: 'for' },
      { matterId: 'seat', choice: { approve: ['bob', 'cy'] } },
    ]);
    await paper('王五', [
      { matterId: 'company', choice: 'for' },
      { matterId: 'fund', choice: 'for' },
      { matterId: 'seat', choice: { approve: ['bob', 'cy'] } },
    ]);

    const mine = await ok('/meetings/agm-2026/my-ballots', { token: as('王一') });
    const historyBefore = mine.entries[0].history.length;
    expect(historyBefore).toBe(4);
    expect(
      mine.entries[0].finals.find((ballot: { matterId: string }) => ballot.matterId === 'fund').choice,
    ).toBe('against');
    expect(mine.entries[0].history.map((ballot: { receipt: string }) => ballot.receipt)).toContain(
      firstFund?.receipt,
    );

    const refused: [string, Answer, number, string[]][] = [
      [
        'an unknown choice',
        await api('/meetings/agm-2026/ballots', {
          token: as('王一'),
          body: { choices: [{ matterId: 'company', choice: 'maybe' }] },
        }),
        400,
        ['/body/choices/0/choice'],
      ],
      [
        'a matter of another meeting',
        await api('/meetings/agm-2026/ballots', {
          token: as('王一'),
          body: { choices: [{ matterId: 'budget', choice: 'for' }] },
        }),
        400,
        ['/body/choices/0/matterId'],
      ],
      [
        'too many approvals',
        await api('/meetings/agm-2026/ballots', {
          token: as('王一'),
          body: { choices: [{ matterId: 'seat', choice: { approve: ['ann', 'bob', 'cy'] } }] },
        }),
        400,
        ['/body/choices/0/choice/approve'],
      ],
      [
        'another owner’s entry without a proxy',
        await api('/meetings/agm-2026/ballots', {
          token: as('王一'),
          body: { voterId: ownerId('王五'), choices: [{ matterId: 'company', choice: 'for' }] },
        }),
        403,
        ['/body/voterId'],
      ],
      [
        'an owner whose proxy was refused over the cap',
        await api('/meetings/agm-2026/ballots', {
          token: as('王二'),
          body: { voterId: ownerId('王五'), choices: [{ matterId: 'company', choice: 'for' }] },
        }),
        403,
        ['/body/voterId'],
      ],
      [
        'a non-owner',
        await api('/meetings/agm-2026/ballots', {
          token: as('guard'),
          body: { choices: [{ matterId: 'company', choice: 'for' }] },
        }),
        403,
        [],
      ],
      [
        'an owner of another area',
        await api('/meetings/agm-2026/ballots', {
          token: as('outsider'),
          body: { choices: [{ matterId: 'company', choice: 'for' }] },
        }),
        404,
        [],
      ],
      [
        'a paper ballot without its scan',
        await api('/meetings/agm-2026/paper-ballots', {
          token: committee,
          body: { voterId: ownerId('王一'), choices: [{ matterId: 'company', choice: 'for' }] },
        }),
        400,
        ['/body/scanRef'],
      ],
    ];
    for (const [what, answer, status, fields] of refused) {
      expect({ what, status: answer.status }).toEqual({ what, status });
      expect(answer.body.status).toBe(status);
      for (const field of fields) expect(pointers(answer), what).toContain(field);
    }
    const after = await ok('/meetings/agm-2026/my-ballots', { token: as('王一') });
    expect(after.entries[0].history).toHaveLength(historyBefore);
    expect(after.entries[0].finals).toEqual(mine.entries[0].finals);

    const turnout = await ok('/meetings/agm-2026/turnout', { token: committee });
    const company = turnout.matters.find((matter: { matterId: string }) => matter.matterId === 'company');
    // 王一, 王二, 王三 (by proxy), 王四, 王五 (paper), 陈: 6 of 8 owners, 670.75 of 1010.75 m² — just under 2/3.
    expect(company.quorum).toMatchObject({
      reached: { area: '670.75', count: 6 },
      required: { area: '673.84', count: 6 },
      met: false,
    });
    expect(JSON.stringify(turnout)).not.toMatch(/against|approve/);

    const early = await api('/meetings/agm-2026/close', { method: 'POST', token: committee });
    expect(early.status).toBe(409);
  });

  it('closes on schedule and publishes raw and deemed figures side by side, with the election tie', async () => {
    cloud.clock.advance(closesAt - cloud.clock.now() + 1_000);
    const result = await eventually(
      async () => {
        const answer = await api('/meetings/agm-2026/result', { token: as('王二') });
        return answer.status === 200 ? answer.body : undefined;
      },
      20_000,
      'the result',
    );
    const matter = (id: string) =>
      result.matters.find((candidate: { matterId: string }) => candidate.matterId === id);
    // Raw: 670.75 m² take part, under 2/3 of 1010.75: no quorum. 王六 received the ballot by SMS and did
    // not reply on the company: with the majority (for) they are deemed, and the quorum is met.
    expect(matter('company')).toMatchObject({
      raw: { participating: { area: '670.75', count: 6 }, quorum: false, passed: false },
      deemed: {
        majorityOpinion: 'for',
        deemedOwners: { area: '100.00', count: 1 },
        participating: { area: '770.75', count: 7 },
        for: { area: '580.25', count: 6 },
        quorum: true,
        passed: true,
      },
      decidedBy: 'deemed',
      passed: true,
    });
    // Raising the fund needs 3/4: 480.25 of 770.75 m² with 王六 deemed is not enough.
    expect(matter('fund')).toMatchObject({
      deemed: { for: { area: '480.25', count: 5 }, passed: false },
      passed: false,
    });
    // Two seats. ann: 王一, 王二, 王六, 陈 — 4 owners, 470.75 m²; bob: 王二, 王三, 王四 (paper), 王五 and
    // cy: 王三, 王四, 王五, 王六 — 4 owners and 400.00 m² each: ann is elected, bob and cy tie for the
    // second seat, which goes to a run-off.
    expect(matter('seat')).toMatchObject({
      quorum: true,
      participating: { area: '770.75', count: 7 },
      elected: ['ann'],
      runOffSeats: 1,
      unfilledSeats: 0,
    });
    expect(matter('seat').runOff.sort()).toEqual(['bob', 'cy']);
    // 王四's electronic and paper ballots on each matter: three conflicts, the paper counted.
    expect(result.ballots).toMatchObject({ conflicts: 3, deliveries: 2 });
    expect(result.merkle.root).toMatch(/^[0-9a-f]{64}$/);

    const recount = await ok('/meetings/agm-2026/recount?reason=annual%20audit', { token: committee });
    expect(recount).toMatchObject({ matches: true, ballotsNotMatchingTheirReceipt: 0 });
    const reads = await ok('/meetings/agm-2026/ballot-reads', { token: office });
    expect(reads.items).toEqual([expect.objectContaining({ reason: 'annual audit' })]);
    const late = await api('/meetings/agm-2026/ballots', {
      token: as('王一'),
      body: { choices: [{ matterId: 'company', choice: 'for' }] },
    });
    expect(late.status).toBe(409);
  });

  it('gives an owner the inclusion proof of their receipt, which verifies offline; a replaced ballot has none', async () => {
    const { receipt } = receipts.get('王二//company') as { receipt: string };
    const { proof, root } = await ok(`/meetings/agm-2026/proofs/${receipt}`, { token: as('王二') });
    const run = promisify(execFile);
    const verified = await run('npm', ['run', '-s', 'verify-receipt', '--', receipt, proof, root], {
      cwd: ROOT,
    });
    expect(verified.stdout).toMatch(/valid/);
    const tampered = await run(
      'npm',
      [
        'run',
        '-s',
        'verify-receipt',
        '--',
        receipt,
        proof,
        root.replace(/^./, (c: string) => (c === '0' ? '1' : '0')),
      ],
      {
        cwd: ROOT,
      },
    ).catch((error: { code: number }) => error);
    expect((tampered as { code: number }).code).toBe(1);
    const replaced = receipts.get('王一/replaced/fund') as { receipt: string };
    expect((await api(`/meetings/agm-2026/proofs/${replaced.receipt}`, { token: as('王一') })).status).toBe(
      404,
    );
  });

  it('shows a petition’s progress on both thresholds and lets it require an extraordinary meeting', async () => {
    await ok(`/areas/${AREA}/petitions`, {
      token: as('王一'),
      body: { petitionId: 'dismiss-company', subject: '要求召开临时业主大会：解聘物业' },
    });
    const one = await ok('/petitions/dismiss-company/signatures', { method: 'POST', token: as('王一') });
    // 王一 holds 190.50 of 1010.75 m² (18.8 %) and is 1 of 8 owners: short on both.
    expect(one.progress).toMatchObject({
      reached: { area: '190.50', count: 1 },
      required: { area: '202.15', count: 2 },
      met: false,
    });
    const meeting = {
      meetingId: 'egm-2027',
      title: '临时业主大会',
      format: 'collective-meeting',
      venue: '小区会所',
      votingOpensAt: iso(cloud.clock.now() + 16 * DAY),
      votingClosesAt: iso(cloud.clock.now() + 17 * DAY),
      petitionId: 'dismiss-company',
      matters: [{ matterId: 'dismiss', kind: 'resolution', item: 4, title: '解聘物业服务企业' }],
    };
    const early = await api(`/areas/${AREA}/meetings`, { token: committee, body: meeting });
    expect(early.status).toBe(400);
    expect(pointers(early)).toEqual(['/body/petitionId']);
    const two = await ok('/petitions/dismiss-company/signatures', { method: 'POST', token: as('王二') });
    expect(two.progress).toMatchObject({ reached: { area: '290.50', count: 2 }, met: true });
    expect(two.reachedAt).toBeDefined();
    const again = await ok('/petitions/dismiss-company/signatures', { method: 'POST', token: as('王二') });
    expect(again).toMatchObject({ signedNow: false, signatures: 2 });
    expect(await ok(`/areas/${AREA}/meetings`, { token: committee, body: meeting })).toMatchObject({
      kind: 'extraordinary',
      petitionId: 'dismiss-company',
    });
  });
});
