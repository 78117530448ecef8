/**
 * A merger waiting for the housing bureau survives a SIGKILL of the whole local cloud (DynamoDB Local's
 * JVM included): started again on the same data dir, the execution still waits on the same token, and
 * the approval sent after the restart carries out the merge.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CloudFile, killTree, startChildCloud, tokenOf } from '../support/child-cloud.js';
import { eventually } from '../support/cloud.js';

const SD = 'sd-merger-restart';
const COMPOUND = 'restart-merge';
const AREAS = ['rm-1', 'rm-2'];
const PROPOSAL = 'restart-merger';
const DAY_SECONDS = 86_400;

describe('a merger waiting for the bureau survives kill -9 of the local cloud', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civic-merger-restart-'));
  const children: ChildProcess[] = [];
  const output: string[] = [];
  let cloud: CloudFile;

  const start = async () => {
    const started = await startChildCloud(dataDir, [], output);
    children.push(started.child);
    cloud = started.cloud;
    return started;
  };
  const call = async (token: string, route: string, method = 'GET', body?: unknown, csv?: string) => {
    const response = await fetch(`${cloud.endpoints.api}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(csv === undefined ? {} : { 'content-type': 'text/csv' }),
      },
      body: csv ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  };
  const advance = (seconds: number) =>
    fetch(`${cloud.endpoints.control}/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ advanceSeconds: seconds }),
    });

  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('before the kill: two areas vote for the plan and the proposal waits for the bureau', async () => {
    const first = await start();
    const office = await tokenOf(cloud, { role: 'street-office', subDistrictId: SD });
    const surveyor = await tokenOf(cloud, { role: 'evaluator', subDistrictId: SD });
    await call(office, '/compounds', 'POST', { compoundId: COMPOUND, name: '重启合并小区' });
    const clock = (await (await fetch(`${cloud.endpoints.control}/clock`)).json()) as { now: string };
    const opens = Date.parse(clock.now) + 16 * DAY_SECONDS * 1000;
    for (const area of AREAS) {
      await call(office, `/compounds/${COMPOUND}/areas`, 'POST', { areaId: area, name: area });
      await call(
        office,
        `/areas/${area}/roster`,
        'POST',
        undefined,
        [
          'building,room,area,owner,idLast4,phone,developerHeld',
          `${area}-1,101,88.00,${area}甲,0001,13900000001,否`,
          `${area}-1,102,77.50,${area}乙,0002,13900000002,否`,
        ].join('\n'),
      );
    }
    await call(office, '/proposals', 'POST', {
      proposalId: PROPOSAL,
      title: '重启中的合并',
      compoundId: COMPOUND,
      areaIds: AREAS,
      newArea: { areaId: 'rm-all', name: '合并后' },
      plan: '两个区域合并为一个',
    });
    for (const area of AREAS)
      await call(surveyor, `/proposals/${PROPOSAL}/areas/${area}/survey`, 'PUT', {
        organisation: '第三方',
        households: 2,
        respondents: 2,
        inFavour: 2,
        reportReference: `${area}.pdf`,
      });
    await eventually(
      async () =>
        (await call(office, `/proposals/${PROPOSAL}`)).step === 'participation' ? true : undefined,
      20_000,
    );
    for (const area of AREAS) {
      const committee = await tokenOf(cloud, {
        role: 'committee-member',
        subDistrictId: SD,
        compoundIds: [COMPOUND],
        areaIds: [area],
      });
      await call(committee, `/areas/${area}/meetings`, 'POST', {
        meetingId: `vote-${area}`,
        title: '调整物业管理区域',
        format: 'written-consultation',
        votingOpensAt: new Date(opens).toISOString(),
        votingClosesAt: new Date(opens + DAY_SECONDS * 1000).toISOString(),
        matters: [{ matterId: 'minutes', kind: 'resolution', item: 9, title: '会议记录' }],
      });
      await call(committee, `/proposals/${PROPOSAL}/areas/${area}/participation`, 'PUT', {
        takesPart: true,
        meetingId: `vote-${area}`,
      });
    }
    const matterId = `merger-${PROPOSAL}`;
    for (const area of AREAS)
      await eventually(async () => {
        const meeting = await call(office, `/meetings/vote-${area}`);
        return meeting.matters.some((m: { matterId: string }) => m.matterId === matterId) ? true : undefined;
      }, 20_000);
    await advance(16 * DAY_SECONDS + 1);
    for (const area of AREAS) {
      await eventually(
        async () => ((await call(office, `/meetings/vote-${area}`)).status === 'open' ? true : undefined),
        20_000,
      );
      const owners = (await call(office, `/areas/${area}/owners?limit=10`)).items as { id: string }[];
      for (const owner of owners) {
        const token = await tokenOf(cloud, {
          role: 'owner',
          subDistrictId: SD,
          compoundIds: [COMPOUND],
          areaIds: [area],
          ownerId: owner.id,
        });
        await call(token, `/meetings/vote-${area}/ballots`, 'POST', {
          choices: [
            { matterId, choice: 'for' },
            { matterId: 'minutes', choice: 'for' },
          ],
        });
      }
    }
    await advance(DAY_SECONDS + 1);
    await eventually(
      async () =>
        (await call(office, `/proposals/${PROPOSAL}`)).waitingFor.includes('bureau') ? true : undefined,
      60_000,
      'the proposal to wait for the bureau',
    );
    await killTree(first.child);
  }, 180_000);

  it('after the restart: the approval carries out the merge', async () => {
    await start();
    const office = await tokenOf(cloud, { role: 'street-office', subDistrictId: SD });
    const bureau = await tokenOf(cloud, { role: 'housing-bureau', subDistrictId: SD });
    expect((await call(office, `/proposals/${PROPOSAL}`)).waitingFor).toEqual(['bureau']);
    await call(bureau, `/proposals/${PROPOSAL}/decision`, 'POST', {
      approved: true,
      reference: '重启后批复',
    });
    const merged = await eventually(
      async () => {
        const current = await call(office, `/proposals/${PROPOSAL}`);
        return current.outcome === 'merged' ? current : undefined;
      },
      60_000,
      'the merge',
    );
    expect(merged.merge).toMatchObject({ newAreaId: 'rm-all', units: 4 });
    expect((await call(office, '/areas/rm-all/units?limit=10')).items).toHaveLength(4);
    const timeline = await call(office, `/proposals/${PROPOSAL}/timeline`);
    expect(timeline.execution.status).toBe('SUCCEEDED');
  }, 120_000);
});
