/**
 * Votes benchmark, in memory: 10,000 owners of one property area vote on 3 matters through the HTTP API
 * from 200 concurrent clients (one in ten sends its ballot twice, as a client retrying would). It prints
 * the cast ballots per second, the ballots lost and double-counted (both must be 0, checked against what
 * every client was answered), the roll freeze, and the close-and-tally time beside the raw time to Query
 * the same items the tally reads (target ≤ 3×).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ownerIdOf } from '../functions/registry/roster.js';
import { FREE_PORTS, startLocalCloud } from '../local/cloud.js';
import { localCredentials } from '../local/dynamodb.js';
import { ms, perSecond, printFigures, progress, sleep } from './support.js';

const SD = 'sd-bench-votes';
const AREA = 'votes';
const DAY = 86_400_000;
const CHOICES = ['for', 'against', 'abstain'] as const;
const MATTERS = ['company', 'fund', 'covenant'] as const;

const roster = (owners: number) => {
  const lines = ['building,room,area,owner,idLast4,phone'];
  for (let i = 0; i < owners; i++) {
    const building = 1 + Math.floor(i / 100);
    const room = `${1 + Math.floor((i % 100) / 4)}0${1 + (i % 4)}`;
    lines.push(
      `${building},${room},${(60 + (i % 50) + (i % 100) / 100).toFixed(2)},业主${i},${String(i % 10000).padStart(4, '0')},138${String(i).padStart(8, '0')}`,
    );
  }
  return lines.join('\n');
};
const ownerOf = (i: number) =>
  ownerIdOf(AREA, `业主${i}`, String(i % 10000).padStart(4, '0'), `138${String(i).padStart(8, '0')}`);
/** What owner i votes on matter k (and, on a second send, the same: a retry, not a change). */
const choiceOf = (i: number, k: number) => CHOICES[(i * 7 + k * 3) % 3] as (typeof CHOICES)[number];

export const runMeetingsBench = async (
  options: { owners?: number; clients?: number } = {},
): Promise<void> => {
  const owners = options.owners ?? 10_000;
  const clients = options.clients ?? 200;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'civic-bench-votes-'));
  const cloud = await startLocalCloud({ inMemory: true, dataDir, ports: FREE_PORTS, synth: 'auto' });
  try {
    const office = await cloud.token({ role: 'street-office', subDistrictId: SD });
    const committee = await cloud.token({
      role: 'committee-member',
      subDistrictId: SD,
      compoundIds: ['bench'],
      areaIds: [AREA],
    });
    const call = async (
      token: string,
      method: string,
      route: string,
      body?: string,
      type = 'application/json',
    ) => {
      const response = await fetch(`${cloud.endpoints.api}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': type } : {}) },
        body,
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    const must = async (answer: Promise<{ status: number; body: Record<string, any> }>, what: string) => {
      const { status, body } = await answer;
      if (status >= 300) throw new Error(`${what}: ${status} ${JSON.stringify(body)}`);
      return body;
    };
    await must(
      call(office, 'POST', '/compounds', JSON.stringify({ compoundId: 'bench', name: 'bench' })),
      'compound',
    );
    await must(
      call(office, 'POST', '/compounds/bench/areas', JSON.stringify({ areaId: AREA, name: 'votes' })),
      'area',
    );
    process.stderr.write(`  importing a roster of ${owners} owners …\n`);
    await must(call(office, 'POST', `/areas/${AREA}/roster`, roster(owners), 'text/csv'), 'roster');

    const now = cloud.clock.now();
    const opensAt = now + 15 * DAY + 60_000;
    const closesAt = opensAt + 7 * DAY;
    await must(
      call(
        committee,
        'POST',
        `/areas/${AREA}/meetings`,
        JSON.stringify({
          meetingId: 'bench-agm',
          title: 'bench',
          format: 'written-consultation',
          votingOpensAt: new Date(opensAt).toISOString(),
          votingClosesAt: new Date(closesAt).toISOString(),
          matters: MATTERS.map((matterId, k) => ({
            matterId,
            kind: 'resolution',
            item: [4, 6, 2][k],
            title: matterId,
          })),
        }),
      ),
      'meeting',
    );
    const statusIs = async (status: string, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { body } = await call(committee, 'GET', '/meetings/bench-agm');
        if (body.status === status) return body;
        if (Date.now() > deadline)
          throw new Error(`the meeting did not become ${status}: ${JSON.stringify(body)}`);
        await sleep(50);
      }
    };
    process.stderr.write('  the clock passes the 15 days’ notice; the roll is frozen …\n');
    const freezeStarted = performance.now();
    cloud.clock.advance(opensAt - cloud.clock.now() + 1_000);
    const open = await statusIs('open', 300_000);
    const freezeMs = performance.now() - freezeStarted;

    process.stderr.write(`  minting ${owners} owner tokens …\n`);
    const tokens: string[] = [];
    for (let i = 0; i < owners; i++) {
      tokens.push(
        await cloud.token({
          role: 'owner',
          subDistrictId: SD,
          compoundIds: ['bench'],
          areaIds: [AREA],
          ownerId: ownerOf(i),
        }),
      );
    }

    // Owner i casts once; one in ten sends the same ballot again after everyone has cast.
    const sends = [
      ...Array.from({ length: owners }, (_, i) => i),
      ...Array.from({ length: owners / 10 }, (_, k) => k * 10),
    ];
    const accepted = new Map<number, number>();
    let failed = 0;
    let next = 0;
    const latencies: number[] = [];
    const castStarted = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < sends.length) {
          const i = sends[next++] as number;
          const started = performance.now();
          const { status } = await call(
            tokens[i] as string,
            'POST',
            '/meetings/bench-agm/ballots',
            JSON.stringify({ choices: MATTERS.map((matterId, k) => ({ matterId, choice: choiceOf(i, k) })) }),
          );
          latencies.push(performance.now() - started);
          if (status === 201) accepted.set(i, (accepted.get(i) ?? 0) + 1);
          else failed++;
          const done = latencies.length;
          if (done % 1000 === 0 || done === sends.length) progress('ballots', done, sends.length);
        }
      }),
    );
    const castSeconds = (performance.now() - castStarted) / 1000;

    process.stderr.write('  the clock passes the close; the schedule closes and tallies …\n');
    const closeStarted = performance.now();
    cloud.clock.advance(closesAt - cloud.clock.now() + 1_000);
    let result: Record<string, any> | undefined;
    for (const deadline = Date.now() + 600_000; result === undefined; ) {
      const answer = await call(committee, 'GET', '/meetings/bench-agm/result');
      if (answer.status === 200) result = answer.body;
      else if (Date.now() > deadline) throw new Error('no result');
      else await sleep(20);
    }
    const closeMs = performance.now() - closeStarted;

    // What every owner was told was recorded, against what the result counts, choice by choice.
    let lost = 0;
    let doubled = 0;
    for (const [k, matterId] of MATTERS.entries()) {
      const matter = (result.matters as { matterId: string; raw: Record<string, { count: number }> }[]).find(
        (candidate) => candidate.matterId === matterId,
      );
      for (const choice of CHOICES) {
        const expected = [...accepted.keys()].filter((i) => choiceOf(i, k) === choice).length;
        const counted = matter?.raw[choice]?.count ?? 0;
        lost += Math.max(0, expected - counted);
        doubled += Math.max(0, counted - expected);
      }
    }

    // The raw read: the same items the tally reads (the roll's and the final ballots' shards, in
    // parallel as the tally reads them), with the DocumentClient and nothing else.
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: cloud.endpoints.dynamodb,
        region: 'us-east-1',
        credentials: localCredentials,
      }),
    );
    const queryAll = async (pk: string, prefix?: string) => {
      let count = 0;
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: cloud.tableName,
            KeyConditionExpression: prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk, ...(prefix ? { ':prefix': prefix } : {}) },
            ConsistentRead: true,
            ExclusiveStartKey,
          }),
        );
        count += page.Items?.length ?? 0;
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey !== undefined);
      return count;
    };
    const base = `MEETING#${SD}#bench-agm`;
    const shards = Array.from({ length: 16 }, (_, shard) => String(shard).padStart(2, '0'));
    const rawStarted = performance.now();
    const counts = await Promise.all([
      ...shards.map((shard) => queryAll(`${base}#ROLL#${shard}`)),
      ...shards.map((shard) => queryAll(`${base}#BALLOT#${shard}`, 'F#')),
      queryAll(`${base}#DELIVERY`),
    ]);
    const rawMs = performance.now() - rawStarted;
    const items = counts.reduce((sum, count) => sum + count, 0);
    client.destroy();

    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
    printFigures(
      `Votes (issue 16) — in memory, this machine: ${owners} owners, ${MATTERS.length} matters, ${clients} clients`,
      [
        {
          name: 'roll frozen when voting opens',
          value: ms(freezeMs),
          note: `${open.roll.totalCount} owners, ${open.roll.totalArea} m²`,
        },
        {
          name: 'cast ballots',
          value: `${perSecond(sends.length / castSeconds)} (${perSecond((sends.length * MATTERS.length) / castSeconds)} matter ballots)`,
          note: `${sends.length} requests in ${castSeconds.toFixed(1)} s; p50 ${ms(at(50))}, p99 ${ms(at(99))}; ${failed} refused`,
        },
        { name: 'lost ballots', value: String(lost), note: 'answered 201 but not counted; must be 0' },
        {
          name: 'double-counted',
          value: String(doubled),
          note: `counted more than once (${owners / 10} sent twice); must be 0`,
        },
        {
          name: 'close and tally (schedule → result published)',
          value: ms(closeMs),
          note: `${result.ballots.final} final ballots, Merkle root over ${result.merkle.leaves}`,
        },
        {
          name: 'raw Query of the same items',
          value: ms(rawMs),
          note: `${items} items, the same partitions in parallel`,
        },
        {
          name: 'close and tally / raw Query',
          value: `${(closeMs / rawMs).toFixed(2)}×`,
          note: 'target ≤ 3×',
        },
      ],
    );
  } finally {
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};
