/** The evaluation's request bodies that are not rules of their own (the rules are in domain.ts). */
import * as z from 'zod';
import { slugSchema } from '../registry/domain.js';

export const EVALUATION_ROLES = {
  /** Indicator systems, cycles, assignments, finalising, the fund. */
  organise: ['street-office'],
  /** Score sheets: the assigned evaluators. */
  score: ['evaluator'],
  /** Cycles (an evaluator its own assignments) and indicator systems. */
  read: ['street-office', 'evaluator'],
  /** A committee's report. */
  report: ['street-office', 'evaluator', 'committee-member'],
  /** Disclosures an area's committee posts (maintenance fund half-yearly, common income quarterly). */
  disclose: ['committee-member', 'street-office'],
  /** Self-governance projects: the committee proposes and spends, the office approves. */
  project: ['committee-member', 'street-office'],
  approveProject: ['street-office'],
} as const;

export const createCycleSchema = z
  .object({
    cycleId: slugSchema,
    year: z.number().int().min(2000).max(2100),
    systemId: slugSchema,
    systemVersion: z.number().int().min(1),
    /** Evaluators' fractions on one indicator further apart than this must be reconciled. */
    disagreementThreshold: z.number().min(0).max(1).default(0.3),
  })
  .strict();

export const assignmentSchema = z
  .object({
    committeeId: z.string().trim().min(1).max(120),
    /** The evaluator's user id (the token's sub). */
    evaluatorId: z.string().trim().min(1).max(128),
    name: z.string().trim().min(1).max(100),
    /** The registry's owner ids under which the evaluator owns property, if any (declared, then checked). */
    ownerIds: z.array(z.string().trim().min(1).max(80)).max(20).default([]),
    /** The property company the evaluator works for, if any. */
    employerCompanyId: slugSchema.optional(),
  })
  .strict();

export const disclosureSchema = z
  .object({
    kind: z.enum(['maintenance-fund', 'common-income']),
    /** The period disclosed, e.g. 2026-H1 or 2026-Q3. */
    period: z.string().regex(/^\d{4}-(H[12]|Q[1-4])$/, 'A half-year (2026-H1) or a quarter (2026-Q3)'),
    documentRef: z.string().trim().min(1).max(500),
  })
  .strict();

export const reportQuerySchema = z.object({ format: z.enum(['json', 'html']).default('json') }).strict();

/** Secretaries: the committee and the office run the post; owners approve it in a general meeting. */
export const SECRETARY_ROLES = {
  manage: ['committee-member', 'street-office'],
  read: ['committee-member', 'street-office'],
} as const;

const fen = (what: string) =>
  z
    .number({ error: `${what} is a number of fen` })
    .int({ error: `${what} is in whole fen (1 fen = ¥0.01)` })
    .min(0)
    .max(100_000_000);

/** The post and its pay cap, as a passed matter of the area's general meeting approved them. */
export const secretaryPostSchema = z
  .object({
    meetingId: slugSchema,
    matterId: slugSchema,
    /** The most a month's pay may be. */
    payCapFen: fen('payCapFen'),
  })
  .strict();

export const hireSecretarySchema = z
  .object({
    secretaryId: slugSchema,
    name: z.string().trim().min(1).max(100),
    /** The registry's owner id, if the secretary is an owner of the area (a committee member cannot be). */
    ownerId: z.string().trim().min(1).max(80).optional(),
    payFen: fen('payFen'),
    startsOn: z.iso.date(),
    /** Required before the secretary starts. */
    training: z
      .object({
        course: z.string().trim().min(1).max(200),
        completedOn: z.iso.date(),
        certificateRef: z.string().trim().min(1).max(500),
      })
      .strict()
      .optional(),
  })
  .strict();

export const payChangeSchema = z.object({ payFen: fen('payFen') }).strict();

export const DUTY_KINDS = ['minutes', 'notice', 'archive', 'disclosure-reminder'] as const;
export const dutySchema = z
  .object({
    kind: z.enum(DUTY_KINDS),
    reference: z.string().trim().min(1).max(500),
    /** For a disclosure-deadline reminder: the deadline. */
    dueBy: z.iso.date().optional(),
  })
  .strict();

/** A self-governance project the guidance fund pays for: proposed by the committee, approved by the office. */
export const projectSchema = z
  .object({
    projectId: slugSchema,
    title: z.string().trim().min(1).max(200),
    description: z.string().trim().min(1).max(4000),
    budgetFen: fen('budgetFen').refine((value) => value > 0, 'A project has a budget'),
  })
  .strict();

export const spendingSchema = z
  .object({
    amountFen: fen('amountFen').refine((value) => value > 0, 'Spending is more than nothing'),
    description: z.string().trim().min(1).max(500),
    receiptRef: z.string().trim().min(1).max(500),
  })
  .strict();
