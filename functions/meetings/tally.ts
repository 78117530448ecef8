/**
 * Counting owners' votes, exactly: areas in integer hundredths of a square metre, every threshold
 * cross-multiplied, no floating point anywhere. Pure, so that a recount from the stored ballots
 * reproduces a published result to the last digit.
 *
 * - Quorum: the owners taking part on a matter hold at least 2/3 of the total exclusive area AND are at
 *   least 2/3 of the total owner count ("以上" includes the boundary).
 * - Passing: items 6–8 need at least 3/4, every other item more than 1/2 ("过半数": exactly half fails),
 *   of the participating area AND of the participating count. Abstentions take part and are not a yes.
 * - Owners who received the ballot and did not reply: in `counted-with-majority` mode they are deemed to
 *   have voted with the majority opinion — the choice, for or against, that leads among the cast ballots
 *   in both area and count (if neither leads in both, no one is deemed) — and only owners with a
 *   delivery record can be deemed. Both the raw and the deemed figures are reported; the mode says
 *   which decides.
 * - Elections: each owner approves up to N candidates; a candidate with more than 1/2 of the
 *   participating area and count is elected if among the top N (by approving owners, then area); a tie
 *   for the last seat is reported for a run-off. No one is deemed on an election: an approval ballot has
 *   no single majority opinion.
 */
import { type Area, areaToHundredths, formatArea } from '../shared/decimal.js';
import {
  type Choice,
  type ConflictRule,
  countedBallot,
  type ElectionChoice,
  type FinalBallot,
  type Matter,
  type NonReplyMode,
  type ResolutionChoice,
  type Threshold,
} from './domain.js';

/** What the tally needs of a roll entry. */
export interface RollEntry {
  voterId: string;
  area: Area;
  ownerIds: readonly string[];
}

/** An exact area and an owner count. */
export interface Figures {
  area: Area;
  count: number;
}

/** The same in hundredths, for arithmetic. */
export interface Sum {
  hundredths: bigint;
  count: bigint;
}
const ZERO: Sum = { hundredths: 0n, count: 0n };
const plus = (a: Sum, b: Sum): Sum => ({ hundredths: a.hundredths + b.hundredths, count: a.count + b.count });
const figures = (sum: Sum): Figures => ({ area: formatArea(sum.hundredths), count: Number(sum.count) });
const sumOf = (entries: readonly RollEntry[]): Sum =>
  entries.reduce<Sum>(
    (sum, entry) => plus(sum, { hundredths: areaToHundredths(entry.area), count: 1n }),
    ZERO,
  );

/** part / whole ≥ num / den, exactly. */
const atLeast = (part: bigint, whole: bigint, num: bigint, den: bigint) => part * den >= num * whole;
/** part / whole > num / den, exactly. */
const moreThan = (part: bigint, whole: bigint, num: bigint, den: bigint) => part * den > num * whole;

/** Whether owners holding `part` take part enough: at least 2/3 of the area AND at least 2/3 of the count. */
export const quorumMet = (part: Sum, total: Sum): boolean =>
  total.count > 0n &&
  atLeast(part.hundredths, total.hundredths, 2n, 3n) &&
  atLeast(part.count, total.count, 2n, 3n);

/** Whether `yes` carries the matter among `participating`, by the item's threshold, in area AND count. */
export const thresholdMet = (yes: Sum, participating: Sum, threshold: Threshold): boolean => {
  if (participating.count === 0n) return false;
  return threshold === 'three-quarters'
    ? atLeast(yes.hundredths, participating.hundredths, 3n, 4n) &&
        atLeast(yes.count, participating.count, 3n, 4n)
    : moreThan(yes.hundredths, participating.hundredths, 1n, 2n) &&
        moreThan(yes.count, participating.count, 1n, 2n);
};

/** The least that reaches num/den of a whole (ceil), in hundredths or owners. */
const needed = (whole: bigint, num: bigint, den: bigint) => (whole * num + den - 1n) / den;

export interface ResolutionFigures {
  participating: Figures;
  for: Figures;
  against: Figures;
  abstain: Figures;
  quorum: boolean;
  passed: boolean;
}

export interface ResolutionResult {
  matterId: string;
  kind: 'resolution';
  item: number;
  threshold: Threshold;
  totals: Figures;
  raw: ResolutionFigures;
  deemed: ResolutionFigures & {
    majorityOpinion: 'for' | 'against' | null;
    deemedOwners: Figures;
  };
  decidedBy: 'raw' | 'deemed';
  passed: boolean;
}

const resolutionFigures = (choices: Record<ResolutionChoice, Sum>, total: Sum, threshold: Threshold) => {
  const participating = plus(plus(choices.for, choices.against), choices.abstain);
  const quorum = quorumMet(participating, total);
  return {
    participating: figures(participating),
    for: figures(choices.for),
    against: figures(choices.against),
    abstain: figures(choices.abstain),
    quorum,
    passed: quorum && thresholdMet(choices.for, participating, threshold),
  };
};

/**
 * The choice that leads among the cast ballots in both area and count, or null when neither does (a tie
 * in either, or one leading in area and the other in count).
 */
export const majorityOpinion = (forSum: Sum, againstSum: Sum): 'for' | 'against' | null => {
  if (forSum.hundredths > againstSum.hundredths && forSum.count > againstSum.count) return 'for';
  if (againstSum.hundredths > forSum.hundredths && againstSum.count > forSum.count) return 'against';
  return null;
};

/**
 * Counts a resolution. `choices` holds each roll entry's counted choice; `delivered` the entries whose
 * ballot was proven delivered before the close (the only ones that can be deemed).
 */
export const tallyResolution = (input: {
  matter: Pick<Matter, 'matterId' | 'item'> & { threshold: Threshold };
  roll: readonly RollEntry[];
  choices: ReadonlyMap<string, ResolutionChoice>;
  delivered: ReadonlySet<string>;
  mode: NonReplyMode;
}): ResolutionResult => {
  const total = sumOf(input.roll);
  const cast: Record<ResolutionChoice, Sum> = { for: ZERO, against: ZERO, abstain: ZERO };
  const silent: RollEntry[] = [];
  for (const entry of input.roll) {
    const choice = input.choices.get(entry.voterId);
    if (choice === undefined) {
      if (input.delivered.has(entry.voterId) && entry.ownerIds.length > 0) silent.push(entry);
      continue;
    }
    cast[choice] = plus(cast[choice], { hundredths: areaToHundredths(entry.area), count: 1n });
  }
  const raw = resolutionFigures(cast, total, input.matter.threshold);
  const opinion = majorityOpinion(cast.for, cast.against);
  const deemedSum = opinion === null ? ZERO : sumOf(silent);
  const withDeemed = opinion === null ? cast : { ...cast, [opinion]: plus(cast[opinion], deemedSum) };
  const deemed = {
    ...resolutionFigures(withDeemed, total, input.matter.threshold),
    majorityOpinion: opinion,
    deemedOwners: figures(deemedSum),
  };
  const decidedBy = input.mode === 'counted-with-majority' ? 'deemed' : 'raw';
  return {
    matterId: input.matter.matterId,
    kind: 'resolution',
    item: input.matter.item,
    threshold: input.matter.threshold,
    totals: figures(total),
    raw,
    deemed,
    decidedBy,
    passed: decidedBy === 'deemed' ? deemed.passed : raw.passed,
  };
};

export interface CandidateResult {
  candidateId: string;
  name: string;
  approvals: Figures;
  /** Approved by more than half of the participating area and count. */
  majority: boolean;
}

export interface ElectionResult {
  matterId: string;
  kind: 'election';
  item: 3;
  seats: number;
  totals: Figures;
  participating: Figures;
  quorum: boolean;
  /** Candidates in ranking order: approving owners, then approving area, then id. */
  candidates: CandidateResult[];
  elected: string[];
  /** Candidates tied for the last seat(s): a run-off decides `runOffSeats` of them. */
  runOff: string[];
  runOffSeats: number;
  /** Seats no candidate won outright and no run-off fills (too few candidates with a majority). */
  unfilledSeats: number;
  decidedBy: 'raw';
  passed: boolean;
}

export const tallyElection = (input: {
  matter: Extract<Matter, { kind: 'election' }>;
  roll: readonly RollEntry[];
  choices: ReadonlyMap<string, ElectionChoice>;
}): ElectionResult => {
  const total = sumOf(input.roll);
  let participating = ZERO;
  const approvals = new Map<string, Sum>(
    input.matter.candidates.map((candidate) => [candidate.candidateId, ZERO]),
  );
  for (const entry of input.roll) {
    const choice = input.choices.get(entry.voterId);
    if (choice === undefined) continue;
    const weight = { hundredths: areaToHundredths(entry.area), count: 1n };
    participating = plus(participating, weight);
    for (const candidateId of new Set(choice.approve)) {
      const sum = approvals.get(candidateId);
      if (sum !== undefined) approvals.set(candidateId, plus(sum, weight));
    }
  }
  const quorum = quorumMet(participating, total);
  const ranked = input.matter.candidates
    .map((candidate) => {
      const sum = approvals.get(candidate.candidateId) ?? ZERO;
      return { candidate, sum, majority: thresholdMet(sum, participating, 'more-than-half') };
    })
    .sort(
      (a, b) =>
        Number(b.sum.count - a.sum.count) ||
        (b.sum.hundredths > a.sum.hundredths ? 1 : b.sum.hundredths < a.sum.hundredths ? -1 : 0) ||
        (a.candidate.candidateId < b.candidate.candidateId ? -1 : 1),
    );
  const seats = input.matter.seats;
  const eligible = quorum ? ranked.filter((entry) => entry.majority) : [];
  let elected = eligible;
  let runOff: typeof eligible = [];
  if (eligible.length > seats) {
    const last = eligible[seats - 1] as (typeof eligible)[number];
    const same = (entry: (typeof eligible)[number]) =>
      entry.sum.count === last.sum.count && entry.sum.hundredths === last.sum.hundredths;
    const first = eligible.findIndex(same);
    const tied = eligible.filter(same);
    if (first + tied.length > seats) {
      elected = eligible.slice(0, first);
      runOff = tied;
    } else {
      elected = eligible.slice(0, seats);
    }
  }
  const runOffSeats = runOff.length > 0 ? seats - elected.length : 0;
  return {
    matterId: input.matter.matterId,
    kind: 'election',
    item: 3,
    seats,
    totals: figures(total),
    participating: figures(participating),
    quorum,
    candidates: ranked.map(({ candidate, sum, majority }) => ({
      candidateId: candidate.candidateId,
      name: candidate.name,
      approvals: figures(sum),
      majority,
    })),
    elected: elected.map((entry) => entry.candidate.candidateId),
    runOff: runOff.map((entry) => entry.candidate.candidateId),
    runOffSeats,
    unfilledSeats: seats - elected.length - runOffSeats,
    decidedBy: 'raw',
    passed: quorum && elected.length > 0,
  };
};

export type MatterResult = ResolutionResult | ElectionResult;

export interface Conflict {
  voterId: string;
  matterId: string;
  /** The channel whose ballot counted under the area's rule. */
  counted: 'electronic' | 'paper';
  /** Whether the two ballots said the same. */
  same: boolean;
}

export interface MeetingTally {
  totals: Figures;
  matters: MatterResult[];
  conflicts: Conflict[];
  /** Receipts of the ballots that counted, one per roll entry and matter: the Merkle tree's leaves. */
  countedReceipts: string[];
  finalBallots: number;
}

const sameChoice = (a: Choice, b: Choice) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Counts a closed meeting from its frozen roll, every final ballot (one per entry, matter and channel)
 * and the owners' delivery records: per matter the counted ballot of each entry (the area's conflict
 * rule choosing between an electronic and a paper one), then the matter's result. A delivery counts if
 * it was made before voting closed; an entry is delivered if any of its owners was.
 */
export const tallyMeeting = (input: {
  matters: readonly Matter[];
  roll: readonly RollEntry[];
  ballots: readonly FinalBallot[];
  deliveries: ReadonlyMap<string, string>;
  votingClosesAt: string;
  mode: NonReplyMode;
  conflictRule: ConflictRule;
}): MeetingTally => {
  const onRoll = new Set(input.roll.map((entry) => entry.voterId));
  const closes = Date.parse(input.votingClosesAt);
  const delivered = new Set(
    input.roll
      .filter((entry) =>
        entry.ownerIds.some((ownerId) => {
          const at = input.deliveries.get(ownerId);
          return at !== undefined && Date.parse(at) < closes;
        }),
      )
      .map((entry) => entry.voterId),
  );
  const byEntryAndMatter = new Map<string, FinalBallot[]>();
  for (const ballot of input.ballots) {
    if (!onRoll.has(ballot.voterId)) continue;
    const key = `${ballot.matterId}\n${ballot.voterId}`;
    byEntryAndMatter.set(key, [...(byEntryAndMatter.get(key) ?? []), ballot]);
  }
  const counted = new Map<string, Map<string, Choice>>(
    input.matters.map((matter) => [matter.matterId, new Map()]),
  );
  const conflicts: Conflict[] = [];
  const countedReceipts: string[] = [];
  for (const ballots of byEntryAndMatter.values()) {
    const choice = countedBallot(ballots, input.conflictRule);
    const forMatter = counted.get((ballots[0] as FinalBallot).matterId);
    if (choice === undefined || forMatter === undefined) continue;
    forMatter.set(choice.counted.voterId, choice.counted.choice);
    countedReceipts.push(choice.counted.receipt);
    if (choice.conflict) {
      const [a, b] = ballots as [FinalBallot, FinalBallot];
      conflicts.push({
        voterId: choice.counted.voterId,
        matterId: choice.counted.matterId,
        counted: choice.counted.channel,
        same: sameChoice(a.choice, b.choice),
      });
    }
  }
  conflicts.sort((a, b) => (a.matterId + a.voterId < b.matterId + b.voterId ? -1 : 1));
  const matters = input.matters.map((matter): MatterResult => {
    const choices = counted.get(matter.matterId) ?? new Map<string, Choice>();
    if (matter.kind === 'election')
      return tallyElection({ matter, roll: input.roll, choices: choices as Map<string, ElectionChoice> });
    return tallyResolution({
      matter,
      roll: input.roll,
      choices: choices as Map<string, ResolutionChoice>,
      delivered,
      mode: input.mode,
    });
  });
  return {
    totals: figures(sumOf(input.roll)),
    matters,
    conflicts,
    countedReceipts: countedReceipts.sort(),
    finalBallots: input.ballots.length,
  };
};

export interface Progress {
  reached: Figures;
  totals: Figures;
  /** The least area and count that meet the threshold. */
  required: Figures;
  met: boolean;
}

/** Progress of `part` toward num/den of the totals in both area and count (≥, "以上"). */
const progressToward = (part: Sum, total: Sum, num: bigint, den: bigint): Progress => ({
  reached: figures(part),
  totals: figures(total),
  required: figures({ hundredths: needed(total.hundredths, num, den), count: needed(total.count, num, den) }),
  met:
    total.count > 0n &&
    atLeast(part.hundredths, total.hundredths, num, den) &&
    atLeast(part.count, total.count, num, den),
});

/**
 * How far the owners who signed a petition for an extraordinary meeting are from the 20 % of the area
 * and 20 % of the owner count that can require one. A roll entry has signed if any of its owners has.
 */
export const petitionProgress = (roll: readonly RollEntry[], signers: ReadonlySet<string>): Progress =>
  progressToward(
    sumOf(roll.filter((entry) => entry.ownerIds.some((ownerId) => signers.has(ownerId)))),
    sumOf(roll),
    1n,
    5n,
  );

/**
 * Live turnout on a matter while voting is open: who has taken part against the quorum (2/3 of the area
 * and of the count). Participation only: how anyone voted stays unknown until the close.
 */
export const turnoutOf = (roll: readonly RollEntry[], participants: ReadonlySet<string>): Progress =>
  progressToward(sumOf(roll.filter((entry) => participants.has(entry.voterId))), sumOf(roll), 2n, 3n);
