/**
 * The meetings feature's use cases, shared by its API and timer handlers: load meetings in the caller's
 * tenancy, add matters, freeze the voter roll when voting opens, take electronic, proxy and paper
 * ballots, record deliveries and proxies, read results, petitions. Noticing a meeting (which schedules
 * its timers) is in notice.ts, closing and tallying (which answers workflows) in close.ts, so that the
 * functions that do neither carry no Scheduler or Step Functions client.
 *
 * `openMatter` and `getMatterResult` are the interface other features use (secretary pay, covenant
 * adoption, the area merger): a matter may carry a Step Functions task token, and when the result is
 * published the token gets SendTaskSuccess (the matter passed) or SendTaskFailure with error
 * `MatterNotPassed` (it did not), the result as output or cause.
 */
import { createHash, randomUUID } from 'node:crypto';
import type * as z from 'zod';
import { inTenancy } from '../registry/domain.js';
import { loadVisible } from '../registry/service.js';
import { getRecord, listAllRecords, parentKeyOf, type RegistryRecord } from '../registry/store.js';
import type { Caller } from '../shared/auth.js';
import type { Area } from '../shared/decimal.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, problem } from '../shared/errors.js';
import {
  addMatter,
  canSeeArea,
  type castBallotSchema,
  castingRefusal,
  checkChoices,
  DEFAULT_MEETING_RULES,
  entriesOf,
  type MatterInput,
  type MeetingRules,
  type matterRequestSchema,
  type paperBallotSchema,
  type RollUnit,
  type recordDeliverySchema,
  type registerProxySchema,
  type Voter,
  voterRoll,
} from './domain.js';
import { newNonce, receiptOf } from './receipts.js';
import {
  getBallotReads,
  getEntryBallots,
  getMeeting,
  getMeetingRules,
  getOwnerEntries,
  getPetition,
  getProxy,
  getResult,
  getRollEntry,
  getRollPage,
  getSigners,
  listMeetings,
  listPetitions,
  MeetingNotOpenError,
  markPetitionReached,
  type Petition,
  putBallotRead,
  putBallots,
  putDelivery,
  putMeetingRules,
  putProxy,
  putRoll,
  putSignature,
  replaceMeeting,
  SHARDS,
  type StoredBallot,
  type StoredMeeting,
  type StoredVoter,
  createPetition as storePetition,
  WriteConflictError,
} from './store.js';
import { type MatterResult, petitionProgress } from './tally.js';

export const digestOf = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('hex');

// ---------------------------------------------------------------------------------------------------
// Loading within the caller's tenancy

/** A meeting the caller may see, or 404 — whether it does not exist or lies outside the tenancy. */
export const loadMeeting = async (caller: Caller, meetingId: string): Promise<StoredMeeting> => {
  const meeting =
    caller.subDistrictId === undefined ? undefined : await getMeeting(caller.subDistrictId, meetingId);
  if (meeting === undefined || !canSeeArea(caller, meeting))
    throw new NotFoundError(`No meeting ${meetingId}.`);
  return meeting;
};

/** What callers see of a meeting: everything but the task tokens other features handed in. */
export const presentMeeting = ({ freezeId: _freezeId, notified: _notified, ...meeting }: StoredMeeting) => ({
  ...meeting,
  matters: meeting.matters.map(({ taskToken, ...matter }) => ({
    ...matter,
    ...(taskToken === undefined ? {} : { notifiesWorkflow: true }),
  })),
});

/** The area's rules of procedure, or the defaults when it has recorded none. */
export const rulesOf = async (subDistrictId: string, areaId: string): Promise<MeetingRules> =>
  (await getMeetingRules(subDistrictId, areaId)) ?? DEFAULT_MEETING_RULES;

export const setRules = async (caller: Caller, areaId: string, rules: MeetingRules) => {
  const area = await loadVisible(caller, 'area', areaId);
  await putMeetingRules(area.subDistrictId, area.id, rules, caller.sub);
  return { areaId: area.id, ...rules };
};

export const readRules = async (caller: Caller, areaId: string) => {
  const area = await loadVisible(caller, 'area', areaId);
  const stored = await getMeetingRules(area.subDistrictId, area.id);
  return { areaId: area.id, ...(stored ?? DEFAULT_MEETING_RULES), recorded: stored !== undefined };
};

/** The registry's units of an area, as the roll needs them. */
export const unitsOfArea = async (subDistrictId: string, areaId: string): Promise<RollUnit[]> => {
  const units = await listAllRecords<{ area: Area; developerHeld?: boolean }>(
    parentKeyOf(subDistrictId, { kind: 'area', id: areaId }, 'unit'),
  );
  return units.map(rollUnitOf);
};
const rollUnitOf = (unit: RegistryRecord<{ area: Area; developerHeld?: boolean }>): RollUnit => ({
  unitId: unit.id,
  area: unit.data.area,
  developerHeld: unit.data.developerHeld === true,
  ownerIds: unit.ownerIds ?? [],
});

/** An owner registered in the meeting's area, or undefined. */
const ownerInArea = async (meeting: StoredMeeting, ownerId: string) => {
  const owner = await getRecord<{ unitIds?: string[]; name?: string }>(
    meeting.subDistrictId,
    'owner',
    ownerId,
  );
  return owner !== undefined && owner.areaId === meeting.areaId ? owner : undefined;
};

// ---------------------------------------------------------------------------------------------------
// Notice and matters

type Page = { limit: number; startKey?: Record<string, unknown> };

export const meetingsOfArea = async (caller: Caller, areaId: string, page: Page) => {
  const area = await loadVisible(caller, 'area', areaId);
  return listMeetings(area.subDistrictId, area.id, { limit: page.limit, exclusiveStartKey: page.startKey });
};

export const petitionsOfArea = async (caller: Caller, areaId: string, page: Page) => {
  const area = await loadVisible(caller, 'area', areaId);
  return listPetitions(area.subDistrictId, area.id, { limit: page.limit, exclusiveStartKey: page.startKey });
};

export type MatterRequest = z.output<typeof matterRequestSchema>;

/**
 * Opens a matter in a noticed meeting, for a person (through the API) or another feature (in-process):
 * refused once too little time is left before voting for the matter's own notice period.
 */
export const openMatter = async (
  subDistrictId: string,
  meetingId: string,
  matter: MatterInput,
  request: MatterRequest,
  now: string,
) => {
  for (let attempt = 1; ; attempt++) {
    const meeting = await getMeeting(subDistrictId, meetingId);
    if (meeting === undefined) throw new NotFoundError(`No meeting ${meetingId}.`);
    const added = addMatter(meeting, matter, request, now);
    if (!added.ok) {
      const errors = problem(added.pointer, added.detail);
      throw added.status === 409
        ? new ConflictError(added.detail, errors)
        : new BadRequestError(added.detail, errors);
    }
    try {
      await replaceMeeting(added.meeting, { version: meeting.version, status: 'noticed' });
      return { meeting: added.meeting, matter: added.matter };
    } catch (error) {
      if (!(error instanceof WriteConflictError) || attempt >= 5) throw error;
    }
  }
};

/** A matter's published result, for the feature that opened it (undefined until the close). */
export const getMatterResult = async (
  subDistrictId: string,
  meetingId: string,
  matterId: string,
): Promise<MatterResult | undefined> => {
  const published = await getResult({ subDistrictId, meetingId });
  const matters = (published?.result.matters ?? []) as MatterResult[];
  return matters.find((matter) => matter.matterId === matterId);
};

/**
 * A matter of a closed meeting of the area that the owners passed, as another feature cites it (a
 * secretary post and its pay cap, a covenant's adoption): 400 for a meeting of another area or an
 * unknown matter, 409 while no result is published or when the owners did not pass it.
 */
export const passedMatterOf = async (
  subDistrictId: string,
  areaId: string,
  meetingId: string,
  matterId: string,
) => {
  const meeting = await getMeeting(subDistrictId, meetingId);
  if (meeting === undefined || meeting.areaId !== areaId)
    throw new BadRequestError(
      `No meeting ${meetingId} in area ${areaId}.`,
      problem('/body/meetingId', 'Unknown meeting'),
    );
  if (!meeting.matters.some((matter) => matter.matterId === matterId))
    throw new BadRequestError(
      `Meeting ${meetingId} has no matter ${matterId}.`,
      problem('/body/matterId', 'Unknown matter'),
    );
  const result = await getMatterResult(subDistrictId, meetingId, matterId);
  if (result === undefined || meeting.closedAt === undefined)
    throw new ConflictError(`Matter ${matterId} has no published result yet.`);
  if (!result.passed) throw new ConflictError(`The owners did not pass matter ${matterId}.`);
  return { meeting, result, closedAt: meeting.closedAt };
};

// ---------------------------------------------------------------------------------------------------
// Opening: the roll is frozen

/**
 * Freezes the roll from the registry as it is now and opens voting. Idempotent: a meeting already open
 * is left alone; a freeze that did not finish leaves entries under a freezeId the meeting never takes,
 * so the next attempt's roll is the only one read. Refuses to act before the opening time.
 */
export const openVoting = async (subDistrictId: string, meetingId: string, now: string) => {
  const meeting = await getMeeting(subDistrictId, meetingId);
  if (meeting === undefined || meeting.status !== 'noticed') return meeting;
  if (Date.parse(now) < Date.parse(meeting.votingOpensAt)) return meeting;
  const roll = voterRoll(await unitsOfArea(subDistrictId, meeting.areaId));
  const freezeId = randomUUID();
  await putRoll(subDistrictId, meetingId, roll.voters, freezeId);
  try {
    return await replaceMeeting(
      {
        ...meeting,
        status: 'open',
        freezeId,
        roll: { frozenAt: now, totalArea: roll.totalArea, totalCount: roll.totalCount },
      },
      { version: meeting.version, status: 'noticed' },
    );
  } catch (error) {
    if (error instanceof WriteConflictError) return getMeeting(subDistrictId, meetingId);
    throw error;
  }
};

/** Presented roll entry: who counts, for which units and area. */
const presentEntry = (entry: StoredVoter | Voter) => {
  const { freezeId: _freezeId, ...rest } = entry as StoredVoter;
  return { ...rest, count: 1 };
};

/**
 * An owner's eligibility: their roll entries once the roll is frozen; before, what their entries will be
 * if the registry stays as it is (from their units, and the title holders of each).
 */
export const eligibility = async (caller: Caller, meetingId: string) => {
  const meeting = await loadMeeting(caller, meetingId);
  const ownerId = caller.ownerId;
  if (meeting.roll !== undefined) {
    const entries = ownerId === undefined ? [] : await getOwnerEntries(meeting, ownerId);
    return {
      meetingId,
      frozen: true,
      eligible: entries.length > 0,
      entries: entries.map(presentEntry),
      roll: meeting.roll,
    };
  }
  const owner = ownerId === undefined ? undefined : await ownerInArea(meeting, ownerId);
  const unitIds = owner?.data.unitIds ?? [];
  const units = (
    await Promise.all(
      unitIds.map((unitId) =>
        getRecord<{ area: Area; developerHeld?: boolean }>(meeting.subDistrictId, 'unit', unitId),
      ),
    )
  ).filter(
    (unit): unit is RegistryRecord<{ area: Area; developerHeld?: boolean }> =>
      unit?.areaId === meeting.areaId,
  );
  const entries = entriesOf(voterRoll(units.map(rollUnitOf)).voters, ownerId);
  return {
    meetingId,
    frozen: false,
    eligible: entries.length > 0,
    entries: entries.map(presentEntry),
    note: `Provisional: the roll is frozen from the registry when voting opens (${meeting.votingOpensAt}).`,
  };
};

export const rollPage = async (
  caller: Caller,
  meetingId: string,
  page: { limit: number; shard: number; key?: Record<string, string> },
) => {
  const meeting = await loadMeeting(caller, meetingId);
  if (meeting.roll === undefined)
    throw new ConflictError(`The roll is frozen when voting opens (${meeting.votingOpensAt}).`);
  const items: ReturnType<typeof presentEntry>[] = [];
  let shard = page.shard;
  let key = page.key;
  while (shard < SHARDS && items.length < page.limit) {
    const found = await getRollPage(meeting, shard, page.limit - items.length, key);
    items.push(...found.items.map(presentEntry));
    key = found.lastKey;
    if (key === undefined) shard++;
  }
  return { items, roll: meeting.roll, next: shard < SHARDS ? { shard, ...(key ? { key } : {}) } : undefined };
};

// ---------------------------------------------------------------------------------------------------
// Ballots, proxies, deliveries

const refuseOutsideWindow = (meeting: StoredMeeting, now: string) => {
  const refusal = castingRefusal(meeting, now);
  if (refusal !== undefined) throw new ConflictError(refusal, problem('/params/meetingId', refusal));
};

const choiceProblems = (meeting: StoredMeeting, choices: z.output<typeof castBallotSchema>['choices']) => {
  const problems = checkChoices(meeting, choices);
  if (problems.length > 0) throw new BadRequestError('A choice does not fit this meeting.', problems);
};

/** The proxy through which `holderOwnerId` may cast for `entry`, if one is registered. */
const proxyFor = async (meeting: StoredMeeting, entry: StoredVoter, holderOwnerId: string) => {
  for (const ownerId of entry.ownerIds) {
    const proxy = await getProxy(meeting, ownerId);
    if (proxy?.holderOwnerId === holderOwnerId) return proxy;
  }
  return undefined;
};

/** What a receipt is a hash of: the ballot itself, never who cast it or through which proxy. */
export const receiptContent = (
  ballot: Pick<
    StoredBallot,
    'meetingId' | 'voterId' | 'matterId' | 'channel' | 'choice' | 'castAt' | 'ballotId'
  >,
) => ({
  meetingId: ballot.meetingId,
  voterId: ballot.voterId,
  matterId: ballot.matterId,
  channel: ballot.channel,
  choice: ballot.choice,
  castAt: ballot.castAt,
  ballotId: ballot.ballotId,
});

const ballotsOf = (
  meeting: StoredMeeting,
  voterId: string,
  choices: z.output<typeof castBallotSchema>['choices'],
  extra: Pick<StoredBallot, 'channel' | 'castBy' | 'castAt'> & Partial<StoredBallot>,
): StoredBallot[] =>
  choices.map(({ matterId, choice }) => {
    const content = receiptContent({
      meetingId: meeting.meetingId,
      voterId,
      matterId,
      choice,
      ballotId: randomUUID(),
      ...extra,
    });
    const nonce = newNonce();
    return { ...extra, ...content, nonce, receipt: receiptOf(content, nonce) };
  });

const record = async (meeting: StoredMeeting, ballots: StoredBallot[]) => {
  try {
    await putBallots(meeting, ballots);
  } catch (error) {
    if (error instanceof MeetingNotOpenError) {
      const detail = `Voting closed at ${meeting.votingClosesAt}`;
      throw new ConflictError(detail, problem('/params/meetingId', detail));
    }
    throw error;
  }
};

const receiptsOf = (ballots: StoredBallot[]) =>
  ballots.map(({ matterId, choice, receipt, nonce }) => ({ matterId, choice, receipt, nonce }));

/**
 * An owner casts electronically, for a roll entry they hold or one whose owner registered them as proxy.
 * The ballot replaces their previous one on each matter (kept in history) and returns a receipt per
 * matter: a hash over the ballot and a secret nonce, which only they get.
 */
export const castBallots = async (
  caller: Caller,
  meetingId: string,
  body: z.output<typeof castBallotSchema>,
  now: string,
) => {
  const meeting = await loadMeeting(caller, meetingId);
  refuseOutsideWindow(meeting, now);
  choiceProblems(meeting, body.choices);
  const ownerId = caller.ownerId;
  if (ownerId === undefined)
    throw new ForbiddenError('Your token names no owner.', problem('/body/voterId', 'No owner in the token'));
  const own = await getOwnerEntries(meeting, ownerId);
  let entry: StoredVoter | undefined;
  let proxyHolder: string | undefined;
  if (body.voterId === undefined) {
    if (own.length === 0)
      throw new ForbiddenError(
        "You are not on this meeting's voter roll.",
        problem('/body/voterId', 'Not on the roll'),
      );
    if (own.length > 1)
      throw new BadRequestError(
        'You may cast for several roll entries: name one.',
        problem('/body/voterId', `One of ${own.map((candidate) => candidate.voterId).join(', ')}`),
      );
    entry = own[0];
  } else {
    entry = own.find((candidate) => candidate.voterId === body.voterId);
    if (entry === undefined) {
      const other = await getRollEntry(meeting, body.voterId);
      if (other === undefined)
        throw new BadRequestError(
          'No such entry on the voter roll.',
          problem('/body/voterId', 'Not on the roll'),
        );
      if ((await proxyFor(meeting, other, ownerId)) === undefined)
        throw new ForbiddenError(
          'You may cast only your own ballot, or one whose owner registered you as proxy.',
          problem('/body/voterId', 'Neither yours nor proxied to you'),
        );
      entry = other;
      proxyHolder = ownerId;
    }
  }
  const voter = entry as StoredVoter;
  const ballots = ballotsOf(meeting, voter.voterId, body.choices, {
    channel: 'electronic',
    castBy: ownerId,
    castAt: now,
    ...(proxyHolder === undefined ? {} : { proxyHolderOwnerId: proxyHolder }),
  });
  await record(meeting, ballots);
  return {
    meetingId,
    voterId: voter.voterId,
    channel: 'electronic' as const,
    castAt: now,
    ...(proxyHolder === undefined ? {} : { asProxy: true }),
    ballots: receiptsOf(ballots),
  };
};

/** The committee enters a signed paper ballot, with the reference of its scan. */
export const enterPaperBallot = async (
  caller: Caller,
  meetingId: string,
  body: z.output<typeof paperBallotSchema>,
  now: string,
) => {
  const meeting = await loadMeeting(caller, meetingId);
  refuseOutsideWindow(meeting, now);
  choiceProblems(meeting, body.choices);
  const receivedAt = body.receivedAt ?? now;
  if (Date.parse(receivedAt) > Date.parse(now) || Date.parse(receivedAt) < Date.parse(meeting.votingOpensAt))
    throw new BadRequestError(
      'A paper ballot is received while voting is open.',
      problem('/body/receivedAt', `Between ${meeting.votingOpensAt} and now`),
    );
  const entry = await getRollEntry(meeting, body.voterId);
  if (entry === undefined)
    throw new BadRequestError(
      'No such entry on the voter roll.',
      problem('/body/voterId', 'Not on the roll'),
    );
  if (
    body.proxyHolderOwnerId !== undefined &&
    (await proxyFor(meeting, entry, body.proxyHolderOwnerId)) === undefined
  )
    throw new BadRequestError(
      'No written authorisation of this proxy is registered for the ballot’s owner.',
      problem('/body/proxyHolderOwnerId', 'No registered proxy'),
    );
  const ballots = ballotsOf(meeting, entry.voterId, body.choices, {
    channel: 'paper',
    castBy: caller.sub,
    castAt: receivedAt,
    scanRef: body.scanRef,
    receivedAt,
    ...(body.proxyHolderOwnerId === undefined ? {} : { proxyHolderOwnerId: body.proxyHolderOwnerId }),
  });
  await record(meeting, ballots);
  return {
    meetingId,
    voterId: entry.voterId,
    channel: 'paper' as const,
    castAt: receivedAt,
    scanRef: body.scanRef,
    ballots: receiptsOf(ballots),
  };
};

const refuseClosed = (meeting: StoredMeeting, now: string) => {
  if (
    meeting.status === 'closing' ||
    meeting.status === 'closed' ||
    Date.parse(now) >= Date.parse(meeting.votingClosesAt)
  ) {
    const detail = `Voting closed at ${meeting.votingClosesAt}`;
    throw new ConflictError(detail, problem('/params/meetingId', detail));
  }
};

/** The committee registers an owner's written authorisation of a proxy (one per owner, a cap per holder). */
export const registerProxy = async (
  caller: Caller,
  meetingId: string,
  body: z.output<typeof registerProxySchema>,
  now: string,
) => {
  const meeting = await loadMeeting(caller, meetingId);
  refuseClosed(meeting, now);
  if (body.grantorOwnerId === body.holderOwnerId)
    throw new BadRequestError(
      'An owner cannot be their own proxy.',
      problem('/body/holderOwnerId', 'Same as grantor'),
    );
  const [grantor, holder] = await Promise.all([
    ownerInArea(meeting, body.grantorOwnerId),
    ownerInArea(meeting, body.holderOwnerId),
  ]);
  if (grantor === undefined)
    throw new BadRequestError(
      'The grantor is no owner of this area.',
      problem('/body/grantorOwnerId', 'Unknown owner'),
    );
  if (holder === undefined)
    throw new BadRequestError(
      'A proxy casting in the app must be an owner of this area.',
      problem('/body/holderOwnerId', 'Unknown owner'),
    );
  const proxy = { ...body, registeredBy: caller.sub, registeredAt: now };
  const outcome = await putProxy(meeting, proxy, meeting.rules.proxyCapPerHolder);
  if (outcome === 'grantor-has-proxy')
    throw new ConflictError(
      'This owner already authorised a proxy.',
      problem('/body/grantorOwnerId', 'Has a proxy'),
    );
  if (outcome === 'holder-at-cap') {
    const detail = `This holder already holds ${meeting.rules.proxyCapPerHolder} proxies, the area's cap`;
    throw new ConflictError(detail, problem('/body/holderOwnerId', detail));
  }
  return { meetingId, ...proxy };
};

/** The committee records that an owner received the ballot, by which channel and when, with evidence. */
export const recordDelivery = async (
  caller: Caller,
  meetingId: string,
  body: z.output<typeof recordDeliverySchema>,
  now: string,
) => {
  const meeting = await loadMeeting(caller, meetingId);
  if ((await ownerInArea(meeting, body.ownerId)) === undefined)
    throw new BadRequestError('No such owner in this area.', problem('/body/ownerId', 'Unknown owner'));
  const deliveredAt = body.deliveredAt ?? now;
  if (
    Date.parse(deliveredAt) > Date.parse(now) ||
    Date.parse(deliveredAt) < Date.parse(meeting.noticePostedAt)
  )
    throw new BadRequestError(
      'A delivery happens between the notice and now.',
      problem('/body/deliveredAt', `Between ${meeting.noticePostedAt} and now`),
    );
  const delivery = { ...body, deliveredAt, recordedBy: caller.sub, recordedAt: now };
  if (!(await putDelivery(meeting, delivery)))
    throw new ConflictError(
      `The delivery to ${body.ownerId} by ${body.channel} is recorded already.`,
      problem('/body/channel', 'Recorded already'),
    );
  return { meetingId, ...delivery };
};

/**
 * An owner opening the meeting in the app is the proof of delivery of the "first login" channel: the
 * first time, and only if they are an owner of the area, it is recorded; later reads change nothing.
 */
export const noteAppDelivery = async (caller: Caller, meeting: StoredMeeting, now: string) => {
  if (!caller.roles.includes('owner') || caller.ownerId === undefined) return;
  if (Date.parse(now) >= Date.parse(meeting.votingClosesAt)) return;
  if ((await ownerInArea(meeting, caller.ownerId)) === undefined) return;
  await putDelivery(meeting, {
    ownerId: caller.ownerId,
    channel: 'app-first-login',
    deliveredAt: now,
    recordedBy: caller.sub,
    recordedAt: now,
  });
};

/** An owner's own ballots: each roll entry they hold, its final ballots with receipts, and their history. */
export const myBallots = async (caller: Caller, meetingId: string) => {
  const meeting = await loadMeeting(caller, meetingId);
  const entries =
    meeting.roll === undefined || caller.ownerId === undefined
      ? []
      : await getOwnerEntries(meeting, caller.ownerId);
  return {
    meetingId,
    entries: await Promise.all(
      entries.map(async (entry) => {
        const { finals, history } = await getEntryBallots(meeting, entry.voterId);
        return {
          ...presentEntry(entry),
          finals: finals.map(presentBallot),
          history: history.map(presentBallot),
        };
      }),
    ),
  };
};

const presentBallot = ({ meetingId: _meetingId, ...ballot }: StoredBallot) => ballot;

/**
 * Named ballots of one roll entry, for a dispute. The read is recorded (who, why, what, when) before
 * anything is read, so no such read goes unrecorded.
 */
export const readNamedBallots = async (
  caller: Caller,
  meetingId: string,
  query: { voterId: string; reason: string },
  requestId: string,
  now: string,
) => {
  const meeting = await loadMeeting(caller, meetingId);
  await putBallotRead(
    meeting,
    {
      readBy: caller.sub,
      roles: caller.roles,
      reason: query.reason,
      what: `ballots of ${query.voterId}`,
      readAt: now,
    },
    requestId,
  );
  const entry = meeting.roll === undefined ? undefined : await getRollEntry(meeting, query.voterId);
  if (entry === undefined) throw new NotFoundError(`No roll entry ${query.voterId}.`);
  const { finals, history } = await getEntryBallots(meeting, query.voterId);
  return {
    meetingId,
    entry: presentEntry(entry),
    finals: finals.map(presentBallot),
    history: history.map(presentBallot),
  };
};

export const ballotReads = async (caller: Caller, meetingId: string) => {
  const meeting = await loadMeeting(caller, meetingId);
  return { meetingId, items: await getBallotReads(meeting) };
};

export const publishedResult = async (caller: Caller, meetingId: string) => {
  const meeting = await loadMeeting(caller, meetingId);
  const published = await getResult(meeting);
  if (published === undefined)
    throw new ConflictError(`The result is published when voting closes (${meeting.votingClosesAt}).`);
  return { ...published.result, digest: published.digest };
};

// ---------------------------------------------------------------------------------------------------
// Petitions for an extraordinary meeting

const petitionVisible = async (caller: Caller, petitionId: string): Promise<Petition> => {
  const petition =
    caller.subDistrictId === undefined ? undefined : await getPetition(caller.subDistrictId, petitionId);
  if (petition === undefined || !canSeeArea(caller, petition))
    throw new NotFoundError(`No petition ${petitionId}.`);
  return petition;
};

const progressOf = async (petition: Petition) => {
  const [units, signers] = await Promise.all([
    unitsOfArea(petition.subDistrictId, petition.areaId),
    getSigners(petition),
  ]);
  return {
    progress: petitionProgress(voterRoll(units).voters, new Set(signers)),
    signatures: signers.length,
  };
};

export const createPetition = async (
  caller: Caller,
  areaId: string,
  body: { petitionId: string; subject: string },
  now: string,
) => {
  const area = await loadVisible(caller, 'area', areaId);
  const petition: Petition = {
    subDistrictId: area.subDistrictId,
    ...(area.compoundId === undefined ? {} : { compoundId: area.compoundId }),
    areaId: area.id,
    petitionId: body.petitionId,
    subject: body.subject,
    createdBy: caller.sub,
    createdAt: now,
  };
  try {
    await storePetition(petition);
  } catch (error) {
    if (error instanceof WriteConflictError)
      throw new ConflictError(`Petition ${body.petitionId} exists.`, problem('/body/petitionId', 'Taken'));
    throw error;
  }
  return { ...petition, ...(await progressOf(petition)) };
};

export const readPetition = async (caller: Caller, petitionId: string) => {
  const petition = await petitionVisible(caller, petitionId);
  return { ...petition, ...(await progressOf(petition)) };
};

/** An owner of the area signs; once 20 % of the area and of the owners have, the petition is marked reached. */
export const signPetition = async (caller: Caller, petitionId: string, now: string) => {
  const petition = await petitionVisible(caller, petitionId);
  const ownerId = caller.ownerId;
  const owner = ownerId === undefined ? undefined : await getRecord(petition.subDistrictId, 'owner', ownerId);
  if (owner === undefined || owner.areaId !== petition.areaId || !inTenancy(caller, owner))
    throw new ForbiddenError(
      'Only an owner of the area can sign.',
      problem('/body', 'Not an owner of this area'),
    );
  const signed = await putSignature(petition, owner.id, now);
  const { progress, signatures } = await progressOf(petition);
  if (progress.met && petition.reachedAt === undefined) await markPetitionReached(petition, now);
  return {
    ...petition,
    ...(progress.met && petition.reachedAt === undefined ? { reachedAt: now } : {}),
    signedNow: signed,
    progress,
    signatures,
  };
};
