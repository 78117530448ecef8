/**
 * Committee secretaries: the general meeting approves the post and a pay cap (a passed matter of one of
 * the area's meetings), the committee hires within it, the secretary is not a committee member and has
 * no vote and no seal, a training record comes before the start, duties are logged, and a pay change
 * needs a newer passing vote.
 */
import { passedMatterOf } from '../meetings/service.js';
import { getRecord } from '../registry/store.js';
import type { Caller } from '../shared/auth.js';
import { BadRequestError, ConflictError, NotFoundError, problem } from '../shared/errors.js';
import { getData, listData, put, putOnce } from './store.js';

export interface SecretaryPost {
  version: number;
  committeeId: string;
  areaId: string;
  meetingId: string;
  matterId: string;
  payCapFen: number;
  approvedAt: string;
  recordedBy: string;
}
export interface Secretary {
  secretaryId: string;
  committeeId: string;
  name: string;
  ownerId?: string;
  payFen: number;
  /** The version of the post whose cap the current pay is set under. */
  payUnderPost: number;
  startsOn: string;
  training: { course: string; completedOn: string; certificateRef: string };
  /** What a secretary is not: a committee member, with a vote or the seal. */
  member: false;
  vote: false;
  seal: false;
  duties: { kind: string; reference: string; dueBy?: string; at: string; by: string }[];
  hiredAt: string;
}

const partition = (sd: string, committeeId: string) => `SECRETARY#${sd}#${committeeId}`;
const postKey = (sd: string, committeeId: string, version: number) => ({
  pk: partition(sd, committeeId),
  sk: `POST#${String(version).padStart(4, '0')}`,
});
const secretaryKey = (sd: string, committeeId: string, secretaryId: string) => ({
  pk: partition(sd, committeeId),
  sk: `PERSON#${secretaryId}`,
});

/** The committee, if the caller may manage it: the office, or a member of the committee's area. */
const loadCommittee = async (caller: Caller, committeeId: string) => {
  const sd = caller.subDistrictId;
  const committee = sd === undefined ? undefined : await getRecord(sd, 'committee', committeeId);
  const areaId = committee?.areaId;
  if (
    sd === undefined ||
    committee === undefined ||
    areaId === undefined ||
    !(caller.roles.includes('street-office') || caller.areaIds.includes(areaId))
  )
    throw new NotFoundError(`No committee ${committeeId}.`);
  return { sd, committee, areaId };
};

const latestPost = async (sd: string, committeeId: string) => {
  const posts = await listData<SecretaryPost>(partition(sd, committeeId), 'POST#');
  return posts.at(-1)?.data;
};

/** Records the post approved by a passed matter of a closed meeting of the committee's area. */
export const approvePost = async (
  caller: Caller,
  committeeId: string,
  input: { meetingId: string; matterId: string; payCapFen: number },
) => {
  const { sd, areaId } = await loadCommittee(caller, committeeId);
  const { closedAt } = await passedMatterOf(sd, areaId, input.meetingId, input.matterId);
  const posts = await listData<SecretaryPost>(partition(sd, committeeId), 'POST#');
  if (posts.some(({ data }) => data.meetingId === input.meetingId && data.matterId === input.matterId))
    throw new ConflictError('This vote approved a post already; a change needs a new vote.');
  const version = posts.length + 1;
  const post: SecretaryPost = {
    version,
    committeeId,
    areaId,
    ...input,
    approvedAt: closedAt,
    recordedBy: caller.sub,
  };
  if (!(await putOnce(postKey(sd, committeeId, version), post)))
    throw new ConflictError('Another approval was recorded at the same time; read the posts and try again.');
  return post;
};

export const hire = async (
  caller: Caller,
  committeeId: string,
  input: {
    secretaryId: string;
    name: string;
    ownerId?: string;
    payFen: number;
    startsOn: string;
    training?: Secretary['training'];
  },
  now: string,
) => {
  const { sd, committee } = await loadCommittee(caller, committeeId);
  const post = await latestPost(sd, committeeId);
  if (post === undefined) throw new ConflictError('The general meeting has not approved a secretary post.');
  if (input.payFen > post.payCapFen)
    throw new BadRequestError(
      `The pay is above the cap the owners approved (${post.payCapFen} fen).`,
      problem('/body/payFen', `At most ${post.payCapFen}`),
    );
  if (input.training === undefined)
    throw new BadRequestError(
      'A training record is required before the secretary starts.',
      problem('/body/training', 'Required'),
    );
  if (input.training.completedOn > input.startsOn)
    throw new BadRequestError(
      'The training must be completed before the start.',
      problem('/body/training/completedOn', 'After the start'),
    );
  const members = (committee.data as { members?: { name: string; ownerId?: string }[] }).members ?? [];
  if (
    members.some((m) => (input.ownerId !== undefined && m.ownerId === input.ownerId) || m.name === input.name)
  )
    throw new ConflictError(
      'A committee member cannot be its secretary.',
      problem('/body/name', 'A committee member'),
    );
  const secretary: Secretary = {
    ...input,
    training: input.training,
    committeeId,
    payUnderPost: post.version,
    member: false,
    vote: false,
    seal: false,
    duties: [],
    hiredAt: now,
  };
  if (!(await putOnce(secretaryKey(sd, committeeId, input.secretaryId), secretary)))
    throw new ConflictError(`Secretary ${input.secretaryId} exists.`, problem('/body/secretaryId', 'Taken'));
  return secretary;
};

const loadSecretary = async (caller: Caller, committeeId: string, secretaryId: string) => {
  const { sd } = await loadCommittee(caller, committeeId);
  const secretary = await getData<Secretary>(secretaryKey(sd, committeeId, secretaryId));
  if (secretary === undefined) throw new NotFoundError(`No secretary ${secretaryId}.`);
  return { sd, secretary };
};

export const readSecretary = async (caller: Caller, committeeId: string, secretaryId: string) => {
  const { sd, secretary } = await loadSecretary(caller, committeeId, secretaryId);
  return { ...secretary, post: await latestPost(sd, committeeId) };
};

/** A pay change needs a post approved after the current pay was set, and stays within its cap. */
export const changePay = async (caller: Caller, committeeId: string, secretaryId: string, payFen: number) => {
  const { sd, secretary } = await loadSecretary(caller, committeeId, secretaryId);
  const post = await latestPost(sd, committeeId);
  if (post === undefined || post.version <= secretary.payUnderPost)
    throw new ConflictError('A pay change needs a new passing vote of the general meeting.');
  if (payFen > post.payCapFen)
    throw new BadRequestError(
      `The pay is above the approved cap (${post.payCapFen} fen).`,
      problem('/body/payFen', `At most ${post.payCapFen}`),
    );
  const next = { ...secretary, payFen, payUnderPost: post.version };
  await put(secretaryKey(sd, committeeId, secretaryId), next);
  return next;
};

export const logDuty = async (
  caller: Caller,
  committeeId: string,
  secretaryId: string,
  duty: { kind: string; reference: string; dueBy?: string },
  now: string,
) => {
  const { sd, secretary } = await loadSecretary(caller, committeeId, secretaryId);
  const next = { ...secretary, duties: [...secretary.duties, { ...duty, at: now, by: caller.sub }] };
  await put(secretaryKey(sd, committeeId, secretaryId), next);
  return next;
};
