import { loadVisible } from '../registry/service.js';
import { ownersInArrears } from '../resident/arrears.js';
import type { Caller } from '../shared/auth.js';
import { requireEnv } from '../shared/env.js';
import { BadRequestError, ConflictError, problem } from '../shared/errors.js';
import { timersFor } from '../shared/timers.js';
import { type CreateMeetingInput, noticeMeeting } from './domain.js';
import { digestOf, rulesOf } from './service.js';
import {
  getPetition,
  type StoredMeeting,
  createMeeting as storeMeeting,
  WriteConflictError,
} from './store.js';

/** The events of the feature's one-time schedules: voting opens (the roll is frozen), voting closes. */
export type MeetingTimerEvent =
  | { kind: 'open-voting'; subDistrictId: string; meetingId: string }
  | { kind: 'close-voting'; subDistrictId: string; meetingId: string };

const timers = timersFor<MeetingTimerEvent>({
  functionArn: requireEnv('TIMER_FUNCTION_ARN'),
  roleArn: requireEnv('SCHEDULER_ROLE_ARN'),
  group: process.env.SCHEDULE_GROUP,
});
const timerName = (
  kind: 'open' | 'close',
  meeting: Pick<StoredMeeting, 'subDistrictId' | 'meetingId'>,
  at: string,
) => `meeting-${kind}-${digestOf(meeting.subDistrictId, meeting.meetingId, at).slice(0, 40)}`;

/**
 * Notices a meeting in an area: the notice is posted now, which the area's notice period measures;
 * the opening (the roll is frozen) and the close are scheduled before the meeting is stored, so a
 * stored meeting always has its timers (a timer for a meeting that was never stored does nothing).
 */
export const createMeeting = async (
  caller: Caller,
  areaId: string,
  input: CreateMeetingInput,
  now: string,
) => {
  const area = await loadVisible(caller, 'area', areaId);
  const rules = await rulesOf(area.subDistrictId, area.id);
  if (input.petitionId !== undefined) {
    const petition = await getPetition(area.subDistrictId, input.petitionId);
    if (petition === undefined || petition.areaId !== area.id)
      throw new BadRequestError(
        'No such petition in this area.',
        problem('/body/petitionId', 'Unknown petition'),
      );
    if (petition.reachedAt === undefined)
      throw new BadRequestError(
        'The petition has not reached 20 % of the area and 20 % of the owners.',
        problem('/body/petitionId', 'Petition below its thresholds'),
      );
  }
  const noticed = noticeMeeting(
    input,
    { subDistrictId: area.subDistrictId, compoundId: area.compoundId, areaId: area.id },
    rules,
    caller.sub,
    now,
  );
  if (!noticed.ok) throw new BadRequestError(noticed.detail, problem(noticed.pointer, noticed.detail));
  const { meeting } = noticed;
  // An owner in fee arrears cannot stand for the committee (the resident code's fee ledger says who is).
  const candidacies = input.matters.flatMap((matter, m) =>
    matter.kind === 'election'
      ? matter.candidates.flatMap((candidate, k) =>
          candidate.ownerId === undefined
            ? []
            : [{ ownerId: candidate.ownerId, pointer: `/body/matters/${m}/candidates/${k}/ownerId` }],
        )
      : [],
  );
  const owing = await ownersInArrears(
    area.subDistrictId,
    area.id,
    candidacies.map((candidacy) => candidacy.ownerId),
  );
  if (owing.size > 0)
    throw new ConflictError(
      'An owner in arrears of property fees cannot stand for the committee.',
      candidacies
        .filter((candidacy) => owing.has(candidacy.ownerId))
        .map((candidacy) => ({ pointer: candidacy.pointer, detail: 'In fee arrears by the fee ledger' })),
    );
  const place = { subDistrictId: meeting.subDistrictId, meetingId: meeting.meetingId };
  await timers.schedule(timerName('open', meeting, meeting.votingOpensAt), meeting.votingOpensAt, {
    kind: 'open-voting',
    ...place,
  });
  await timers.schedule(timerName('close', meeting, meeting.votingClosesAt), meeting.votingClosesAt, {
    kind: 'close-voting',
    ...place,
  });
  try {
    await storeMeeting(meeting);
  } catch (error) {
    if (error instanceof WriteConflictError)
      throw new ConflictError(`Meeting ${meeting.meetingId} exists.`, problem('/body/meetingId', 'Taken'));
    throw error;
  }
  return meeting;
};
