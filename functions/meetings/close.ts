import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import type { Caller } from '../shared/auth.js';
import { onFirstUse } from '../shared/clients.js';
import { ConflictError, NotFoundError, problem } from '../shared/errors.js';
import { logger } from '../shared/observability.js';
import { canonicalJson, merkleTree, receiptOf } from './receipts.js';
import { digestOf, loadMeeting, openVoting, receiptContent } from './service.js';
import {
  getDeliveries,
  getFinalBallots,
  getMeeting,
  getResult,
  getRoll,
  putBallotRead,
  putResult,
  replaceMeeting,
  type StoredMeeting,
  WriteConflictError,
} from './store.js';
import { type MatterResult, tallyMeeting, turnoutOf } from './tally.js';

const sfn = onFirstUse(() => new SFNClient({}));

/** Live turnout per matter against the quorum: who took part, never how. */
export const turnout = async (caller: Caller, meetingId: string) => {
  const meeting = await loadMeeting(caller, meetingId);
  if (meeting.roll === undefined)
    return {
      meetingId,
      status: meeting.status,
      note: `Voting opens at ${meeting.votingOpensAt}.`,
      matters: [],
    };
  const [roll, ballots] = await Promise.all([getRoll(meeting), getFinalBallots(meeting)]);
  return {
    meetingId,
    status: meeting.status,
    matters: meeting.matters.map((matter) => ({
      matterId: matter.matterId,
      quorum: turnoutOf(
        roll,
        new Set(
          ballots.filter((ballot) => ballot.matterId === matter.matterId).map((ballot) => ballot.voterId),
        ),
      ),
    })),
  };
};

// ---------------------------------------------------------------------------------------------------
// Close, tally, result

/** Everything a result is computed from, read from the store: what a recount reads again. */
const tallyFromStore = async (meeting: StoredMeeting) => {
  const [roll, ballots, deliveries] = await Promise.all([
    getRoll(meeting),
    getFinalBallots(meeting),
    getDeliveries(meeting),
  ]);
  const earliest = new Map<string, string>();
  for (const delivery of deliveries) {
    const known = earliest.get(delivery.ownerId);
    if (known === undefined || delivery.deliveredAt < known)
      earliest.set(delivery.ownerId, delivery.deliveredAt);
  }
  const tally = tallyMeeting({
    matters: meeting.matters,
    roll,
    ballots,
    deliveries: earliest,
    votingClosesAt: meeting.votingClosesAt,
    mode: meeting.rules.nonReplyMode,
    conflictRule: meeting.rules.conflictRule,
  });
  const tree = merkleTree(tally.countedReceipts);
  const result = {
    meetingId: meeting.meetingId,
    areaId: meeting.areaId,
    title: meeting.title,
    format: meeting.format,
    votingOpensAt: meeting.votingOpensAt,
    votingClosesAt: meeting.votingClosesAt,
    closedAt: meeting.closedAt,
    rules: { nonReplyMode: meeting.rules.nonReplyMode, conflictRule: meeting.rules.conflictRule },
    roll: meeting.roll,
    totals: tally.totals,
    matters: tally.matters,
    ballots: {
      final: tally.finalBallots,
      counted: tally.countedReceipts.length,
      conflicts: tally.conflicts.length,
      deliveries: deliveries.length,
    },
    merkle: { root: tree.root, leaves: tree.size },
  };
  return { result, digest: digestOf(canonicalJson(result)), tree, conflicts: tally.conflicts, ballots };
};

/** Tells each workflow waiting on a matter its result; a token no longer waited on is no error. */
const notifyWorkflows = async (
  meeting: StoredMeeting,
  result: { matters: MatterResult[]; merkle: { root: string } },
  digest: string,
) => {
  const notified = new Set(meeting.notified ?? []);
  const sent: string[] = [];
  for (const matter of meeting.matters) {
    if (matter.taskToken === undefined || notified.has(matter.matterId)) continue;
    const outcome = result.matters.find((candidate) => candidate.matterId === matter.matterId);
    const output = JSON.stringify({
      meetingId: meeting.meetingId,
      matterId: matter.matterId,
      requestedBy: matter.requestedBy,
      passed: outcome?.passed ?? false,
      result: outcome,
      merkleRoot: result.merkle.root,
      digest,
    });
    try {
      if (outcome?.passed)
        await sfn().send(new SendTaskSuccessCommand({ taskToken: matter.taskToken, output }));
      else
        await sfn().send(
          new SendTaskFailureCommand({
            taskToken: matter.taskToken,
            error: 'MatterNotPassed',
            cause: output,
          }),
        );
    } catch (error) {
      if (
        !(error instanceof TaskDoesNotExist || error instanceof InvalidToken || error instanceof TaskTimedOut)
      )
        throw error;
      logger.warn('The workflow no longer waits for this matter', {
        meetingId: meeting.meetingId,
        matterId: matter.matterId,
        error: (error as Error).name,
      });
    }
    sent.push(matter.matterId);
  }
  if (sent.length === 0) return;
  const latest = await getMeeting(meeting.subDistrictId, meeting.meetingId);
  if (latest === undefined) return;
  await replaceMeeting({ ...latest, notified: [...notified, ...sent] }, { version: latest.version }).catch(
    (error) => {
      // Another close run recorded it meanwhile; a second notification would be refused as a used token.
      if (!(error instanceof WriteConflictError)) throw error;
    },
  );
};

/**
 * Closes voting and publishes the result: refused before the window's end (no meeting is closed early);
 * idempotent after it — a second run (the schedule's retry, or the manual backstop) finds the same
 * result. The meeting goes to `closing` first, so no ballot transaction can commit after the ballots
 * are read; the result is computed from the stored roll, ballots and deliveries only, written once, and
 * can be recomputed identically by a recount.
 */
export const closeVoting = async (subDistrictId: string, meetingId: string, now: string) => {
  let meeting = await getMeeting(subDistrictId, meetingId);
  if (meeting === undefined) throw new NotFoundError(`No meeting ${meetingId}.`);
  if (Date.parse(now) < Date.parse(meeting.votingClosesAt)) {
    const detail = `Voting closes at ${meeting.votingClosesAt}; a meeting is not closed early`;
    throw new ConflictError(detail, problem('/params/meetingId', detail));
  }
  if (meeting.status === 'noticed') meeting = (await openVoting(subDistrictId, meetingId, now)) ?? meeting;
  if (meeting.status === 'open') {
    try {
      meeting = await replaceMeeting(
        { ...meeting, status: 'closing', closedAt: now },
        { version: meeting.version, status: 'open' },
      );
    } catch (error) {
      if (!(error instanceof WriteConflictError)) throw error;
      meeting = (await getMeeting(subDistrictId, meetingId)) as StoredMeeting;
    }
  }
  let published = await getResult(meeting);
  if (published === undefined) {
    const { result, digest } = await tallyFromStore(meeting);
    // A concurrent close that wrote first has the same result: both read the same settled ballots.
    published = (await putResult(meeting, result, digest)) ? { result, digest } : await getResult(meeting);
    if (published === undefined) throw new Error(`The result of ${meetingId} was neither written nor found`);
  }
  const root = (published.result.merkle as { root: string }).root;
  if (meeting.status !== 'closed') {
    try {
      meeting = await replaceMeeting(
        { ...meeting, status: 'closed', merkleRoot: root },
        { version: meeting.version, status: 'closing' },
      );
    } catch (error) {
      if (!(error instanceof WriteConflictError)) throw error;
      meeting = (await getMeeting(subDistrictId, meetingId)) as StoredMeeting;
    }
  }
  await notifyWorkflows(meeting, published.result as never, published.digest);
  return { ...published.result, digest: published.digest };
};

/**
 * Recounts from the stored ballots and compares with the published result, digest for digest; checks
 * every stored ballot against its receipt. It names conflicting owners, so it is recorded like a read of
 * named ballots.
 */
export const recount = async (
  caller: Caller,
  meetingId: string,
  reason: string,
  requestId: string,
  now: string,
) => {
  const meeting = await loadMeeting(caller, meetingId);
  const published = await getResult(meeting);
  if (published === undefined)
    throw new ConflictError(`The result is published when voting closes (${meeting.votingClosesAt}).`);
  await putBallotRead(
    meeting,
    {
      readBy: caller.sub,
      roles: caller.roles,
      reason,
      what: 'recount, with the conflicting ballots named',
      readAt: now,
    },
    requestId,
  );
  const again = await tallyFromStore(meeting);
  return {
    meetingId,
    matches: again.digest === published.digest,
    publishedDigest: published.digest,
    recountedDigest: again.digest,
    ballotsNotMatchingTheirReceipt: again.ballots.filter(
      (ballot) => receiptOf(receiptContent(ballot), ballot.nonce) !== ballot.receipt,
    ).length,
    conflicts: again.conflicts,
    result: again.result,
  };
};

/** Published trees by meeting: a closed meeting's counted ballots never change, so neither does its tree. */
const trees = new Map<string, Promise<ReturnType<typeof merkleTree>>>();

/** The inclusion proof of a receipt under the published root, for the owner to check offline. */
export const proofOf = async (caller: Caller, meetingId: string, receipt: string) => {
  const meeting = await loadMeeting(caller, meetingId);
  const published = meeting.status === 'closed' ? await getResult(meeting) : undefined;
  if (published === undefined)
    throw new ConflictError(`Proofs exist once the result is published (${meeting.votingClosesAt}).`);
  const key = `${meeting.subDistrictId}/${meeting.meetingId}`;
  let tree = trees.get(key);
  if (tree === undefined) {
    tree = tallyFromStore(meeting).then((tally) => tally.tree);
    tree.catch(() => trees.delete(key));
    trees.set(key, tree);
  }
  const built = await tree;
  const root = (published.result.merkle as { root: string }).root;
  if (built.root !== root)
    throw new Error(`The stored ballots no longer give the published root of ${meetingId}`);
  const proof = built.proofOf(receipt.toLowerCase());
  if (proof === undefined)
    throw new NotFoundError(
      'This receipt is not among the counted ballots: it was replaced by a later ballot, or another channel’s ballot counted.',
    );
  return { meetingId, receipt: receipt.toLowerCase(), proof, root, leaves: built.size };
};
