import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Area } from '../shared/decimal.js';
import {
  addMatter,
  castingRefusal,
  checkChoices,
  countedBallot,
  createMeetingSchema,
  DEFAULT_MEETING_RULES,
  DEVELOPER_VOTER_ID,
  entriesOf,
  type Meeting,
  noticeMeeting,
  noticeShortfall,
  type RollUnit,
  thresholdOf,
  voterRoll,
} from './domain.js';

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse('2030-03-01T00:00:00.000Z');

/** A random roster: units of one or two owners from a small pool (so owners repeat), some developer-held. */
const arbitraryRoster = fc
  .array(
    fc.record({
      whole: fc.integer({ min: 0, max: 99_999 }),
      cents: fc.integer({ min: 0, max: 99 }),
      owners: fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { minLength: 0, maxLength: 2 }),
      developerHeld: fc.boolean(),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .map((rows) =>
    rows
      .filter((row) => row.whole > 0 || row.cents > 0)
      .map(
        (row, k): RollUnit => ({
          unitId: `u${String(k).padStart(3, '0')}`,
          area: `${row.whole}.${String(row.cents).padStart(2, '0')}` as Area,
          developerHeld: row.developerHeld,
          ownerIds: row.developerHeld ? ['x.developer'] : row.owners.map((owner) => `x.o${owner}`),
        }),
      ),
  );

describe('the voter roll (owner count under the Supreme People’s Court interpretation)', () => {
  it('counts a unit once, a buyer’s several units once, all developer-held units once, for any roster', () => {
    fc.assert(
      fc.property(arbitraryRoster, (units) => {
        const roll = voterRoll(units);
        const buyers = new Set(
          units
            .filter((unit) => !unit.developerHeld)
            .map((unit) =>
              unit.ownerIds.length === 0 ? `none:${unit.unitId}` : [...unit.ownerIds].sort().join('+'),
            ),
        );
        const developer = units.some((unit) => unit.developerHeld) ? 1 : 0;
        expect(roll.totalCount).toBe(buyers.size + developer);
        expect(roll.voters).toHaveLength(roll.totalCount);
        // Every unit sits in exactly one entry; the developer's entry holds every developer-held unit.
        const placed = roll.voters.flatMap((voter) => voter.unitIds);
        expect(placed.sort()).toEqual(units.map((unit) => unit.unitId).sort());
        const developerEntry = roll.voters.find((voter) => voter.voterId === DEVELOPER_VOTER_ID);
        expect(developerEntry?.unitIds.length ?? 0).toBe(units.filter((unit) => unit.developerHeld).length);
      }),
    );
  });

  it('sums areas exactly, to the hundredth, for any decimals', () => {
    fc.assert(
      fc.property(arbitraryRoster, (units) => {
        const roll = voterRoll(units);
        // Independently: whole metres and hundredths added as integers, carried by hand.
        let cents = 0;
        let metres = 0;
        for (const unit of units) {
          const [whole, fraction] = unit.area.split('.') as [string, string];
          metres += Number(whole);
          cents += Number(fraction);
        }
        metres += Math.floor(cents / 100);
        expect(roll.totalArea).toBe(`${metres}.${String(cents % 100).padStart(2, '0')}`);
        const entrySum = roll.voters.reduce(
          (total, voter) => total + Math.round(Number(voter.area) * 100),
          0,
        );
        expect(entrySum).toBe(metres * 100 + (cents % 100));
      }),
    );
  });

  it('gives the same roll for the same units in any order', () => {
    fc.assert(
      fc.property(arbitraryRoster, fc.nat(), (units, seed) => {
        const shuffled = [...units].sort(
          (a, b) => ((a.unitId.charCodeAt(3) * seed) % 7) - ((b.unitId.charCodeAt(3) * seed) % 7),
        );
        expect(voterRoll(shuffled)).toEqual(voterRoll(units));
      }),
    );
  });

  it('merges two units of the same spouses into one entry, apart from one of them alone', () => {
    const roll = voterRoll([
      { unitId: '1-101', area: '80.50' as Area, developerHeld: false, ownerIds: ['a', 'b'] },
      { unitId: '1-102', area: '60.25' as Area, developerHeld: false, ownerIds: ['b', 'a'] },
      { unitId: '2-101', area: '70.00' as Area, developerHeld: false, ownerIds: ['a'] },
      { unitId: '3-101', area: '90.00' as Area, developerHeld: true, ownerIds: ['dev'] },
      { unitId: '3-102', area: '90.00' as Area, developerHeld: true, ownerIds: ['dev'] },
    ]);
    expect(roll.totalCount).toBe(3);
    expect(roll.totalArea).toBe('390.75');
    expect(roll.voters.find((voter) => voter.voterId === 'a+b')).toMatchObject({
      area: '140.75',
      unitIds: ['1-101', '1-102'],
    });
    expect(entriesOf(roll.voters, 'a').map((voter) => voter.voterId)).toEqual(['a', 'a+b']);
    expect(entriesOf(roll.voters, 'b').map((voter) => voter.voterId)).toEqual(['a+b']);
  });
});

describe('notice', () => {
  it('lets voting open exactly the notice period after the notice, not a millisecond before', () => {
    fc.assert(
      fc.property(fc.integer({ min: 15, max: 90 }), fc.integer({ min: 0, max: 10 * 365 }), (days, offset) => {
        const posted = T0 + offset * DAY;
        expect(noticeShortfall(iso(posted), iso(posted + days * DAY), days)).toBeUndefined();
        expect(noticeShortfall(iso(posted), iso(posted + days * DAY - 1), days)).toMatch(/days' notice/);
      }),
    );
  });

  const input = createMeetingSchema.parse({
    meetingId: 'agm-2030',
    title: 'Annual general meeting',
    format: 'written-consultation',
    votingOpensAt: iso(T0 + 20 * DAY),
    votingClosesAt: iso(T0 + 27 * DAY),
    matters: [{ matterId: 'fund', kind: 'resolution', item: 6, title: 'Raise the maintenance fund' }],
  });
  const place = { subDistrictId: 'sd', compoundId: 'c', areaId: 'a' };

  it('refuses a meeting noticed with less than the area’s notice period, naming votingOpensAt', () => {
    const result = noticeMeeting(input, place, { ...DEFAULT_MEETING_RULES, noticeDays: 21 }, 'u', iso(T0));
    expect(result).toMatchObject({ ok: false, pointer: '/body/votingOpensAt' });
  });

  it('notices a meeting: threshold per item, notice time from the server', () => {
    const result = noticeMeeting(input, place, DEFAULT_MEETING_RULES, 'u', iso(T0));
    expect(result.ok && result.meeting).toMatchObject({
      status: 'noticed',
      noticePostedAt: iso(T0),
      kind: 'ordinary',
      matters: [{ matterId: 'fund', threshold: 'three-quarters' }],
    });
  });

  it('adds a matter only while its own notice period still fits before voting opens', () => {
    const { meeting } = noticeMeeting(input, place, DEFAULT_MEETING_RULES, 'u', iso(T0)) as {
      meeting: Meeting;
    };
    const matter = { matterId: 'cov', kind: 'resolution' as const, item: 2 as const, title: 'Covenant' };
    const early = addMatter(meeting, matter, { taskToken: 't' }, iso(T0 + 5 * DAY));
    expect(early.ok && early.matter).toMatchObject({
      matterId: 'cov',
      taskToken: 't',
      threshold: 'more-than-half',
    });
    expect(addMatter(meeting, matter, {}, iso(T0 + 5 * DAY + 1))).toMatchObject({ ok: false, status: 409 });
    expect(addMatter(meeting, { ...matter, matterId: 'fund' }, {}, iso(T0))).toMatchObject({
      ok: false,
      pointer: '/body/matter/matterId',
    });
  });

  it.each([
    [1, 'more-than-half'],
    [5, 'more-than-half'],
    [6, 'three-quarters'],
    [7, 'three-quarters'],
    [8, 'three-quarters'],
    [9, 'more-than-half'],
  ] as const)('art. 278 item %i needs %s', (item, threshold) => {
    expect(thresholdOf(item)).toBe(threshold);
  });

  it.each([
    ['closing before opening', { votingClosesAt: iso(T0 + 19 * DAY) }, '/votingClosesAt'],
    ['a collective meeting without a venue', { format: 'collective-meeting' }, '/venue'],
    [
      'an election that is not item 3',
      {
        matters: [
          {
            matterId: 'e',
            kind: 'election',
            item: 4,
            title: 'x',
            seats: 1,
            candidates: [{ candidateId: 'ann', name: 'Ann' }],
          },
        ],
      },
      '/matters/0/item',
    ],
    [
      'an unknown item',
      { matters: [{ matterId: 'e', kind: 'resolution', item: 10, title: 'x' }] },
      '/matters/0/item',
    ],
    [
      'duplicate matters',
      {
        matters: [
          { matterId: 'e', kind: 'resolution', item: 1, title: 'x' },
          { matterId: 'e', kind: 'resolution', item: 2, title: 'y' },
        ],
      },
      '/matters/1/matterId',
    ],
  ])('refuses %s', (_case, change, pointer) => {
    const result = createMeetingSchema.safeParse({ ...input, ...change });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => `/${issue.path.join('/')}`)).toContain(pointer);
  });
});

describe('ballots', () => {
  const { meeting } = noticeMeeting(
    createMeetingSchema.parse({
      meetingId: 'mtg',
      title: 'm',
      format: 'written-consultation',
      votingOpensAt: iso(T0 + 15 * DAY),
      votingClosesAt: iso(T0 + 16 * DAY),
      matters: [
        { matterId: 'fund', kind: 'resolution', item: 6, title: 'Fund' },
        {
          matterId: 'seats',
          kind: 'election',
          item: 3,
          title: 'Seats',
          seats: 2,
          candidates: [
            { candidateId: 'ann', name: 'Ann' },
            { candidateId: 'bob', name: 'Bob' },
            { candidateId: 'cy', name: 'Cy' },
          ],
        },
      ],
    }),
    { subDistrictId: 'sd', areaId: 'a' },
    DEFAULT_MEETING_RULES,
    'u',
    iso(T0),
  ) as { meeting: Meeting };

  it('checks every choice against the meeting’s matters, naming the field', () => {
    expect(
      checkChoices(meeting, [
        { matterId: 'other', choice: 'for' },
        { matterId: 'fund', choice: { approve: [] } },
        { matterId: 'seats', choice: 'for' },
      ]).map((problem) => problem.pointer),
    ).toEqual(['/body/choices/0/matterId', '/body/choices/1/choice', '/body/choices/2/choice']);
    expect(
      checkChoices(meeting, [{ matterId: 'seats', choice: { approve: ['ann', 'bob', 'cy'] } }])[0]?.pointer,
    ).toBe('/body/choices/0/choice/approve');
    expect(
      checkChoices(meeting, [{ matterId: 'seats', choice: { approve: ['ann', 'zed'] } }])[0]?.pointer,
    ).toBe('/body/choices/0/choice/approve/1');
    expect(
      checkChoices(meeting, [
        { matterId: 'seats', choice: { approve: ['ann', 'bob'] } },
        { matterId: 'fund', choice: 'abstain' },
      ]),
    ).toEqual([]);
  });

  it('accepts ballots only inside the window and once the roll is frozen', () => {
    const open = { ...meeting, status: 'open' as const };
    expect(castingRefusal(open, iso(T0 + 15 * DAY - 1))).toMatch(/opens/);
    expect(castingRefusal(open, iso(T0 + 15 * DAY))).toBeUndefined();
    expect(castingRefusal(open, iso(T0 + 16 * DAY - 1))).toBeUndefined();
    expect(castingRefusal(open, iso(T0 + 16 * DAY))).toMatch(/closed/);
    expect(castingRefusal(meeting, iso(T0 + 15 * DAY + 1))).toMatch(/frozen/);
    expect(castingRefusal({ ...open, status: 'closing' }, iso(T0 + 15 * DAY + 1))).toMatch(/closed/);
  });

  it.each([
    ['paper-prevails', 'paper'],
    ['electronic-prevails', 'electronic'],
    ['latest-prevails', 'electronic'],
  ] as const)('%s picks the %s ballot when both exist', (rule, channel) => {
    const ballots = [
      { channel: 'paper' as const, castAt: iso(T0) },
      { channel: 'electronic' as const, castAt: iso(T0 + 1) },
    ];
    expect(countedBallot(ballots, rule)).toEqual({
      counted: ballots.find((b) => b.channel === channel),
      conflict: true,
    });
    expect(countedBallot([ballots[0] as (typeof ballots)[number]], rule)).toEqual({
      counted: ballots[0],
      conflict: false,
    });
    expect(countedBallot([], rule)).toBeUndefined();
  });
});
