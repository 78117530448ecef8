import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Area, formatArea } from '../shared/decimal.js';
import { type Art278Item, type Matter, thresholdOf } from './domain.js';
import {
  majorityOpinion,
  petitionProgress,
  quorumMet,
  type RollEntry,
  type Sum,
  tallyElection,
  tallyMeeting,
  tallyResolution,
  thresholdMet,
  turnoutOf,
} from './tally.js';

const sum = (hundredths: bigint | number, count: bigint | number): Sum => ({
  hundredths: BigInt(hundredths),
  count: BigInt(count),
});
const entry = (voterId: string, hundredths: bigint | number, ownerIds = [voterId]): RollEntry => ({
  voterId,
  area: formatArea(BigInt(hundredths)),
  ownerIds,
});
const resolution = (item: number) => ({
  matterId: 'm1',
  item: item as Art278Item,
  threshold: thresholdOf(item as Art278Item),
});

/** Splits `total` hundredths into `parts` positive pieces (each at least 0.01 m²). */
const pieces = (total: bigint, parts: number, cuts: number[]): bigint[] => {
  const points = [...new Set(cuts.map((cut) => BigInt(cut) % (total - 1n)))]
    .map((cut) => cut + 1n)
    .sort((a, b) => (a < b ? -1 : 1))
    .slice(0, parts - 1);
  const result: bigint[] = [];
  let previous = 0n;
  for (const point of [...points, total]) {
    result.push(point - previous);
    previous = point;
  }
  return result;
};
const rollOf = (prefix: string, areas: bigint[]) => areas.map((area, k) => entry(`${prefix}${k}`, area));

describe('quorum: at least 2/3 of the area AND at least 2/3 of the owners take part', () => {
  it('holds at exactly 2/3 of the area and fails one hundredth of a m² under it (any total)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), (third) => {
        const total = sum(3n * third, 30);
        expect(quorumMet(sum(2n * third, 20), total)).toBe(true);
        expect(quorumMet(sum(2n * third - 1n, 20), total)).toBe(false);
      }),
    );
  });

  it('holds at exactly 2/3 of the owners and fails one owner under it, whatever the area', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (third) => {
        const total = sum(1_000_000, 3 * third);
        expect(quorumMet(sum(1_000_000, 2 * third), total)).toBe(true);
        expect(quorumMet(sum(1_000_000, 2 * third - 1), total)).toBe(false);
      }),
    );
  });

  it('is exact through a whole tally: a roll whose participants hold exactly 2/3, then 0.01 m² less', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 10n, max: 10n ** 9n }),
        fc.integer({ min: 2, max: 12 }),
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        (third, participants, cuts) => {
          // Participants hold 2/3 of the area in `participants` entries; the others 1/3 in fewer entries.
          const inside = pieces(2n * third, participants, cuts);
          const outside = pieces(third, Math.max(1, Math.floor(inside.length / 2)), cuts);
          const voting = rollOf('p', inside);
          const roll = [...voting, ...rollOf('q', outside)];
          const choices = new Map(voting.map((voter) => [voter.voterId, 'for' as const]));
          const at = tallyResolution({
            matter: resolution(9),
            roll,
            choices,
            delivered: new Set(),
            mode: 'not-counted',
          });
          expect(at.raw.quorum).toBe(true);
          // Move one hundredth from a participant to a non-participant: the total stays, the quorum goes.
          const [first, ...rest] = inside as [bigint, ...bigint[]];
          const [other, ...others] = outside as [bigint, ...bigint[]];
          if (first < 2n) return;
          const shifted = [...rollOf('p', [first - 1n, ...rest]), ...rollOf('q', [other + 1n, ...others])];
          const under = tallyResolution({
            matter: resolution(9),
            roll: shifted,
            choices,
            delivered: new Set(),
            mode: 'not-counted',
          });
          expect(under.totals).toEqual(at.totals);
          expect(under.raw.quorum).toBe(false);
        },
      ),
    );
  });
});

describe('passing', () => {
  it('fails at exactly 1/2 of the participating area and passes one hundredth over (items 1–5, 9)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.constantFrom(1, 2, 3, 4, 5, 9),
        (half, owners, item) => {
          const participating = sum(2n * half, 2 * owners + 1);
          const threshold = resolution(item).threshold;
          expect(threshold).toBe('more-than-half');
          expect(thresholdMet(sum(half, owners + 1), participating, threshold)).toBe(false);
          expect(thresholdMet(sum(half + 1n, owners + 1), participating, threshold)).toBe(true);
        },
      ),
    );
  });

  it('fails at exactly 1/2 of the participating owners and passes one owner over', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), (half) => {
        const participating = sum(1000, 2 * half);
        expect(thresholdMet(sum(999, half), participating, 'more-than-half')).toBe(false);
        expect(thresholdMet(sum(999, half + 1), participating, 'more-than-half')).toBe(true);
      }),
    );
  });

  it('passes items 6–8 at exactly 3/4 of area and owners, and fails one hundredth or one owner under', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 12n }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.constantFrom(6, 7, 8),
        (quarter, owners, item) => {
          const threshold = resolution(item).threshold;
          expect(threshold).toBe('three-quarters');
          const participating = sum(4n * quarter, 4 * owners);
          expect(thresholdMet(sum(3n * quarter, 3 * owners), participating, threshold)).toBe(true);
          expect(thresholdMet(sum(3n * quarter - 1n, 3 * owners), participating, threshold)).toBe(false);
          expect(thresholdMet(sum(3n * quarter, 3 * owners - 1), participating, threshold)).toBe(false);
        },
      ),
    );
  });

  it('counts abstentions as taking part, never as a yes', () => {
    const roll = [entry('a', 10_000), entry('b', 10_000), entry('c', 10_000)];
    const result = tallyResolution({
      matter: resolution(4),
      roll,
      choices: new Map([
        ['a', 'for'],
        ['b', 'abstain'],
        ['c', 'abstain'],
      ]),
      delivered: new Set(),
      mode: 'not-counted',
    });
    expect(result.raw).toMatchObject({
      participating: { area: '300.00', count: 3 },
      for: { area: '100.00', count: 1 },
      abstain: { area: '200.00', count: 2 },
      quorum: true,
      passed: false,
    });
  });
});

describe('deemed votes of owners who received the ballot and did not reply', () => {
  const arbitraryMeeting = fc
    .array(
      fc.record({
        hundredths: fc.bigInt({ min: 1n, max: 100_000n }),
        choice: fc.constantFrom('for', 'against', 'abstain', undefined),
        delivered: fc.boolean(),
      }),
      { minLength: 1, maxLength: 40 },
    )
    .map((voters) => ({
      roll: voters.map((voter, k) => entry(`v${k}`, voter.hundredths)),
      choices: new Map(
        voters.flatMap((voter, k) =>
          voter.choice === undefined
            ? []
            : [[`v${k}`, voter.choice] as [string, 'for' | 'against' | 'abstain']],
        ),
      ),
      delivered: new Set(voters.flatMap((voter, k) => (voter.delivered ? [`v${k}`] : []))),
    }));

  it('never deems an owner without a delivery record, and deems every silent delivered one when a majority leads', () => {
    fc.assert(
      fc.property(arbitraryMeeting, fc.constantFrom(1, 6), ({ roll, choices, delivered }, item) => {
        const result = tallyResolution({
          matter: resolution(item),
          roll,
          choices,
          delivered,
          mode: 'counted-with-majority',
        });
        const silentDelivered = roll.filter(
          (voter) => !choices.has(voter.voterId) && delivered.has(voter.voterId),
        );
        const expectedCount = result.deemed.majorityOpinion === null ? 0 : silentDelivered.length;
        expect(result.deemed.deemedOwners.count).toBe(expectedCount);
        expect(result.deemed.participating.count).toBe(result.raw.participating.count + expectedCount);
        // With no delivery records at all, deeming changes nothing.
        const none = tallyResolution({
          matter: resolution(item),
          roll,
          choices,
          delivered: new Set(),
          mode: 'counted-with-majority',
        });
        expect({ ...none.deemed, majorityOpinion: undefined, deemedOwners: undefined }).toEqual({
          ...none.raw,
          majorityOpinion: undefined,
          deemedOwners: undefined,
        });
        expect(none.deemed.deemedOwners).toEqual({ area: '0.00', count: 0 });
      }),
    );
  });

  it('lets the mode decide: raw figures unless the rules count non-replies with the majority', () => {
    fc.assert(
      fc.property(arbitraryMeeting, ({ roll, choices, delivered }) => {
        const args = { matter: resolution(2), roll, choices, delivered };
        const raw = tallyResolution({ ...args, mode: 'not-counted' });
        const deemed = tallyResolution({ ...args, mode: 'counted-with-majority' });
        expect(raw.decidedBy).toBe('raw');
        expect(raw.passed).toBe(raw.raw.passed);
        expect(deemed.decidedBy).toBe('deemed');
        expect(deemed.passed).toBe(deemed.deemed.passed);
        expect(deemed.raw).toEqual(raw.raw);
      }),
    );
  });

  it.each([
    ['leads in both', sum(300, 3), sum(200, 2), 'for'],
    ['against leads in both', sum(100, 1), sum(500, 4), 'against'],
    ['for leads in area, against in count', sum(900, 2), sum(300, 3), null],
    ['a tie in area', sum(500, 3), sum(500, 2), null],
    ['a tie in count', sum(600, 2), sum(500, 2), null],
  ] as const)('majority opinion: %s', (_case, forSum, againstSum, expected) => {
    expect(majorityOpinion(forSum, againstSum)).toBe(expected);
  });

  it('a quorum reached only with deemed owners passes in deemed mode and not in raw figures', () => {
    // 10 owners of 100 m²: 4 vote for, 1 against, 3 silent with delivery, 2 silent without.
    const roll = Array.from({ length: 10 }, (_, k) => entry(`o${k}`, 10_000));
    const choices = new Map<string, 'for' | 'against'>([
      ['o0', 'for'],
      ['o1', 'for'],
      ['o2', 'for'],
      ['o3', 'for'],
      ['o4', 'against'],
    ]);
    const result = tallyResolution({
      matter: resolution(4),
      roll,
      choices,
      delivered: new Set(['o5', 'o6', 'o7']),
      mode: 'counted-with-majority',
    });
    expect(result.raw.quorum).toBe(false);
    expect(result.deemed).toMatchObject({
      majorityOpinion: 'for',
      deemedOwners: { area: '300.00', count: 3 },
      participating: { area: '800.00', count: 8 },
      for: { area: '700.00', count: 7 },
      quorum: true,
      passed: true,
    });
    expect(result.passed).toBe(true);
  });
});

describe('elections', () => {
  const election = (seats: number, candidates: string[]): Extract<Matter, { kind: 'election' }> => ({
    matterId: 'e1',
    kind: 'election',
    item: 3,
    title: 'Committee',
    seats,
    candidates: candidates.map((candidateId) => ({ candidateId, name: candidateId.toUpperCase() })),
    threshold: 'more-than-half',
    addedAt: '2030-01-01T00:00:00.000Z',
  });
  const roll = Array.from({ length: 10 }, (_, k) => entry(`o${k}`, 10_000));
  const ballots = (approvals: string[][]) => new Map(approvals.map((approve, k) => [`o${k}`, { approve }]));

  it('elects the top N of those approved by more than half, ranked by owners then area', () => {
    const result = tallyElection({
      matter: election(2, ['ann', 'bob', 'cy', 'di']),
      roll,
      choices: ballots([
        ['ann', 'bob'],
        ['ann', 'bob'],
        ['ann', 'cy'],
        ['ann', 'cy'],
        ['ann', 'cy'],
        ['bob', 'cy'],
        ['bob', 'cy'],
        ['bob'],
        [],
      ]),
    });
    expect(result.quorum).toBe(true);
    expect(result.participating).toEqual({ area: '900.00', count: 9 });
    expect(result.candidates.map((c) => [c.candidateId, c.approvals.count, c.majority])).toEqual([
      ['ann', 5, true],
      ['bob', 5, true],
      ['cy', 5, true],
      ['di', 0, false],
    ]);
    // ann, bob and cy all have 5 approvals of 9 and the same area: a tie for the two seats.
    expect(result.elected).toEqual([]);
    expect(result.runOff).toEqual(['ann', 'bob', 'cy']);
    expect(result.runOffSeats).toBe(2);
  });

  it('reports a tie for the last seat only, electing those above it', () => {
    const result = tallyElection({
      matter: election(2, ['ann', 'bob', 'cy']),
      roll,
      choices: ballots([
        ['ann', 'bob'],
        ['ann', 'cy'],
        ['ann', 'bob'],
        ['ann', 'cy'],
        ['ann', 'bob'],
        ['ann', 'cy'],
        ['bob', 'cy'],
        ['bob', 'cy'],
      ]),
    });
    // ann 6 of 8, bob and cy 5 each: ann takes a seat, bob and cy tie for the other.
    expect(result.candidates.map((c) => c.approvals.count)).toEqual([6, 5, 5]);
    expect(result.elected).toEqual(['ann']);
    expect(result.runOff.sort()).toEqual(['bob', 'cy']);
    expect(result.runOffSeats).toBe(1);
    expect(result.unfilledSeats).toBe(0);
  });

  it('leaves seats unfilled when too few candidates win a majority, and elects no one without a quorum', () => {
    const few = tallyElection({
      matter: election(3, ['ann', 'bob']),
      roll,
      choices: ballots([['ann'], ['ann'], ['ann'], ['ann'], ['ann'], ['ann'], ['bob'], []]),
    });
    expect(few.elected).toEqual(['ann']);
    expect(few.unfilledSeats).toBe(2);
    const noQuorum = tallyElection({
      matter: election(1, ['ann']),
      roll,
      choices: ballots([['ann'], ['ann']]),
    });
    expect(noQuorum.quorum).toBe(false);
    expect(noQuorum.elected).toEqual([]);
    expect(noQuorum.passed).toBe(false);
  });
});

describe('a whole meeting', () => {
  const matters: Matter[] = [
    {
      matterId: 'fee',
      kind: 'resolution',
      item: 6,
      title: 'Raise the fund',
      threshold: 'three-quarters',
      addedAt: 'x',
    },
    {
      matterId: 'rules',
      kind: 'resolution',
      item: 1,
      title: 'Rules',
      threshold: 'more-than-half',
      addedAt: 'x',
    },
  ];
  const roll = [entry('a', 10_000), entry('b', 10_000), entry('c', 10_000, ['c1', 'c2'])];
  const ballot = (
    voterId: string,
    matterId: string,
    channel: 'electronic' | 'paper',
    choice: 'for' | 'against',
    castAt: string,
  ) => ({
    voterId,
    matterId,
    channel,
    choice,
    castAt,
    receipt: `${voterId}-${matterId}-${channel}`,
  });

  it.each([
    ['paper-prevails', 'paper', 'against'],
    ['electronic-prevails', 'electronic', 'for'],
    ['latest-prevails', 'paper', 'against'],
  ] as const)(
    'resolves an electronic and a paper ballot of one owner by the rule (%s) and flags it',
    (rule, channel, choice) => {
      const result = tallyMeeting({
        matters,
        roll,
        ballots: [
          ballot('a', 'rules', 'electronic', 'for', '2030-01-02T00:00:00.000Z'),
          ballot('a', 'rules', 'paper', 'against', '2030-01-03T00:00:00.000Z'),
          ballot('b', 'rules', 'electronic', 'for', '2030-01-02T00:00:00.000Z'),
        ],
        deliveries: new Map(),
        votingClosesAt: '2030-02-01T00:00:00.000Z',
        mode: 'not-counted',
        conflictRule: rule,
      });
      expect(result.conflicts).toEqual([{ voterId: 'a', matterId: 'rules', counted: channel, same: false }]);
      const rules = result.matters.find((matter) => matter.matterId === 'rules');
      expect(rules?.kind === 'resolution' && rules.raw[choice].count).toBeGreaterThanOrEqual(1);
      expect(result.countedReceipts).toEqual([`a-rules-${channel}`, 'b-rules-electronic'].sort());
      expect(result.finalBallots).toBe(3);
    },
  );

  it('counts a delivery only if it was made before voting closed, through any co-owner', () => {
    const result = tallyMeeting({
      matters,
      roll,
      ballots: [
        ballot('a', 'rules', 'electronic', 'for', '2030-01-02T00:00:00.000Z'),
        ballot('b', 'rules', 'electronic', 'for', '2030-01-02T00:00:00.000Z'),
      ],
      deliveries: new Map([
        ['c2', '2030-01-01T00:00:00.000Z'],
        ['b', '2030-03-01T00:00:00.000Z'],
      ]),
      votingClosesAt: '2030-02-01T00:00:00.000Z',
      mode: 'counted-with-majority',
      conflictRule: 'paper-prevails',
    });
    const rules = result.matters.find((matter) => matter.matterId === 'rules');
    expect(rules?.kind === 'resolution' && rules.deemed.deemedOwners).toEqual({ area: '100.00', count: 1 });
  });
});

describe('petitions and turnout', () => {
  it('a petition reaches 20 % of the area and of the owners at the boundary, not one hundredth under', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 2n, max: 10n ** 9n }), (fifth) => {
        // Five owners: one holds exactly a fifth of the area.
        const roll = [
          entry('s', fifth),
          entry('t', fifth),
          entry('u', fifth),
          entry('v', fifth),
          entry('w', fifth),
        ];
        expect(petitionProgress(roll, new Set(['s'])).met).toBe(true);
        const less = [entry('s', fifth - 1n), entry('t', fifth + 1n), ...roll.slice(2)];
        expect(petitionProgress(less, new Set(['s'])).met).toBe(false);
        expect(petitionProgress(less, new Set(['s'])).required.area).toBe(formatArea(fifth) as Area);
      }),
    );
  });

  it('turnout shows participation against the quorum and what is still needed', () => {
    const roll = [entry('a', 100), entry('b', 200), entry('c', 300)];
    expect(turnoutOf(roll, new Set(['c', 'b']))).toEqual({
      reached: { area: '5.00', count: 2 },
      totals: { area: '6.00', count: 3 },
      required: { area: '4.00', count: 2 },
      met: true,
    });
    expect(turnoutOf(roll, new Set(['a'])).met).toBe(false);
  });
});
