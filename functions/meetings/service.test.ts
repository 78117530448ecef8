import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalDynamoDb } from '../../local/dynamodb.js';
import { type LocalScheduler, startScheduler } from '../../local/scheduler/index.js';
import { startStepFunctions } from '../../local/stepfunctions/index.js';
import {
  eventually,
  functionArn,
  settled,
  sfnClient,
  stateMachineArn,
} from '../../local/stepfunctions/test-support.js';
import { startCivicTable } from '../../test/support/civic-table.js';
import type { Caller } from '../shared/auth.js';

// The meetings use cases against DynamoDB Local, the local Scheduler (its timers lie days ahead and
// never fire here: `now` is handed in) and the local Step Functions running a workflow that waits on a
// matter's result by task token.
const SD = 'sd-meet';
const COMPOUND = 'meet-compound';
const AREA = 'meet-area';
const DAY = 86_400_000;
const T0 = Date.parse('2031-05-01T00:00:00.000Z');
const at = (days: number, ms = 0) => new Date(T0 + days * DAY + ms).toISOString();

let ddb: LocalDynamoDb;
let scheduler: LocalScheduler;
let stepFunctions: { endpoint: string; close(): Promise<void> };
let sfn: SFNClient;
let service: typeof import('./service.js') & typeof import('./notice.js') & typeof import('./close.js');
let store: typeof import('./store.js');
let registry: typeof import('../registry/store.js');
const tokens = new Map<string, string>();

const committee: Caller = {
  sub: 'chair-1',
  roles: ['committee-member'],
  subDistrictId: SD,
  compoundIds: [COMPOUND],
  areaIds: [AREA],
};
const owner = (ownerId: string): Caller => ({
  sub: `user-${ownerId}`,
  roles: ['owner'],
  subDistrictId: SD,
  compoundIds: [COMPOUND],
  areaIds: [AREA],
  ownerId,
});

/** Units as the roster import writes them: owners o1…o6 with one unit each, o7 and o8 sharing one. */
const arrangeRegistry = async () => {
  const units = [
    ...[1, 2, 3, 4, 5, 6].map((n) => ({
      id: `u${n}`,
      area: '100.00',
      ownerIds: [`o${n}`],
      developerHeld: false,
    })),
    { id: 'u7', area: '50.25', ownerIds: ['o7', 'o8'], developerHeld: false },
    { id: 'u8', area: '80.00', ownerIds: ['dev'], developerHeld: true },
    { id: 'u9', area: '80.00', ownerIds: ['dev'], developerHeld: true },
  ];
  const owners = [...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => `o${n}`), 'dev'];
  const place = { subDistrictId: SD, compoundId: COMPOUND, areaId: AREA };
  await registry.putRecords([
    {
      kind: 'area',
      id: AREA,
      subDistrictId: SD,
      compoundId: COMPOUND,
      parentKey: registry.parentKeyOf(SD, { kind: 'compound', id: COMPOUND }, 'area'),
      sortKey: AREA,
      version: 1,
      data: { name: 'meeting area' },
    },
    ...units.map((unit) => ({
      kind: 'unit' as const,
      id: unit.id,
      ...place,
      ownerIds: unit.ownerIds,
      parentKey: registry.parentKeyOf(SD, { kind: 'area', id: AREA }, 'unit'),
      sortKey: unit.id,
      version: 1,
      data: { building: '1', room: unit.id, area: unit.area, developerHeld: unit.developerHeld },
    })),
    ...owners.map((ownerId) => ({
      kind: 'owner' as const,
      id: ownerId,
      ...place,
      ownerIds: [ownerId],
      parentKey: registry.parentKeyOf(SD, { kind: 'area', id: AREA }, 'owner'),
      sortKey: ownerId,
      version: 1,
      data: {
        name: ownerId,
        unitIds: units.filter((unit) => unit.ownerIds.includes(ownerId)).map((unit) => unit.id),
      },
    })),
  ]);
};

beforeAll(async () => {
  ddb = await startCivicTable();
  scheduler = await startScheduler({ lambda: { invokeAsync: () => undefined, spec: () => ({}) as never } });
  stepFunctions = await startStepFunctions({
    port: 0,
    stateMachines: [
      {
        name: 'await-vote',
        arn: stateMachineArn('await-vote'),
        definition: {
          StartAt: 'OpenMatter',
          States: {
            OpenMatter: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
              Parameters: {
                FunctionName: functionArn('open-matter'),
                Payload: { 'token.$': '$$.Task.Token', 'id.$': '$.id' },
              },
              TimeoutSeconds: 600,
              HeartbeatSeconds: 600,
              End: true,
            },
          },
        },
      },
    ],
    invokeLambda: async (_name, payload) => {
      const { id, token } = payload as { id: string; token: string };
      tokens.set(id, token);
      return {};
    },
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SCHEDULER: scheduler.endpoint,
    AWS_ENDPOINT_URL_SFN: stepFunctions.endpoint,
    TIMER_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:000000000000:function:CivicCell-meeting-timers',
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/CivicCell-MeetingsSchedulerRole',
  });
  sfn = sfnClient(stepFunctions.endpoint);
  service = {
    ...(await import('./service.js')),
    ...(await import('./notice.js')),
    ...(await import('./close.js')),
  };
  store = await import('./store.js');
  registry = await import('../registry/store.js');
  await arrangeRegistry();
}, 90_000);
afterAll(async () => {
  await stepFunctions?.close();
  await scheduler?.close();
  await ddb?.stop();
});

const notice = (meetingId: string, matters: unknown[]) =>
  service.createMeeting(
    committee,
    AREA,
    {
      meetingId,
      title: meetingId,
      format: 'written-consultation',
      votingOpensAt: at(15),
      votingClosesAt: at(22),
      matters: matters as never,
    },
    at(0),
  );
const resolution = (matterId: string, item: number) => ({
  matterId,
  kind: 'resolution',
  item,
  title: matterId,
});

describe('a meeting against the local table', () => {
  it('freezes the roll from the registry when voting opens; a roster change afterwards changes nothing', async () => {
    await notice('freeze', [resolution('rules', 1)]);
    expect(await service.openVoting(SD, 'freeze', at(15, -1))).toMatchObject({ status: 'noticed' });
    const opened = await service.openVoting(SD, 'freeze', at(15));
    // o1–o6, the couple o7+o8 and the developer: 8 owners; 600 + 50.25 + 160 m².
    expect(opened?.roll).toMatchObject({ totalArea: '810.25', totalCount: 8 });
    const unit = await registry.getRecord(SD, 'unit', 'u1');
    await registry.replaceRecord(
      { ...(unit as NonNullable<typeof unit>), ownerIds: ['someone-else'] },
      unit?.version ?? 1,
    );
    const meeting = (await store.getMeeting(SD, 'freeze')) as NonNullable<
      Awaited<ReturnType<typeof store.getMeeting>>
    >;
    const roll = await store.getRoll(meeting);
    expect(roll.map((entry) => entry.voterId)).toEqual([
      'developer',
      'o1',
      'o2',
      'o3',
      'o4',
      'o5',
      'o6',
      'o7+o8',
    ]);
    expect((await service.eligibility(owner('o1'), 'freeze')).entries).toHaveLength(1);
    await registry.replaceRecord(
      { ...(unit as NonNullable<typeof unit>), ownerIds: ['o1'] },
      (unit?.version ?? 1) + 1,
    );
    // Opening again does nothing: the meeting is open.
    expect((await service.openVoting(SD, 'freeze', at(16)))?.roll).toEqual(opened?.roll);
  });

  it('leaves exactly one final ballot when one owner casts twenty times at once, every ballot in history', async () => {
    await notice('race', [resolution('rules', 1)]);
    await service.openVoting(SD, 'race', at(15));
    const casts = await Promise.all(
      Array.from({ length: 20 }, (_, k) =>
        service.castBallots(
          owner('o2'),
          'race',
          { choices: [{ matterId: 'rules', choice: k % 2 === 0 ? 'for' : 'against' }] },
          at(15, 1000 + k),
        ),
      ),
    );
    const meeting = (await store.getMeeting(SD, 'race')) as NonNullable<
      Awaited<ReturnType<typeof store.getMeeting>>
    >;
    const { finals, history } = await store.getEntryBallots(meeting, 'o2');
    expect(finals).toHaveLength(1);
    expect(history).toHaveLength(20);
    expect(history.map((ballot) => ballot.ballotId)).toContain(finals[0]?.ballotId);
    expect(casts.flatMap((cast) => cast.ballots.map((ballot) => ballot.receipt))).toContain(
      finals[0]?.receipt,
    );
  });

  it('registers no more proxies per holder than the cap, however many arrive at once', async () => {
    await service.setRules(committee, AREA, {
      noticeDays: 15,
      nonReplyMode: 'not-counted',
      proxyCapPerHolder: 2,
      conflictRule: 'paper-prevails',
    });
    await notice('proxies', [resolution('rules', 1)]);
    const outcomes = await Promise.allSettled(
      ['o2', 'o3', 'o4', 'o5'].map((grantorOwnerId) =>
        service.registerProxy(
          committee,
          'proxies',
          { grantorOwnerId, holderOwnerId: 'o1', scanRef: `scan/${grantorOwnerId}.pdf` },
          at(1),
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(2);
    const refused = outcomes.filter(
      (outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected',
    );
    expect(refused.map((outcome) => (outcome.reason as { status: number }).status)).toEqual([409, 409]);
  });

  it('publishes an immutable result that a recount reproduces, and answers the waiting workflows', async () => {
    await service.setRules(committee, AREA, {
      noticeDays: 15,
      nonReplyMode: 'counted-with-majority',
      proxyCapPerHolder: 3,
      conflictRule: 'paper-prevails',
    });
    await notice('agm', [resolution('rules', 1)]);
    const executions = new Map<string, string>();
    for (const id of ['passes', 'fails']) {
      const started = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: stateMachineArn('await-vote'),
          name: id,
          input: JSON.stringify({ id }),
        }),
      );
      executions.set(id, started.executionArn as string);
    }
    const passes = await eventually(() => tokens.get('passes'));
    const fails = await eventually(() => tokens.get('fails'));
    await service.openMatter(SD, 'agm', resolution('company', 4) as never, { taskToken: passes }, at(0));
    await service.openMatter(SD, 'agm', resolution('fund', 6) as never, { taskToken: fails }, at(0));
    await service.recordDelivery(
      committee,
      'agm',
      { ownerId: 'o6', channel: 'sms', evidenceRef: 'sms/o6' },
      at(2),
    );
    await service.openVoting(SD, 'agm', at(15));
    const choices = (choice: 'for' | 'against', fund = choice) => [
      { matterId: 'rules', choice },
      { matterId: 'company', choice },
      { matterId: 'fund', choice: fund },
    ];
    for (const id of ['o1', 'o2', 'o3'])
      await service.castBallots(owner(id), 'agm', { choices: choices('for') }, at(16));
    await service.castBallots(owner('o4'), 'agm', { choices: choices('for', 'against') }, at(16));
    await service.castBallots(owner('o5'), 'agm', { choices: choices('against') }, at(16));
    // o8 casts for the unit o7 and o8 own together.
    await service.castBallots(owner('o8'), 'agm', { choices: choices('for') }, at(16));
    await expect(service.closeVoting(SD, 'agm', at(22, -1))).rejects.toMatchObject({ status: 409 });

    const result = (await service.closeVoting(SD, 'agm', at(22))) as Record<string, unknown> & {
      matters: {
        matterId: string;
        passed: boolean;
        decidedBy: string;
        deemed: { deemedOwners: { count: number } };
      }[];
      digest: string;
    };
    // 6 of 8 entries took part, 550.25 of 810.25 m² (≥ 2/3 of both). o6, reached by SMS and silent, is
    // deemed with the majority; the developer, never reached, is not.
    const company = result.matters.find((matter) => matter.matterId === 'company');
    expect(company).toMatchObject({
      raw: {
        participating: { area: '550.25', count: 6 },
        for: { area: '450.25', count: 5 },
        quorum: true,
        passed: true,
      },
      deemed: { deemedOwners: { area: '100.00', count: 1 }, for: { area: '550.25', count: 6 }, passed: true },
      decidedBy: 'deemed',
      passed: true,
    });
    // Raising the fund needs 3/4: 350.25 + 100 deemed of 650.25 m², 5 of 7 owners, falls short.
    const fund = result.matters.find((matter) => matter.matterId === 'fund');
    expect(fund).toMatchObject({
      raw: { passed: false },
      deemed: { for: { area: '450.25', count: 5 }, passed: false },
    });
    const again = await service.closeVoting(SD, 'agm', at(23));
    expect(again).toEqual(result);
    const recount = await service.recount(committee, 'agm', 'annual check', 'req-1', at(23));
    expect(recount).toMatchObject({ matches: true, ballotsNotMatchingTheirReceipt: 0 });

    const passed = await settled(sfn, executions.get('passes') as string);
    const failed = await settled(sfn, executions.get('fails') as string);
    expect(passed.status).toBe('SUCCEEDED');
    expect(JSON.parse(passed.output ?? '{}')).toMatchObject({
      matterId: 'company',
      passed: true,
      digest: result.digest,
    });
    expect(failed).toMatchObject({ status: 'FAILED', error: 'MatterNotPassed' });
  });
});
