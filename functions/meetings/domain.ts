/**
 * Owners' general meetings (业主大会), the rules that need no I/O: what a meeting, its matters, its rules
 * of procedure and its ballots look like; who is on the voter roll and how many owners they count for;
 * when a meeting may be noticed, opened, voted in and closed; who may do what.
 *
 * The law, as DESIGN.md sets it out (PRC Civil Code art. 278, the Supreme People's Court's
 * interpretation on building-division ownership art. 8–9, the Property Management Regulation art. 14):
 * - a unit counts as one owner; several units of one buyer count once; all of the developer's unsold or
 *   undelivered units together count once. A buyer is the set of people on a unit's title, so a unit two
 *   spouses own together is one vote, and their two jointly owned units are one owner;
 * - a meeting is noticed at least 15 days before voting opens (an area's rules may say more);
 * - items 6–8 of art. 278 need ≥ 3/4, the others > 1/2 (see tally.ts).
 */
import * as z from 'zod';
import { inTenancy } from '../registry/domain.js';
import type { Caller, Role } from '../shared/auth.js';
import { type Area, areaToHundredths, formatArea } from '../shared/decimal.js';

export const slugSchema = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'Lower-case letters, digits and hyphens, 2–63 characters');
const text = (max: number) => z.string().trim().min(1).max(max);
const instant = z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString());

/** Civil Code art. 278's matters; the item decides the threshold (items 6–8: three quarters). */
export const ART_278_ITEMS = {
  1: 'rules of procedure',
  2: 'management covenant',
  3: "electing or replacing the owners' committee",
  4: 'hiring or dismissing the property company',
  5: 'using the maintenance funds',
  6: 'raising the maintenance funds',
  7: 'rebuilding buildings and their ancillary facilities',
  8: 'changing the use of common parts or running business on them',
  9: 'other major matters of common management',
} as const;
export type Art278Item = keyof typeof ART_278_ITEMS;
export type Threshold = 'more-than-half' | 'three-quarters';
export const thresholdOf = (item: Art278Item): Threshold =>
  item === 6 || item === 7 || item === 8 ? 'three-quarters' : 'more-than-half';

/** The national minimum: a general meeting is noticed at least 15 days before it is held. */
export const STATUTORY_NOTICE_DAYS = 15;
const DAY_MS = 86_400_000;

export const MEETING_FORMATS = ['collective-meeting', 'written-consultation'] as const;
export const NON_REPLY_MODES = ['not-counted', 'counted-with-majority'] as const;
export type NonReplyMode = (typeof NON_REPLY_MODES)[number];
/** Which of an owner's two final ballots on a matter counts when both an electronic and a paper one exist. */
export const CONFLICT_RULES = ['paper-prevails', 'electronic-prevails', 'latest-prevails'] as const;
export type ConflictRule = (typeof CONFLICT_RULES)[number];
export const DELIVERY_CHANNELS = ['app-first-login', 'sms', 'paper', 'public-notice'] as const;
export type DeliveryChannel = (typeof DELIVERY_CHANNELS)[number];
export const BALLOT_CHANNELS = ['electronic', 'paper'] as const;
export type BallotChannel = (typeof BALLOT_CHANNELS)[number];

/** An area's rules of procedure as far as meetings are concerned (adopted under art. 278 item 1). */
export const meetingRulesSchema = z
  .object({
    noticeDays: z
      .number()
      .int()
      .min(STATUTORY_NOTICE_DAYS, `noticeDays must be at least the statutory ${STATUTORY_NOTICE_DAYS} days`)
      .max(90),
    nonReplyMode: z.enum(NON_REPLY_MODES),
    proxyCapPerHolder: z.number().int().min(1).max(20),
    conflictRule: z.enum(CONFLICT_RULES),
    adoptedOn: z.iso.date().optional(),
    adoptedByMeetingId: slugSchema.optional(),
  })
  .strict();
export type MeetingRules = z.infer<typeof meetingRulesSchema>;

/**
 * What an area without recorded rules gets: the statutory notice, non-replies not counted (the law's
 * default; deeming needs a clause in the area's own rules), a paper ballot prevailing over an
 * electronic one (the signed paper is the stronger proof), and at most three proxies per holder.
 */
export const DEFAULT_MEETING_RULES: MeetingRules = {
  noticeDays: STATUTORY_NOTICE_DAYS,
  nonReplyMode: 'not-counted',
  proxyCapPerHolder: 3,
  conflictRule: 'paper-prevails',
};

const candidateSchema = z
  .object({ candidateId: slugSchema, name: text(50), ownerId: z.string().min(3).max(200).optional() })
  .strict();

const resolutionSchema = z
  .object({
    matterId: slugSchema,
    kind: z.literal('resolution'),
    item: z.literal([1, 2, 3, 4, 5, 6, 7, 8, 9], { error: 'item must be an art. 278 item, 1 to 9' }),
    title: text(200),
    description: z.string().trim().max(4000).optional(),
  })
  .strict();

const electionSchema = z
  .object({
    matterId: slugSchema,
    kind: z.literal('election'),
    item: z.literal(3, { error: 'An election is art. 278 item 3 (electing the committee)' }),
    title: text(200),
    description: z.string().trim().max(4000).optional(),
    seats: z.number().int().min(1).max(15),
    candidates: z.array(candidateSchema).min(1).max(50),
  })
  .strict()
  .superRefine((matter, ctx) => {
    const seen = new Set<string>();
    matter.candidates.forEach((candidate, index) => {
      if (seen.has(candidate.candidateId))
        ctx.addIssue({
          code: 'custom',
          path: ['candidates', index, 'candidateId'],
          message: 'Duplicate candidate',
        });
      seen.add(candidate.candidateId);
    });
  });

/** A matter as proposed: a resolution on one art. 278 item, or an election of several committee seats. */
export const matterSchema = z.discriminatedUnion('kind', [resolutionSchema, electionSchema]);
export type MatterInput = z.output<typeof matterSchema>;

/** Who opened a matter on behalf of another feature, and how it wants to be told the result. */
export const matterRequestSchema = z
  .object({
    /** A Step Functions task token: SendTaskSuccess with the result when it is published. */
    taskToken: z.string().min(1).max(2048).optional(),
    requestedBy: z
      .object({ feature: slugSchema, reference: z.string().trim().min(1).max(200) })
      .strict()
      .optional(),
  })
  .strict();

export const addMatterSchema = z.object({ matter: matterSchema }).extend(matterRequestSchema.shape).strict();

export const MAX_MATTERS = 30;
const MIN_WINDOW_MS = 60_000;
const MAX_WINDOW_MS = 90 * DAY_MS;

export const createMeetingSchema = z
  .object({
    meetingId: slugSchema,
    title: text(200),
    format: z.enum(MEETING_FORMATS),
    venue: z.string().trim().min(1).max(200).optional(),
    votingOpensAt: instant,
    votingClosesAt: instant,
    petitionId: slugSchema.optional(),
    matters: z.array(matterSchema).min(1).max(MAX_MATTERS),
  })
  .strict()
  .superRefine((meeting, ctx) => {
    const window = Date.parse(meeting.votingClosesAt) - Date.parse(meeting.votingOpensAt);
    if (window < MIN_WINDOW_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['votingClosesAt'],
        message: 'votingClosesAt must be at least a minute after votingOpensAt',
      });
    if (window > MAX_WINDOW_MS)
      ctx.addIssue({
        code: 'custom',
        path: ['votingClosesAt'],
        message: 'A voting window lasts at most 90 days',
      });
    if (meeting.format === 'collective-meeting' && meeting.venue === undefined)
      ctx.addIssue({ code: 'custom', path: ['venue'], message: 'A collective meeting needs a venue' });
    const seen = new Set<string>();
    meeting.matters.forEach((matter, index) => {
      if (seen.has(matter.matterId))
        ctx.addIssue({ code: 'custom', path: ['matters', index, 'matterId'], message: 'Duplicate matterId' });
      seen.add(matter.matterId);
    });
  });
export type CreateMeetingInput = z.output<typeof createMeetingSchema>;

/** A matter as the meeting keeps it. */
export type Matter = MatterInput & {
  threshold: Threshold;
  addedAt: string;
  taskToken?: string;
  requestedBy?: { feature: string; reference: string };
};

export type MeetingStatus = 'noticed' | 'open' | 'closing' | 'closed';

export interface FrozenRoll {
  frozenAt: string;
  totalArea: Area;
  totalCount: number;
}

export interface Meeting {
  meetingId: string;
  subDistrictId: string;
  compoundId?: string;
  areaId: string;
  title: string;
  format: (typeof MEETING_FORMATS)[number];
  venue?: string;
  kind: 'ordinary' | 'extraordinary';
  petitionId?: string;
  rules: MeetingRules;
  noticePostedAt: string;
  noticedBy: string;
  votingOpensAt: string;
  votingClosesAt: string;
  matters: Matter[];
  status: MeetingStatus;
  roll?: FrozenRoll;
  closedAt?: string;
  merkleRoot?: string;
  version: number;
}

/** Why voting may not open at `opensAt` for a notice posted at `postedAt`, if it may not. */
export const noticeShortfall = (
  postedAt: string,
  opensAt: string,
  noticeDays: number,
): string | undefined => {
  const earliest = Date.parse(postedAt) + noticeDays * DAY_MS;
  if (Date.parse(opensAt) >= earliest) return undefined;
  return `Voting may open ${noticeDays} days after the notice at the earliest (${new Date(earliest).toISOString()}): the area's rules of procedure require ${noticeDays} days' notice`;
};

/** Notices a meeting: the notice is posted now, so `now` and the area's rules decide the earliest opening. */
export const noticeMeeting = (
  input: CreateMeetingInput,
  place: { subDistrictId: string; compoundId?: string; areaId: string },
  rules: MeetingRules,
  by: string,
  now: string,
): { ok: true; meeting: Meeting } | { ok: false; pointer: string; detail: string } => {
  const shortfall = noticeShortfall(now, input.votingOpensAt, rules.noticeDays);
  if (shortfall !== undefined) return { ok: false, pointer: '/body/votingOpensAt', detail: shortfall };
  const { matters, petitionId, ...rest } = input;
  return {
    ok: true,
    meeting: {
      ...rest,
      ...place,
      kind: petitionId === undefined ? 'ordinary' : 'extraordinary',
      ...(petitionId === undefined ? {} : { petitionId }),
      rules,
      noticePostedAt: now,
      noticedBy: by,
      matters: matters.map((matter) => ({ ...matter, threshold: thresholdOf(matter.item), addedAt: now })),
      status: 'noticed',
      version: 1,
    },
  };
};

/**
 * Adds a matter to a noticed meeting. A matter added later still needs its full notice period before
 * voting opens, so it can only be added while that much time is left.
 */
export const addMatter = (
  meeting: Meeting,
  matter: MatterInput,
  request: z.output<typeof matterRequestSchema>,
  now: string,
):
  | { ok: true; meeting: Meeting; matter: Matter }
  | { ok: false; status: 400 | 409; pointer: string; detail: string } => {
  if (meeting.status !== 'noticed')
    return {
      ok: false,
      status: 409,
      pointer: '/params/meetingId',
      detail: 'Voting has opened: no matter can be added',
    };
  const shortfall = noticeShortfall(now, meeting.votingOpensAt, meeting.rules.noticeDays);
  if (shortfall !== undefined)
    return {
      ok: false,
      status: 409,
      pointer: '/body/matter',
      detail: `Too late to add a matter to this meeting: ${shortfall}`,
    };
  if (meeting.matters.some((existing) => existing.matterId === matter.matterId))
    return {
      ok: false,
      status: 409,
      pointer: '/body/matter/matterId',
      detail: `Matter ${matter.matterId} exists`,
    };
  if (meeting.matters.length >= MAX_MATTERS)
    return {
      ok: false,
      status: 400,
      pointer: '/body/matter',
      detail: `A meeting holds at most ${MAX_MATTERS} matters`,
    };
  const added: Matter = { ...matter, threshold: thresholdOf(matter.item), addedAt: now, ...request };
  return { ok: true, meeting: { ...meeting, matters: [...meeting.matters, added] }, matter: added };
};

// ---------------------------------------------------------------------------------------------------
// The voter roll

/** A unit as the registry holds it, as far as votes are concerned. */
export interface RollUnit {
  unitId: string;
  area: Area;
  developerHeld: boolean;
  ownerIds: readonly string[];
}

/** One entry of the roll: whoever counts as one owner, with every unit that counts with them. */
export interface Voter {
  voterId: string;
  /** Who may cast this voter's ballot (every co-owner of the title); empty for a unit with no registered owner. */
  ownerIds: string[];
  unitIds: string[];
  /** The exact total exclusive area of the units. */
  area: Area;
  developer: boolean;
}

export const DEVELOPER_VOTER_ID = 'developer';

/** The voter a unit counts with: the developer for every developer-held unit, else the set of its title holders. */
export const voterIdOf = (unit: RollUnit): string => {
  if (unit.developerHeld) return DEVELOPER_VOTER_ID;
  if (unit.ownerIds.length === 0) return `unit:${unit.unitId}`;
  return [...new Set(unit.ownerIds)].sort().join('+');
};

/**
 * The roll of an area: one entry per counted owner, with the exact sums. Units of the same buyer (the
 * same set of title holders) merge into one entry, all developer-held units into one; a unit with no
 * registered owner still counts (the law counts units), but nobody can cast its ballot. Entries are in
 * voterId order, units in unitId order, so the same roster always gives the same roll.
 */
export const voterRoll = (
  units: readonly RollUnit[],
): { voters: Voter[]; totalArea: Area; totalCount: number } => {
  const byVoter = new Map<
    string,
    { ownerIds: Set<string>; unitIds: string[]; hundredths: bigint; developer: boolean }
  >();
  let total = 0n;
  for (const unit of units) {
    const voterId = voterIdOf(unit);
    const entry = byVoter.get(voterId) ?? {
      ownerIds: new Set<string>(),
      unitIds: [],
      hundredths: 0n,
      developer: unit.developerHeld,
    };
    for (const ownerId of unit.ownerIds) entry.ownerIds.add(ownerId);
    entry.unitIds.push(unit.unitId);
    const hundredths = areaToHundredths(unit.area);
    entry.hundredths += hundredths;
    total += hundredths;
    byVoter.set(voterId, entry);
  }
  const voters = [...byVoter.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([voterId, entry]) => ({
      voterId,
      ownerIds: [...entry.ownerIds].sort(),
      unitIds: [...entry.unitIds].sort(),
      area: formatArea(entry.hundredths),
      developer: entry.developer,
    }));
  return { voters, totalArea: formatArea(total), totalCount: voters.length };
};

/** The roll entries an owner may cast for: every entry whose title they are on. */
export const entriesOf = (voters: readonly Voter[], ownerId: string | undefined): Voter[] =>
  ownerId === undefined ? [] : voters.filter((voter) => voter.ownerIds.includes(ownerId));

// ---------------------------------------------------------------------------------------------------
// Ballots

export const RESOLUTION_CHOICES = ['for', 'against', 'abstain'] as const;
export type ResolutionChoice = (typeof RESOLUTION_CHOICES)[number];
/** An approval ballot: up to `seats` candidates; none at all is an abstention that still takes part. */
export interface ElectionChoice {
  approve: string[];
}
export type Choice = ResolutionChoice | ElectionChoice;

const choiceSchema = z.union([
  z.enum(RESOLUTION_CHOICES, { error: 'choice must be for, against or abstain' }),
  z.object({ approve: z.array(slugSchema).max(50) }).strict(),
]);

export const choicesSchema = z
  .array(z.object({ matterId: slugSchema, choice: choiceSchema }).strict())
  .min(1)
  .max(MAX_MATTERS)
  .superRefine((choices, ctx) => {
    const seen = new Set<string>();
    choices.forEach((entry, index) => {
      if (seen.has(entry.matterId))
        ctx.addIssue({ code: 'custom', path: [index, 'matterId'], message: 'One choice per matter' });
      seen.add(entry.matterId);
    });
  });
export type Choices = z.output<typeof choicesSchema>;

export const castBallotSchema = z
  .object({
    /** Which roll entry the ballot is for; needed only when the caller may cast for several. */
    voterId: z.string().min(1).max(600).optional(),
    choices: choicesSchema,
  })
  .strict();

export const paperBallotSchema = z
  .object({
    voterId: z.string().min(1).max(600),
    choices: choicesSchema,
    scanRef: z.string({ error: 'A paper ballot needs the reference of its scan' }).trim().min(1).max(300),
    /** When the signed paper was received; defaults to when it is entered. */
    receivedAt: instant.optional(),
    /** The written authorisation of the proxy who signed it, if a proxy did. */
    proxyHolderOwnerId: z.string().min(3).max(200).optional(),
  })
  .strict();

/**
 * An owner's written authorisation of a proxy, registered by the committee that checked the paper. The
 * holder casts in the app with their own owner account, for every roll entry the grantor is on.
 */
export const registerProxySchema = z
  .object({
    grantorOwnerId: z.string().min(3).max(200),
    holderOwnerId: z.string().min(3).max(200),
    scanRef: z
      .string({ error: 'A proxy needs the reference of its written authorisation' })
      .trim()
      .min(1)
      .max(300),
  })
  .strict();

export const recordDeliverySchema = z
  .object({
    ownerId: z.string().min(3).max(200),
    channel: z.enum(DELIVERY_CHANNELS),
    deliveredAt: instant.optional(),
    evidenceRef: z.string().trim().min(1).max(300).optional(),
  })
  .strict()
  .refine((delivery) => delivery.channel === 'app-first-login' || delivery.evidenceRef !== undefined, {
    message: 'A delivery by SMS, paper or public notice needs its evidence reference',
    path: ['evidenceRef'],
  });

/** A field of a request that is wrong, as the HTTP layer reports it. */
export interface Problem {
  pointer: string;
  detail: string;
}

/** Checks every choice against the meeting's matters: a known matter, a choice of its kind, valid candidates. */
export const checkChoices = (
  meeting: Pick<Meeting, 'matters'>,
  choices: Choices,
  at = '/body/choices',
): Problem[] => {
  const problems: Problem[] = [];
  choices.forEach(({ matterId, choice }, index) => {
    const matter = meeting.matters.find((candidate) => candidate.matterId === matterId);
    if (matter === undefined) {
      problems.push({ pointer: `${at}/${index}/matterId`, detail: `This meeting has no matter ${matterId}` });
      return;
    }
    if (matter.kind === 'election') {
      if (typeof choice === 'string') {
        problems.push({
          pointer: `${at}/${index}/choice`,
          detail: 'An election takes { approve: [candidateId, …] } (an empty list abstains)',
        });
        return;
      }
      if (choice.approve.length > matter.seats)
        problems.push({
          pointer: `${at}/${index}/choice/approve`,
          detail: `Approve at most ${matter.seats} candidate(s), one per seat`,
        });
      if (new Set(choice.approve).size !== choice.approve.length)
        problems.push({ pointer: `${at}/${index}/choice/approve`, detail: 'A candidate is approved once' });
      choice.approve.forEach((candidateId, k) => {
        if (!matter.candidates.some((candidate) => candidate.candidateId === candidateId))
          problems.push({
            pointer: `${at}/${index}/choice/approve/${k}`,
            detail: `${candidateId} is not a candidate of ${matterId}`,
          });
      });
    } else if (typeof choice !== 'string') {
      problems.push({ pointer: `${at}/${index}/choice`, detail: 'choice must be for, against or abstain' });
    }
  });
  return problems;
};

/** Why a ballot cast at `now` is refused, if it is: outside the window, or the roll not yet frozen. */
export const castingRefusal = (meeting: Meeting, now: string): string | undefined => {
  const at = Date.parse(now);
  if (at < Date.parse(meeting.votingOpensAt)) return `Voting opens at ${meeting.votingOpensAt}`;
  if (at >= Date.parse(meeting.votingClosesAt) || meeting.status === 'closing' || meeting.status === 'closed')
    return `Voting closed at ${meeting.votingClosesAt}`;
  if (meeting.status !== 'open') return 'The voter roll is being frozen; try again in a few seconds';
  return undefined;
};

/** One final ballot of a roll entry on a matter, through one channel (the last one cast counts). */
export interface FinalBallot {
  voterId: string;
  matterId: string;
  channel: BallotChannel;
  choice: Choice;
  castAt: string;
  receipt: string;
}

/**
 * The ballot that counts for a roll entry on a matter: its only one, or, when an electronic and a paper
 * ballot both exist, the one the area's rule prefers; `conflict` flags that both existed.
 */
export const countedBallot = <B extends Pick<FinalBallot, 'channel' | 'castAt'>>(
  ballots: readonly B[],
  rule: ConflictRule,
): { counted: B; conflict: boolean } | undefined => {
  const electronic = ballots.find((ballot) => ballot.channel === 'electronic');
  const paper = ballots.find((ballot) => ballot.channel === 'paper');
  if (electronic === undefined || paper === undefined) {
    const only = electronic ?? paper;
    return only === undefined ? undefined : { counted: only, conflict: false };
  }
  const counted =
    rule === 'paper-prevails'
      ? paper
      : rule === 'electronic-prevails'
        ? electronic
        : Date.parse(paper.castAt) >= Date.parse(electronic.castAt)
          ? paper
          : electronic;
  return { counted, conflict: true };
};

// ---------------------------------------------------------------------------------------------------
// Who may do what

/** The roles allowed each kind of action on meetings (the route catalogue takes its roles from here). */
export const MEETING_ROLES = {
  /** Rules of procedure, notices, matters, deliveries, proxies, paper ballots. */
  organise: ['street-office', 'committee-member'],
  /** The meeting, its matters, turnout and the published result. */
  read: ['street-office', 'committee-member', 'owner'],
  /** Electronic ballots, one's own ballots, eligibility. */
  vote: ['owner'],
  /** Named ballots, for disputes; every such read is recorded. */
  audit: ['street-office', 'committee-member'],
  /** Petitions for an extraordinary meeting. */
  petition: ['owner', 'committee-member', 'street-office'],
} as const satisfies Record<string, readonly Role[]>;

/** A meeting (or petition) is visible to whoever can see its property area. */
export const canSeeArea = (
  caller: Caller,
  place: { subDistrictId: string; compoundId?: string; areaId: string },
): boolean => inTenancy(caller, { kind: 'area', id: place.areaId, ...place });
