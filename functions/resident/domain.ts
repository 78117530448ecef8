/**
 * The resident code (住户守则) of a sub-district, the rules that need no I/O: covenants (管理规约 and its
 * sub-covenants) as versioned documents whose rules bind an area from its general meeting's adoption,
 * the enforcement ladders cases follow, how an area tunes a ladder, and a case as a state machine
 * (notice, missed deadline, remedy, referral) the store persists.
 *
 * Decisions worth knowing:
 * - a ladder is data in the law's order: dissuade or stop (劝阻、制止) → public posting in the area
 *   (公示) → for arrears a formal written demand (催告) → referral (to city management, or a suit or
 *   arbitration for arrears). An area tunes deadlines within each step's bounds and narrows the
 *   channels; it never skips, adds or reorders a step. A case keeps the ladder it opened under;
 * - a step's deadline runs from the delivery of its notice, not from the step's start: a household
 *   cannot be held to a time it was not told of. A step without a delivered notice never escalates;
 * - the referral is the last step and has no deadline: its notice (the referral letter) ends the area's
 *   part, the case becomes 'referred';
 * - times are ISO strings compared as instants (Date.parse), so '+08:00' and 'Z' forms agree; the
 *   deadline is written in UTC to the millisecond.
 */
import * as z from 'zod';
import { slugSchema } from '../registry/domain.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const ms = (iso: string): number => Date.parse(iso);

// ---------------------------------------------------------------------------------------------------
// Vocabulary

export const CASE_TYPES = ['corridor-clutter', 'garbage-sorting', 'fee-arrears'] as const;
export type CaseType = (typeof CASE_TYPES)[number];

/** The main covenant and the Shanghai 2021 model sub-covenants. */
export const COVENANT_KINDS = [
  'management-covenant',
  'renovation',
  'parking',
  'waste-sorting',
  'pets',
  'common-parts-commercial-use',
  'common-income',
  'hiring-the-company',
] as const;
export type CovenantKind = (typeof COVENANT_KINDS)[number];

/** Who carries a step out. */
export const ACTORS = ['committee', 'property-company', 'street-office'] as const;
export type Actor = (typeof ACTORS)[number];

export const NOTICE_CHANNELS = [
  'in-person',
  'written-notice',
  'posting-board',
  'registered-mail',
  'referral-letter',
] as const;
export type NoticeChannel = (typeof NOTICE_CHANNELS)[number];

export const PROOF_KINDS = ['signature', 'photo', 'registered-mail-receipt', 'referral-receipt'] as const;
export type ProofKind = (typeof PROOF_KINDS)[number];

export const STEP_KINDS = ['dissuade', 'posting', 'formal-demand', 'referral'] as const;
export const REFER_TO = ['city-management', 'court-or-arbitration'] as const;

// ---------------------------------------------------------------------------------------------------
// Ladders

export interface LadderStep {
  /** e.g. 'dissuade', 'public-posting', 'formal-demand', 'referral'. */
  stepId: string;
  kind: (typeof STEP_KINDS)[number];
  actor: Actor;
  /** Only on kind 'referral'. */
  referTo?: (typeof REFER_TO)[number];
  /** Time given after the notice's delivery; 0 on a referral (the last step). */
  deadlineHours: number;
  /** The bounds an area may tune within. */
  minDeadlineHours: number;
  maxDeadlineHours: number;
  /** Allowed channels for this step's notice (non-empty). */
  channels: NoticeChannel[];
  /** The legal basis, in Chinese. */
  basis: string;
}

export interface Ladder {
  caseType: CaseType;
  /** The last step is always kind 'referral'. */
  steps: LadderStep[];
  /** 'paid' for fee-arrears. */
  closesWhen: 'remedied' | 'paid';
  tunedBy?: { areaId: string; at: string };
}

const ladderStepSchema = /* @__PURE__ */ z
  .object({
    stepId: slugSchema,
    kind: z.enum(STEP_KINDS),
    actor: z.enum(ACTORS),
    referTo: z.enum(REFER_TO).optional(),
    deadlineHours: z.number().int().min(0),
    minDeadlineHours: z.number().int().min(0),
    maxDeadlineHours: z.number().int().min(0),
    channels: z.array(z.enum(NOTICE_CHANNELS)).min(1),
    basis: z.string().min(1).max(1000),
  })
  .strict();

/**
 * A ladder as stored (or as the defaults are written): every step within its own bounds, stepIds
 * unique, a channel at most once per step, exactly one referral and it is the last step, with a
 * referTo and no deadline; referTo on no other step. Fee arrears close when paid, the others when
 * remedied.
 */
export const ladderSchema = /* @__PURE__ */ z
  .object({
    caseType: z.enum(CASE_TYPES),
    steps: z.array(ladderStepSchema).min(1).max(10),
    closesWhen: z.enum(['remedied', 'paid']),
    tunedBy: z
      .object({ areaId: slugSchema, at: z.iso.datetime({ offset: true }) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((ladder, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const ids = new Set<string>();
    const last = ladder.steps.length - 1;
    ladder.steps.forEach((step, i) => {
      if (ids.has(step.stepId)) issue(['steps', i, 'stepId'], `Step ${step.stepId} is named twice`);
      ids.add(step.stepId);
      if (new Set(step.channels).size !== step.channels.length)
        issue(['steps', i, 'channels'], `A channel is listed twice on ${step.stepId}`);
      if (step.minDeadlineHours > step.maxDeadlineHours)
        issue(['steps', i, 'minDeadlineHours'], `${step.stepId}: the lower bound is above the upper bound`);
      if (step.deadlineHours < step.minDeadlineHours || step.deadlineHours > step.maxDeadlineHours)
        issue(
          ['steps', i, 'deadlineHours'],
          `${step.stepId}: ${step.deadlineHours} h is outside ${step.minDeadlineHours}–${step.maxDeadlineHours} h`,
        );
      if (step.kind === 'referral') {
        if (i !== last) issue(['steps', i, 'kind'], 'The referral is the last step');
        if (step.referTo === undefined) issue(['steps', i, 'referTo'], 'A referral names where it refers to');
        if (step.deadlineHours !== 0 || step.maxDeadlineHours !== 0)
          issue(['steps', i, 'deadlineHours'], 'A referral has no deadline (0 h)');
      } else if (step.referTo !== undefined)
        issue(['steps', i, 'referTo'], 'Only a referral names where it refers to');
    });
    if (ladder.steps[last]?.kind !== 'referral') issue(['steps', last], 'The last step is a referral');
    const closes = ladder.caseType === 'fee-arrears' ? 'paid' : 'remedied';
    if (ladder.closesWhen !== closes)
      issue(['closesWhen'], `A ${ladder.caseType} case closes when ${closes}`);
  });

// The legal bases. Article numbers are given only where the statute's text is certain here (民法典,
// 消防法); the Shanghai regulations are cited by name and by what they provide.
const CIVIL_CODE_286 =
  '《中华人民共和国民法典》第二百八十六条：业主大会或者业主委员会对任意弃置垃圾、侵占通道、拒付物业费等损害他人合法权益的行为，有权依照法律、法规以及管理规约请求行为人停止侵害、排除妨碍';
const COVENANT_POSTING =
  '本物业管理区域管理规约（业主大会依《上海市住宅物业管理规定》通过）：劝阻、制止无效的，在物业管理区域内公示';
const CIVIL_CODE_286_REPORT =
  '《中华人民共和国民法典》第二百八十六条：业主或者其他行为人拒不履行相关义务的，有关当事人可以向有关行政主管部门报告或者投诉';

/**
 * The law's ladders. Literals, not parsed at module load (a cold start pays for every parse); the
 * domain test checks ladderSchema takes each as it is.
 */
export const DEFAULT_LADDERS: Readonly<Record<CaseType, Ladder>> = {
  'corridor-clutter': {
    caseType: 'corridor-clutter',
    closesWhen: 'remedied',
    steps: [
      {
        stepId: 'dissuade',
        kind: 'dissuade',
        actor: 'committee',
        deadlineHours: 72,
        minDeadlineHours: 24,
        maxDeadlineHours: 168,
        channels: ['in-person', 'written-notice'],
        basis: `《上海市住宅物业管理规定》（不得占用、堵塞共用部位）；《中华人民共和国消防法》第二十八条：不得占用、堵塞、封闭疏散通道、安全出口；${CIVIL_CODE_286}`,
      },
      {
        stepId: 'public-posting',
        kind: 'posting',
        actor: 'committee',
        deadlineHours: 168,
        minDeadlineHours: 72,
        maxDeadlineHours: 336,
        channels: ['posting-board'],
        basis: COVENANT_POSTING,
      },
      {
        stepId: 'referral',
        kind: 'referral',
        actor: 'street-office',
        referTo: 'city-management',
        deadlineHours: 0,
        minDeadlineHours: 0,
        maxDeadlineHours: 0,
        channels: ['referral-letter'],
        basis: `${CIVIL_CODE_286_REPORT}；《中华人民共和国消防法》第二十八条（占用、堵塞疏散通道由主管部门依法处理）`,
      },
    ],
  },
  'garbage-sorting': {
    caseType: 'garbage-sorting',
    closesWhen: 'remedied',
    steps: [
      {
        stepId: 'dissuade',
        kind: 'dissuade',
        actor: 'committee',
        deadlineHours: 24,
        minDeadlineHours: 12,
        maxDeadlineHours: 72,
        channels: ['in-person', 'written-notice'],
        basis: `《上海市生活垃圾管理条例》：管理责任人对不符合分类投放要求的行为予以劝阻、指导；${CIVIL_CODE_286}`,
      },
      {
        stepId: 'public-posting',
        kind: 'posting',
        actor: 'committee',
        deadlineHours: 168,
        minDeadlineHours: 72,
        maxDeadlineHours: 336,
        channels: ['posting-board'],
        basis: COVENANT_POSTING,
      },
      {
        stepId: 'referral',
        kind: 'referral',
        actor: 'street-office',
        referTo: 'city-management',
        deadlineHours: 0,
        minDeadlineHours: 0,
        maxDeadlineHours: 0,
        channels: ['referral-letter'],
        basis:
          '《上海市生活垃圾管理条例》：拒不按照分类标准投放的，管理责任人向城管执法部门报告，由城管执法部门责令改正并依法处罚',
      },
    ],
  },
  'fee-arrears': {
    caseType: 'fee-arrears',
    closesWhen: 'paid',
    steps: [
      {
        stepId: 'dissuade',
        kind: 'dissuade',
        actor: 'property-company',
        deadlineHours: 720,
        minDeadlineHours: 168,
        maxDeadlineHours: 1440,
        channels: ['written-notice', 'in-person'],
        basis: '《中华人民共和国民法典》第九百四十四条：业主应当按照约定向物业服务人支付物业费',
      },
      {
        stepId: 'public-posting',
        kind: 'posting',
        actor: 'committee',
        deadlineHours: 720,
        minDeadlineHours: 168,
        maxDeadlineHours: 1440,
        channels: ['posting-board'],
        basis: `${COVENANT_POSTING}；${CIVIL_CODE_286}`,
      },
      {
        stepId: 'formal-demand',
        kind: 'formal-demand',
        actor: 'property-company',
        deadlineHours: 720,
        minDeadlineHours: 360,
        maxDeadlineHours: 1440,
        channels: ['registered-mail', 'written-notice'],
        basis:
          '《中华人民共和国民法典》第九百四十四条：业主违反约定逾期不支付物业费的，物业服务人可以催告其在合理期限内支付',
      },
      {
        stepId: 'referral',
        kind: 'referral',
        actor: 'property-company',
        referTo: 'court-or-arbitration',
        deadlineHours: 0,
        minDeadlineHours: 0,
        maxDeadlineHours: 0,
        channels: ['referral-letter'],
        basis:
          '《中华人民共和国民法典》第九百四十四条：合理期限届满仍不支付的，物业服务人可以提起诉讼或者申请仲裁；不得采取停止供电、供水、供热、供燃气等方式催交物业费',
      },
    ],
  },
};

// ---------------------------------------------------------------------------------------------------
// Tuning a ladder

/** An area's tuning (request body): every step of the ladder, in order, with what changes. */
export const ladderTuningSchema = /* @__PURE__ */ z
  .object({
    steps: z
      .array(
        z
          .object({
            stepId: slugSchema,
            deadlineHours: z.number().int().min(0).max(8760).optional(),
            channels: z.array(z.enum(NOTICE_CHANNELS)).min(1).max(NOTICE_CHANNELS.length).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(10),
  })
  .strict();
export type LadderTuning = z.infer<typeof ladderTuningSchema>;

export interface Problem {
  pointer: string;
  detail: string;
}

/**
 * The base ladder tuned by an area. The tuning names exactly the base's steps in the same order; each
 * step's deadline within its bounds (a referral's cannot be tuned: it has none, so only 0 is taken) and
 * channels among the base step's. Every error is collected:
 * - a base step not named → /body/steps "a step cannot be skipped: <stepId>";
 * - a step the base does not have, or named twice → /body/steps/<i>/stepId;
 * - the named base steps out of the law's order → /body/steps/<i>/stepId at each misplaced index;
 * - a deadline outside the bounds → /body/steps/<i>/deadlineHours naming them;
 * - a channel the base step does not allow → /body/steps/<i>/channels.
 * What the tuning leaves out (deadlineHours, channels) stays as the base has it; channels listed twice
 * count once. The base is not changed; the result records who tuned it and when.
 */
export const tuneLadder = (
  base: Ladder,
  tuning: LadderTuning,
  by: { areaId: string; at: string },
): { ok: true; ladder: Ladder } | { ok: false; errors: Problem[] } => {
  const errors: Problem[] = [];
  const baseIndex = new Map(base.steps.map((step, index) => [step.stepId, index]));
  const named = new Set<string>();
  /** The tuning's entries that name a base step for the first time, with their index in the tuning. */
  const known: { at: number; baseAt: number }[] = [];

  tuning.steps.forEach((entry, i) => {
    const baseAt = baseIndex.get(entry.stepId);
    if (baseAt === undefined) {
      errors.push({
        pointer: `/body/steps/${i}/stepId`,
        detail: `a step cannot be added: the ${base.caseType} ladder has no step ${entry.stepId} (its steps: ${base.steps.map((s) => s.stepId).join(', ')})`,
      });
      return;
    }
    if (named.has(entry.stepId)) {
      errors.push({ pointer: `/body/steps/${i}/stepId`, detail: `${entry.stepId} is named twice` });
      return;
    }
    named.add(entry.stepId);
    known.push({ at: i, baseAt });
  });

  for (const step of base.steps)
    if (!named.has(step.stepId))
      errors.push({ pointer: '/body/steps', detail: `a step cannot be skipped: ${step.stepId}` });

  // The named steps must come in the base's order: the k-th named one is the k-th of those named.
  const expected = [...known].sort((a, b) => a.baseAt - b.baseAt);
  known.forEach((entry, k) => {
    const want = expected[k]!;
    if (entry.baseAt !== want.baseAt)
      errors.push({
        pointer: `/body/steps/${entry.at}/stepId`,
        detail: `a step cannot be moved: ${base.steps[want.baseAt]!.stepId} comes here, not ${base.steps[entry.baseAt]!.stepId} (the law's order: ${base.steps.map((s) => s.stepId).join(' → ')})`,
      });
  });

  for (const { at, baseAt } of known) {
    const entry = tuning.steps[at]!;
    const step = base.steps[baseAt]!;
    if (entry.deadlineHours !== undefined) {
      if (step.kind === 'referral') {
        if (entry.deadlineHours !== 0)
          errors.push({
            pointer: `/body/steps/${at}/deadlineHours`,
            detail: `${step.stepId} is the referral: it has no deadline to tune`,
          });
      } else if (entry.deadlineHours < step.minDeadlineHours || entry.deadlineHours > step.maxDeadlineHours)
        errors.push({
          pointer: `/body/steps/${at}/deadlineHours`,
          detail: `${step.stepId}: the deadline is between ${step.minDeadlineHours} and ${step.maxDeadlineHours} hours (${entry.deadlineHours} given)`,
        });
    }
    if (entry.channels !== undefined) {
      const outside = entry.channels.filter((channel) => !step.channels.includes(channel));
      if (outside.length > 0)
        errors.push({
          pointer: `/body/steps/${at}/channels`,
          detail: `${step.stepId} allows ${step.channels.join(', ')}; not ${[...new Set(outside)].join(', ')}`,
        });
    }
  }

  if (errors.length > 0) return { ok: false, errors };
  const byId = new Map(tuning.steps.map((entry) => [entry.stepId, entry]));
  return {
    ok: true,
    ladder: {
      caseType: base.caseType,
      closesWhen: base.closesWhen,
      steps: base.steps.map((step) => {
        const entry = byId.get(step.stepId);
        return {
          ...step,
          channels: entry?.channels === undefined ? [...step.channels] : [...new Set(entry.channels)],
          ...(entry?.deadlineHours === undefined || step.kind === 'referral'
            ? {}
            : { deadlineHours: entry.deadlineHours }),
        };
      }),
      tunedBy: { areaId: by.areaId, at: by.at },
    },
  };
};

// ---------------------------------------------------------------------------------------------------
// Covenants

const text = (max: number) => z.string().trim().min(1).max(max);

/**
 * A version of a covenant: its articles and the rules cases cite, each rule pointing at an article of
 * the same version. Article and rule ids are unique within the version.
 */
export const covenantSchema = /* @__PURE__ */ z
  .object({
    covenantId: slugSchema,
    version: z.number().int().min(1).max(9999),
    kind: z.enum(COVENANT_KINDS),
    title: text(200),
    articles: z
      .array(z.object({ articleId: slugSchema, text: text(2000) }).strict())
      .min(1)
      .max(200),
    rules: z
      .array(z.object({ ruleId: slugSchema, caseType: z.enum(CASE_TYPES), articleId: slugSchema }).strict())
      .max(50),
  })
  .strict()
  .superRefine((covenant, ctx) => {
    const articleIds = new Set<string>();
    covenant.articles.forEach((article, i) => {
      if (articleIds.has(article.articleId))
        ctx.addIssue({
          code: 'custom',
          path: ['articles', i, 'articleId'],
          message: `Article ${article.articleId} is named twice`,
        });
      articleIds.add(article.articleId);
    });
    const ruleIds = new Set<string>();
    covenant.rules.forEach((rule, i) => {
      if (ruleIds.has(rule.ruleId))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'ruleId'],
          message: `Rule ${rule.ruleId} is named twice`,
        });
      ruleIds.add(rule.ruleId);
      if (!articleIds.has(rule.articleId))
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'articleId'],
          message: `Rule ${rule.ruleId} cites article ${rule.articleId}, which this version does not have`,
        });
    });
  });
export type Covenant = z.infer<typeof covenantSchema>;

/** A general meeting's passed matter adopting a covenant version for an area, from adoptedOn. */
export interface Adoption {
  areaId: string;
  covenantId: string;
  version: number;
  meetingId: string;
  matterId: string;
  /** ISO datetime: the meeting's close. */
  adoptedOn: string;
}

export type RuleLookup =
  | {
      ok: true;
      covenantId: string;
      version: number;
      ruleId: string;
      caseType: CaseType;
      articleId: string;
      adoptedOn: string;
    }
  | { ok: false; reason: string };

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * For each covenantId, the adoption in force at `at`: the latest with adoptedOn <= at (at the same
 * instant, the higher version), in covenantId order.
 */
const adoptionsInForce = (adoptions: readonly Adoption[], at: string): Adoption[] => {
  const now = ms(at);
  const latest = new Map<string, Adoption>();
  for (const adoption of adoptions) {
    const on = ms(adoption.adoptedOn);
    if (!(on <= now)) continue;
    const held = latest.get(adoption.covenantId);
    if (
      held === undefined ||
      on > ms(held.adoptedOn) ||
      (on === ms(held.adoptedOn) && adoption.version > held.version)
    )
      latest.set(adoption.covenantId, adoption);
  }
  return [...latest.values()].sort((a, b) => byString(a.covenantId, b.covenantId));
};

const covenantOf = (covenants: readonly Covenant[], adoption: Adoption): Covenant | undefined =>
  covenants.find((c) => c.covenantId === adoption.covenantId && c.version === adoption.version);

const found = (adoption: Adoption, rule: Covenant['rules'][number]): RuleLookup => ({
  ok: true,
  covenantId: adoption.covenantId,
  version: adoption.version,
  ruleId: rule.ruleId,
  caseType: rule.caseType,
  articleId: rule.articleId,
  adoptedOn: adoption.adoptedOn,
});

/**
 * The rule of the area in force at `at` for a case type: among the area's adoptions with adoptedOn <=
 * at, for each covenantId only the latest adoption counts (a later version replaces an earlier from its
 * own adoption date); the first rule (by covenantId, then ruleId order) governing the caseType. An
 * adoption whose covenant version is not among `covenants` governs nothing.
 */
export const ruleInForce = (
  adoptions: readonly Adoption[],
  covenants: readonly Covenant[],
  caseType: CaseType,
  at: string,
): RuleLookup => {
  const inForce = adoptionsInForce(adoptions, at);
  if (inForce.length === 0) return { ok: false, reason: `No covenant of the area is adopted by ${at}` };
  for (const adoption of inForce) {
    const rules = (covenantOf(covenants, adoption)?.rules ?? [])
      .filter((rule) => rule.caseType === caseType)
      .sort((a, b) => byString(a.ruleId, b.ruleId));
    if (rules[0] !== undefined) return found(adoption, rules[0]);
  }
  return {
    ok: false,
    reason: `No covenant in force in the area at ${at} has a rule on ${caseType} (in force: ${inForce.map((a) => `${a.covenantId} v${a.version}`).join(', ')})`,
  };
};

/**
 * A named rule at `at`: ok only if an adoption in force at `at` has a covenant version containing
 * ruleId (the first such by covenantId). Otherwise the reason says which of these it is: the rule is
 * in no adopted version; the versions with it are adopted only from a later date; or it was in force
 * but the version in force now no longer contains it.
 */
export const namedRuleInForce = (
  adoptions: readonly Adoption[],
  covenants: readonly Covenant[],
  ruleId: string,
  at: string,
): RuleLookup => {
  for (const adoption of adoptionsInForce(adoptions, at)) {
    const rule = covenantOf(covenants, adoption)?.rules.find((r) => r.ruleId === ruleId);
    if (rule !== undefined) return found(adoption, rule);
  }
  const withRule = adoptions
    .filter((adoption) => covenantOf(covenants, adoption)?.rules.some((r) => r.ruleId === ruleId))
    .sort((a, b) => ms(a.adoptedOn) - ms(b.adoptedOn));
  const first = withRule[0];
  if (first === undefined)
    return { ok: false, reason: `Rule ${ruleId} is in no covenant version the area adopted` };
  const now = ms(at);
  const earlier = withRule.find((adoption) => ms(adoption.adoptedOn) <= now);
  if (earlier === undefined)
    return {
      ok: false,
      reason: `Rule ${ruleId} binds the area only from ${first.adoptedOn} (${first.covenantId} v${first.version} adopted then); ${at} is before it`,
    };
  const current = adoptionsInForce(adoptions, at).find((a) => a.covenantId === earlier.covenantId);
  return {
    ok: false,
    reason: `Rule ${ruleId} no longer binds the area at ${at}: ${earlier.covenantId} v${current?.version ?? '?'} in force from ${current?.adoptedOn ?? '?'} no longer contains it`,
  };
};

// ---------------------------------------------------------------------------------------------------
// Cases

export interface Notice {
  stepId: string;
  channel: NoticeChannel;
  deliveredAt: string;
  proof: { kind: ProofKind; reference: string };
  /** The households told, or the building whose posting board carries it. */
  recipients: { unitIds: string[] } | { postingBoard: string };
}

export interface CaseEvent {
  at: string;
  actor: string;
  kind: 'opened' | 'notice' | 'escalated' | 'referred' | 'remedied' | 'paid';
  stepId: string;
  detail?: string;
}

export interface CaseState {
  status: 'open' | 'closed' | 'referred';
  stepIndex: number;
  stepStartedAt: string;
  /** The current step's notice, once recorded. */
  notice?: Notice;
  /** notice.deliveredAt + the step's deadlineHours, once the notice is recorded (absent on a referral). */
  deadlineAt?: string;
  closedAt?: string;
  history: CaseEvent[];
}

/**
 * A step's notice (request body). Recipients are written as one strict object with exactly one of
 * unitIds and postingBoard (a plain object documents better than a union); parsed, they are Notice's
 * union.
 */
export const noticeSchema = /* @__PURE__ */ z
  .object({
    stepId: slugSchema,
    channel: z.enum(NOTICE_CHANNELS),
    /** Any offset; stored in UTC ISO like every instant of the system. */
    deliveredAt: z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString()),
    proof: z.object({ kind: z.enum(PROOF_KINDS), reference: text(200) }).strict(),
    recipients: z
      .object({
        unitIds: z.array(text(200)).min(1).max(200).optional(),
        postingBoard: text(40).optional(),
      })
      .strict()
      .refine((r) => (r.unitIds === undefined) !== (r.postingBoard === undefined), {
        message: 'exactly one of unitIds and postingBoard',
      })
      // The refine holds exactly one; the output says so, as Notice's union.
      .transform((r): Notice['recipients'] =>
        r.unitIds !== undefined ? { unitIds: r.unitIds } : { postingBoard: r.postingBoard ?? '' },
      ),
  })
  .strict();

export type Transition =
  | { ok: true; state: CaseState }
  | { ok: false; status: 409 | 400; pointer: string; reason: string };

/** deliveredAt + hours, in UTC ISO to the millisecond. */
export const deadlineOf = (deliveredAt: string, hours: number): string =>
  new Date(ms(deliveredAt) + hours * HOUR_MS).toISOString();

const firstStep = (ladder: Ladder): LadderStep => {
  const step = ladder.steps[0];
  if (step === undefined) throw new RangeError(`The ${ladder.caseType} ladder has no steps`);
  return step;
};

/** A new case at its ladder's first step. */
export const openCase = (ladder: Ladder, at: string, actor: string, detail?: string): CaseState => ({
  status: 'open',
  stepIndex: 0,
  stepStartedAt: at,
  history: [
    {
      at,
      actor,
      kind: 'opened',
      stepId: firstStep(ladder).stepId,
      ...(detail === undefined ? {} : { detail }),
    },
  ],
});

const refuse = (status: 409 | 400, pointer: string, reason: string): Transition => ({
  ok: false,
  status,
  pointer,
  reason,
});

/**
 * Records the current step's notice, delivered at `notice.deliveredAt` and recorded at `at`. Refused:
 * the case is not open (409); the notice is for another step — a later one cannot skip this, an earlier
 * one is past (409, /body/stepId; an unknown step is 400); this step's notice is recorded already (409);
 * the channel is not the step's (400, /body/channel); delivered after `at` or before the step began
 * (400, /body/deliveredAt). A referral's notice makes the case 'referred'; any other sets the deadline.
 */
export const recordNotice = (
  state: CaseState,
  ladder: Ladder,
  notice: Notice,
  at: string,
  actor: string,
): Transition => {
  if (state.status !== 'open') return refuse(409, '/body', `The case is ${state.status}; it takes no notice`);
  const step = ladder.steps[state.stepIndex];
  if (step === undefined)
    return refuse(409, '/body', `The case is at step ${state.stepIndex}, beyond its ladder`);
  if (notice.stepId !== step.stepId) {
    const index = ladder.steps.findIndex((s) => s.stepId === notice.stepId);
    if (index < 0)
      return refuse(400, '/body/stepId', `The ${ladder.caseType} ladder has no step ${notice.stepId}`);
    return index > state.stepIndex
      ? refuse(
          409,
          '/body/stepId',
          `a step cannot be skipped: the case is at ${step.stepId}, before ${notice.stepId}`,
        )
      : refuse(409, '/body/stepId', `${notice.stepId} is already past: the case is at ${step.stepId}`);
  }
  if (state.notice !== undefined)
    return refuse(
      409,
      '/body/stepId',
      `The notice of ${step.stepId} is recorded already (delivered ${state.notice.deliveredAt})`,
    );
  if (!step.channels.includes(notice.channel))
    return refuse(
      400,
      '/body/channel',
      `${step.stepId} is notified by ${step.channels.join(' or ')}, not ${notice.channel}`,
    );
  const delivered = ms(notice.deliveredAt);
  if (!Number.isFinite(delivered)) return refuse(400, '/body/deliveredAt', 'Not a date and time');
  if (delivered > ms(at))
    return refuse(400, '/body/deliveredAt', `in the future: ${notice.deliveredAt} is after ${at}`);
  if (delivered < ms(state.stepStartedAt))
    return refuse(
      400,
      '/body/deliveredAt',
      `${notice.deliveredAt} is before the step ${step.stepId} began (${state.stepStartedAt})`,
    );

  const detail = `${notice.channel}, delivered ${notice.deliveredAt}, proof ${notice.proof.kind} ${notice.proof.reference}`;
  if (step.kind === 'referral')
    return {
      ok: true,
      state: {
        ...state,
        status: 'referred',
        notice,
        closedAt: at,
        history: [
          ...state.history,
          {
            at,
            actor,
            kind: 'referred',
            stepId: step.stepId,
            detail: `to ${step.referTo ?? 'the authority'}: ${detail}`,
          },
        ],
      },
    };
  const deadlineAt = deadlineOf(notice.deliveredAt, step.deadlineHours);
  return {
    ok: true,
    state: {
      ...state,
      notice,
      deadlineAt,
      history: [
        ...state.history,
        { at, actor, kind: 'notice', stepId: step.stepId, detail: `${detail}; due ${deadlineAt}` },
      ],
    },
  };
};

/**
 * A deadline timer fired. Idempotent: it acts only when the case is open, still at the step and
 * deadline the timer was set for, and the deadline has come (now >= deadlineAt); then the next step
 * begins at `now` with no notice yet. A repeated, stale or early timer changes nothing.
 */
export const onDeadline = (
  state: CaseState,
  ladder: Ladder,
  expected: { stepIndex: number; deadlineAt: string },
  now: string,
  actor: string,
): { state: CaseState; changed: boolean } => {
  const unchanged = { state, changed: false };
  if (state.status !== 'open' || state.stepIndex !== expected.stepIndex) return unchanged;
  if (state.deadlineAt === undefined || state.deadlineAt !== expected.deadlineAt) return unchanged;
  if (!(ms(now) >= ms(state.deadlineAt))) return unchanged;
  const missed = ladder.steps[state.stepIndex];
  const next = ladder.steps[state.stepIndex + 1];
  if (missed === undefined || next === undefined) return unchanged;
  const { notice: _notice, deadlineAt: _deadline, ...rest } = state;
  return {
    changed: true,
    state: {
      ...rest,
      stepIndex: state.stepIndex + 1,
      stepStartedAt: now,
      history: [
        ...state.history,
        {
          at: now,
          actor,
          kind: 'escalated',
          stepId: next.stepId,
          detail: `the deadline of ${missed.stepId} (${state.deadlineAt}) passed; now ${next.stepId}`,
        },
      ],
    },
  };
};

/** Closes an open case as remedied (or, for arrears, paid): 409 unless open, 400 on the other kind. */
export const remedy = (
  state: CaseState,
  ladder: Ladder,
  input: { kind: 'remedied' | 'paid'; at: string; actor: string; detail: string },
): Transition => {
  if (state.status !== 'open')
    return refuse(409, '/body', `The case is ${state.status}; it cannot be closed again`);
  if (input.kind !== ladder.closesWhen)
    return refuse(
      400,
      '/body/kind',
      `A ${ladder.caseType} case closes when ${ladder.closesWhen}, not ${input.kind}`,
    );
  const step = ladder.steps[state.stepIndex];
  return {
    ok: true,
    state: {
      ...state,
      status: 'closed',
      closedAt: input.at,
      history: [
        ...state.history,
        {
          at: input.at,
          actor: input.actor,
          kind: input.kind,
          stepId: step?.stepId ?? '',
          detail: input.detail,
        },
      ],
    },
  };
};

// ---------------------------------------------------------------------------------------------------
// Statistics

export interface CaseSummary {
  caseType: CaseType;
  status: CaseState['status'];
  openedAt: string;
  closedAt?: string;
  stepIndex: number;
}

export interface CaseStatistics {
  byType: Record<
    CaseType,
    {
      opened: number;
      open: number;
      closed: number;
      referred: number;
      closedAtFirstStep: number;
      medianDaysToClose: number | null;
    }
  >;
  total: number;
}

/**
 * Counts per case type, and the median of the closed cases' (closedAt − openedAt) in days, rounded to
 * 0.1 (the middle two averaged on an even count); null when none is closed. Referred cases are not
 * closed: the area did not resolve them.
 */
export const caseStatistics = (cases: readonly CaseSummary[]): CaseStatistics => {
  const byType = Object.fromEntries(
    CASE_TYPES.map((caseType) => {
      const ofType = cases.filter((c) => c.caseType === caseType);
      const closed = ofType.filter((c) => c.status === 'closed');
      const durations = closed
        .filter((c) => c.closedAt !== undefined)
        .map((c) => ms(c.closedAt!) - ms(c.openedAt))
        .sort((a, b) => a - b);
      const mid = durations.length >> 1;
      const median =
        durations.length === 0
          ? null
          : durations.length % 2 === 1
            ? durations[mid]!
            : (durations[mid - 1]! + durations[mid]!) / 2;
      return [
        caseType,
        {
          opened: ofType.length,
          open: ofType.filter((c) => c.status === 'open').length,
          closed: closed.length,
          referred: ofType.filter((c) => c.status === 'referred').length,
          closedAtFirstStep: closed.filter((c) => c.stepIndex === 0).length,
          medianDaysToClose: median === null ? null : Math.round((median * 10) / DAY_MS) / 10,
        },
      ];
    }),
  ) as CaseStatistics['byType'];
  return { byType, total: cases.length };
};
