/**
 * Smart-community scenarios as data: which device signal, which condition, who is assigned with what
 * deadlines, and how a case escalates. The catalogue is versioned; a street office tunes a scenario per
 * compound with an override, never by editing the catalogue. Pure: no I/O, no clock.
 */
import * as z from 'zod';
import { DEVICE_TYPES, ZONE_KINDS } from '../registry/domain.js';
import { signalSchema } from './domain.js';

export const ASSIGNEES = [
  'property-guard',
  'property-manager',
  'command-centre',
  'law-enforcement',
  'caseworker',
  'maintenance',
] as const;
export type Assignee = (typeof ASSIGNEES)[number];
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const SCENARIO_DOMAINS = ['security', 'governance', 'elderly-care', 'commerce'] as const;
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'Lower-case letters, digits and hyphens, 2–63 characters');

/**
 * A test on one field of a device message. `field` is a dot path (`battery.level`); every operator
 * given must hold. Numeric comparisons hold only for numbers, so `"5" > 3` is false rather than coerced.
 */
export const predicateSchema = z
  .object({
    field: z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'A dot path such as "occupied" or "battery.level"'),
    equals: z.json().optional(),
    in: z.array(z.json()).min(1, 'in needs at least one value').optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
  })
  .strict()
  .refine((p) => (['equals', 'in', 'gt', 'gte', 'lt', 'lte'] as const).some((op) => p[op] !== undefined), {
    message: 'A predicate needs at least one of equals, in, gt, gte, lt, lte',
  });
export type Predicate = z.infer<typeof predicateSchema>;

/** Deadlines run from the moment the step is dispatched; handling cannot be due before acknowledging. */
export const chainStepSchema = z
  .object({
    assignee: z.enum(ASSIGNEES),
    ackSeconds: z
      .number()
      .int('ackSeconds must be a whole number of seconds')
      .positive('ackSeconds must be a positive whole number of seconds'),
    handleSeconds: z
      .number()
      .int('handleSeconds must be a whole number of seconds')
      .positive('handleSeconds must be a positive whole number of seconds'),
  })
  .strict()
  .refine((step) => step.handleSeconds >= step.ackSeconds, {
    message: 'handleSeconds must not be shorter than ackSeconds (both run from dispatch)',
    path: ['handleSeconds'],
  });
export type ChainStep = z.infer<typeof chainStepSchema>;

const chainSchema = z
  .array(chainStepSchema)
  .min(1, 'A chain needs at least one step')
  .max(5, 'A chain has at most five steps');

const graceSeconds = z
  .number()
  .int('graceSeconds must be a whole number of seconds')
  .min(0, 'graceSeconds cannot be negative');
const forSeconds = z
  .number()
  .int('forSeconds must be a whole number of seconds')
  .positive('forSeconds must be a positive whole number of seconds');

export const conditionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('instant'), when: predicateSchema }).strict(),
  z.object({ kind: z.literal('sustained'), when: predicateSchema, graceSeconds }).strict(),
  z
    .object({
      kind: z.literal('absence'),
      signals: z.array(signalSchema).min(1, 'An absence needs at least one presence signal'),
      forSeconds,
    })
    .strict(),
]);
export type Condition = z.infer<typeof conditionSchema>;

/**
 * What a street office may tune per compound. Which fields make sense depends on the scenario's
 * condition; `overrideSchemaFor` adds those checks.
 */
export const scenarioOverrideSchema = z
  .object({
    enabled: z.boolean().optional(),
    graceSeconds: graceSeconds.optional(),
    forSeconds: forSeconds.optional(),
    chain: chainSchema.optional(),
    severity: z.enum(SEVERITIES).optional(),
  })
  .strict();
export type ScenarioOverride = z.infer<typeof scenarioOverrideSchema>;

/**
 * A scenario. Decisions worth knowing:
 * - `zoneKinds` (optional) narrows a scenario to devices installed in those zones: one geomagnetic
 *   sensor type serves fire lanes, safety passages and parking spaces.
 * - A message is "on" when it matches the condition's `when`, "off" when it matches `clearsWhen` (or,
 *   without `clearsWhen`, when it does not match `when`), and otherwise neutral.
 * - `guidance: true` marks parking guidance: the engine reports occupancy changes, never violations.
 *   It must use an instant condition (occupied) and still carries a one-step chain so every scenario has
 *   the same shape.
 * - `enabled: false` (from an override) keeps the scenario in the catalogue but the engine ignores it.
 * - `override` records the override that produced an effective scenario; `version` stays the
 *   catalogue version, so `violation.scenarioVersion` always names a catalogue entry.
 */
export const scenarioSchema = z
  .object({
    scenarioId: slug,
    version: z.number().int().min(1),
    domain: z.enum(SCENARIO_DOMAINS),
    title: z.string().trim().min(1).max(200),
    deviceTypes: z.array(z.enum(DEVICE_TYPES)).min(1, 'A scenario needs at least one device type'),
    zoneKinds: z.array(z.enum(ZONE_KINDS)).min(1).optional(),
    signal: signalSchema,
    condition: conditionSchema,
    clearsWhen: predicateSchema.optional(),
    autoVerifyOnClear: z.boolean(),
    severity: z.enum(SEVERITIES),
    chain: chainSchema,
    command: z
      .object({
        command: signalSchema,
        payload: z.record(z.string(), z.json()),
      })
      .strict()
      .optional(),
    guidance: z.literal(true).optional(),
    enabled: z.boolean().optional(),
    override: scenarioOverrideSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.condition.kind === 'absence') {
      if (s.clearsWhen) {
        ctx.addIssue({
          code: 'custom',
          path: ['clearsWhen'],
          message: 'An absence scenario clears when a presence signal arrives; clearsWhen does not apply',
        });
      }
      if (!s.condition.signals.includes(s.signal)) {
        ctx.addIssue({
          code: 'custom',
          path: ['signal'],
          message: 'An absence scenario must list its signal among the presence signals',
        });
      }
    }
    if (s.guidance && s.condition.kind !== 'instant') {
      ctx.addIssue({
        code: 'custom',
        path: ['condition', 'kind'],
        message: 'A guidance scenario reports occupancy as it changes: use an instant condition',
      });
    }
  });
export type Scenario = z.infer<typeof scenarioSchema>;

const step = (assignee: Assignee, ackSeconds: number, handleSeconds: number): ChainStep => ({
  assignee,
  ackSeconds,
  handleSeconds,
});

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;

/** The usual ladder: the guard on duty, then the property manager, the command centre, enforcement. */
const securityChain = (ack: number, handle: number): ChainStep[] => [
  step('property-guard', ack, handle),
  step('property-manager', 2 * ack, 2 * handle),
  step('command-centre', 3 * ack, 4 * handle),
  step('law-enforcement', 6 * ack, 8 * handle),
];
const repairChain: ChainStep[] = [
  step('maintenance', HOUR, DAY),
  step('property-manager', 2 * HOUR, 2 * DAY),
  step('command-centre', 4 * HOUR, 3 * DAY),
];

export const SCENARIOS: readonly Scenario[] = [
  {
    scenarioId: 'fire-lane-occupied',
    version: 1,
    domain: 'security',
    title: '消防通道占用 Fire lane occupied',
    deviceTypes: ['geomagnetic-sensor'],
    zoneKinds: ['fire-lane'],
    signal: 'occupancy',
    condition: { kind: 'sustained', when: { field: 'occupied', equals: true }, graceSeconds: 5 * MINUTE },
    clearsWhen: { field: 'occupied', equals: false },
    autoVerifyOnClear: true,
    severity: 'high',
    chain: securityChain(5 * MINUTE, 30 * MINUTE),
  },
  {
    scenarioId: 'safety-passage-occupied',
    version: 1,
    domain: 'security',
    title: '安全通道占用 Safety passage occupied',
    deviceTypes: ['geomagnetic-sensor'],
    zoneKinds: ['safety-passage'],
    signal: 'occupancy',
    condition: { kind: 'sustained', when: { field: 'occupied', equals: true }, graceSeconds: 5 * MINUTE },
    clearsWhen: { field: 'occupied', equals: false },
    autoVerifyOnClear: true,
    severity: 'high',
    chain: securityChain(5 * MINUTE, 30 * MINUTE),
  },
  {
    scenarioId: 'smoke-alarm',
    version: 1,
    domain: 'security',
    title: '烟感报警 Smoke alarm',
    deviceTypes: ['smoke-detector'],
    signal: 'alarm',
    condition: { kind: 'instant', when: { field: 'smoke', equals: true } },
    clearsWhen: { field: 'smoke', equals: false },
    autoVerifyOnClear: false,
    severity: 'critical',
    chain: [
      step('property-guard', MINUTE, 5 * MINUTE),
      step('command-centre', MINUTE, 10 * MINUTE),
      step('law-enforcement', 2 * MINUTE, 30 * MINUTE),
    ],
  },
  {
    scenarioId: 'e-bike-in-elevator',
    version: 1,
    domain: 'security',
    title: '电动车进电梯 E-bike in elevator',
    deviceTypes: ['elevator-camera'],
    signal: 'event',
    condition: { kind: 'instant', when: { field: 'event', equals: 'e-bike-detected' } },
    clearsWhen: { field: 'event', equals: 'clear' },
    autoVerifyOnClear: true,
    severity: 'high',
    chain: [
      step('property-guard', 2 * MINUTE, 10 * MINUTE),
      step('property-manager', 5 * MINUTE, 30 * MINUTE),
      step('command-centre', 10 * MINUTE, HOUR),
    ],
    command: { command: 'hold-doors', payload: { seconds: 60 } },
  },
  {
    scenarioId: 'gate-forced-open',
    version: 1,
    domain: 'security',
    title: '门禁被强行打开 Gate forced open',
    deviceTypes: ['gate'],
    signal: 'state',
    condition: { kind: 'instant', when: { field: 'state', equals: 'forced-open' } },
    clearsWhen: { field: 'state', equals: 'closed' },
    autoVerifyOnClear: false,
    severity: 'high',
    chain: securityChain(2 * MINUTE, 15 * MINUTE),
  },
  {
    scenarioId: 'gate-held-open',
    version: 1,
    domain: 'security',
    title: '门禁长时间未关 Gate held open',
    deviceTypes: ['gate'],
    signal: 'state',
    condition: { kind: 'sustained', when: { field: 'state', equals: 'held-open' }, graceSeconds: 2 * MINUTE },
    clearsWhen: { field: 'state', equals: 'closed' },
    autoVerifyOnClear: true,
    severity: 'medium',
    chain: securityChain(5 * MINUTE, 30 * MINUTE).slice(0, 3),
  },
  {
    scenarioId: 'corridor-clutter',
    version: 1,
    domain: 'governance',
    title: '楼道堆物 Corridor clutter',
    deviceTypes: ['camera'],
    zoneKinds: ['corridor'],
    signal: 'event',
    condition: { kind: 'instant', when: { field: 'event', equals: 'corridor-clutter' } },
    clearsWhen: { field: 'event', equals: 'clear' },
    autoVerifyOnClear: false,
    severity: 'medium',
    chain: securityChain(HOUR, DAY).slice(0, 3),
  },
  {
    scenarioId: 'garbage-sorting',
    version: 1,
    domain: 'governance',
    title: '垃圾分类违规 Garbage sorting violation',
    deviceTypes: ['smart-bin'],
    signal: 'event',
    condition: { kind: 'instant', when: { field: 'event', equals: 'sorting-violation' } },
    autoVerifyOnClear: false,
    severity: 'low',
    chain: securityChain(HOUR, DAY).slice(0, 3),
  },
  {
    scenarioId: 'street-light-fault',
    version: 1,
    domain: 'governance',
    title: '路灯故障 Street light fault',
    deviceTypes: ['street-light'],
    signal: 'status',
    condition: { kind: 'instant', when: { field: 'ok', equals: false } },
    clearsWhen: { field: 'ok', equals: true },
    autoVerifyOnClear: true,
    severity: 'medium',
    chain: repairChain,
  },
  {
    scenarioId: 'charger-fault',
    version: 1,
    domain: 'governance',
    title: '充电桩故障或飞线充电 Charger fault or flying-wire charging',
    deviceTypes: ['charger'],
    signal: 'status',
    condition: { kind: 'instant', when: { field: 'state', in: ['fault', 'flying-wire'] } },
    clearsWhen: { field: 'state', equals: 'ok' },
    autoVerifyOnClear: true,
    severity: 'high',
    chain: [
      step('property-guard', 10 * MINUTE, HOUR),
      step('property-manager', 30 * MINUTE, 4 * HOUR),
      step('command-centre', HOUR, 8 * HOUR),
      step('law-enforcement', 2 * HOUR, DAY),
    ],
  },
  {
    scenarioId: 'device-silent',
    version: 1,
    domain: 'governance',
    title: '设备离线 Device silent',
    deviceTypes: [...DEVICE_TYPES],
    signal: 'heartbeat',
    condition: { kind: 'absence', signals: ['heartbeat'], forSeconds: HOUR },
    autoVerifyOnClear: true,
    severity: 'low',
    chain: repairChain,
  },
  {
    scenarioId: 'parking-guidance',
    version: 1,
    domain: 'governance',
    title: '停车诱导 Parking guidance',
    deviceTypes: ['geomagnetic-sensor'],
    zoneKinds: ['parking-space'],
    signal: 'occupancy',
    condition: { kind: 'instant', when: { field: 'occupied', equals: true } },
    clearsWhen: { field: 'occupied', equals: false },
    autoVerifyOnClear: false,
    severity: 'low',
    chain: [step('maintenance', HOUR, DAY)],
    guidance: true,
  },
  {
    scenarioId: 'no-water-use',
    version: 1,
    domain: 'elderly-care',
    title: '独居老人用水异常 No water use by an elder living alone',
    deviceTypes: ['water-meter'],
    zoneKinds: ['residence'],
    signal: 'usage',
    condition: { kind: 'absence', signals: ['usage'], forSeconds: DAY },
    autoVerifyOnClear: false,
    severity: 'high',
    chain: [step('caseworker', 30 * MINUTE, 2 * HOUR), step('command-centre', 30 * MINUTE, 4 * HOUR)],
  },
  {
    scenarioId: 'emergency-button',
    version: 1,
    domain: 'elderly-care',
    title: '紧急呼叫按钮 Emergency button',
    deviceTypes: ['emergency-button'],
    signal: 'pressed',
    condition: { kind: 'instant', when: { field: 'pressed', equals: true } },
    autoVerifyOnClear: false,
    severity: 'critical',
    chain: [step('caseworker', 2 * MINUTE, 20 * MINUTE), step('command-centre', 2 * MINUTE, 30 * MINUTE)],
  },
  {
    scenarioId: 'shopfront-road-occupied',
    version: 1,
    domain: 'commerce',
    title: '沿街商铺占道经营 Shopfront occupying the road',
    deviceTypes: ['camera'],
    zoneKinds: ['shopfront'],
    signal: 'event',
    condition: {
      kind: 'sustained',
      when: { field: 'event', equals: 'road-occupied' },
      graceSeconds: 10 * MINUTE,
    },
    clearsWhen: { field: 'event', equals: 'clear' },
    autoVerifyOnClear: true,
    severity: 'medium',
    chain: securityChain(15 * MINUTE, 2 * HOUR),
  },
];

/** The override schema for one scenario: grace only for sustained, forSeconds only for absence. */
export const overrideSchemaFor = (base: Scenario) =>
  scenarioOverrideSchema.superRefine((override, ctx) => {
    const kind = base.condition.kind;
    if (override.graceSeconds !== undefined && kind !== 'sustained') {
      ctx.addIssue({
        code: 'custom',
        path: ['graceSeconds'],
        message: `graceSeconds applies only to sustained scenarios; ${base.scenarioId} is ${kind}`,
      });
    }
    if (override.forSeconds !== undefined && kind !== 'absence') {
      ctx.addIssue({
        code: 'custom',
        path: ['forSeconds'],
        message: `forSeconds applies only to absence scenarios; ${base.scenarioId} is ${kind}`,
      });
    }
  });

/**
 * The scenario a compound runs: the catalogue entry with the street office's override applied. Throws
 * a `z.ZodError` (with the offending path) for an invalid override. The result keeps the catalogue
 * `version` and records the override under `override`; applying a second override merges into the
 * first, the later value winning field by field.
 */
export function applyOverride(base: Scenario, override: ScenarioOverride): Scenario {
  const parsed = overrideSchemaFor(base).parse(override);
  const condition: Condition =
    base.condition.kind === 'sustained' && parsed.graceSeconds !== undefined
      ? { ...base.condition, graceSeconds: parsed.graceSeconds }
      : base.condition.kind === 'absence' && parsed.forSeconds !== undefined
        ? { ...base.condition, forSeconds: parsed.forSeconds }
        : base.condition;
  return scenarioSchema.parse({
    ...base,
    condition,
    ...(parsed.enabled === undefined ? {} : { enabled: parsed.enabled }),
    ...(parsed.severity === undefined ? {} : { severity: parsed.severity }),
    ...(parsed.chain === undefined ? {} : { chain: parsed.chain }),
    override: { ...base.override, ...parsed },
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** Follows a dot path through own properties only (never the prototype); array indexes are allowed. */
const valueAt = (fields: Record<string, unknown>, path: string): unknown => {
  let current: unknown = fields;
  for (const key of path.split('.')) {
    if (!isRecord(current) || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
};

/** Deep equality of JSON values; object key order does not matter. */
const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, index) => jsonEqual(item, b[index]))
    );
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = Object.keys(a);
  return (
    keys.length === Object.keys(b).length &&
    keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]))
  );
};

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** True when every operator of the predicate holds for the field; a missing field matches nothing. */
export function matchPredicate(predicate: Predicate, fields: Record<string, unknown>): boolean {
  const value = valueAt(fields, predicate.field);
  if (value === undefined) return false;
  if (predicate.equals !== undefined && !jsonEqual(value, predicate.equals)) return false;
  if (predicate.in !== undefined && !predicate.in.some((candidate) => jsonEqual(value, candidate))) {
    return false;
  }
  const bounds: [number | undefined, (v: number, bound: number) => boolean][] = [
    [predicate.gt, (v, bound) => v > bound],
    [predicate.gte, (v, bound) => v >= bound],
    [predicate.lt, (v, bound) => v < bound],
    [predicate.lte, (v, bound) => v <= bound],
  ];
  for (const [bound, holds] of bounds) {
    if (bound !== undefined && !(isNumber(value) && holds(value, bound))) return false;
  }
  return true;
}

/** The signals a scenario listens to: its own, plus every presence signal of an absence. */
export const signalsOf = (scenario: Scenario): readonly string[] =>
  scenario.condition.kind === 'absence' ? scenario.condition.signals : [scenario.signal];

/** Whether a scenario applies to a device in a zone of this kind (scenarios without zoneKinds: any). */
export const appliesToZone = (scenario: Scenario, zoneKind: string): boolean =>
  scenario.zoneKinds === undefined || (scenario.zoneKinds as readonly string[]).includes(zoneKind);

/**
 * The scenarios a device message concerns. Without `zoneKind` every scenario of the device type and
 * signal is returned (the caller filters with `appliesToZone`); with it, only those for that zone kind.
 * Disabled scenarios are returned too: the engine reports them as ignored ('disabled').
 */
export function scenariosFor(
  deviceType: string,
  signal: string,
  scenarios: readonly Scenario[] = SCENARIOS,
  zoneKind?: string,
): Scenario[] {
  return scenarios.filter(
    (scenario) =>
      (scenario.deviceTypes as readonly string[]).includes(deviceType) &&
      signalsOf(scenario).includes(signal) &&
      (zoneKind === undefined || appliesToZone(scenario, zoneKind)),
  );
}
