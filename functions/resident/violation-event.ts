/**
 * What ingest (and the violations timers) hand the resident code when a sensor finds corridor clutter or
 * garbage not sorted: a one-time Scheduler timer on the resident code's timer function, a minute on,
 * which opens the case (from-violation.ts). Through the Scheduler rather than in ingest's own process:
 * ingest's bundle stays within its size (the resident rules are not in it), and opening a case is a
 * human process with days-long deadlines, for which a minute is nothing. Named by the violation, so a
 * retried delivery asks once; opening is idempotent besides.
 */
import { createHash } from 'node:crypto';
import { requireEnv } from '../shared/env.js';
import { type Timers, timersFor } from '../shared/timers.js';

/** The violation scenarios that are resident-code cases too, and their case types. */
export const VIOLATION_CASE_TYPES = {
  'corridor-clutter': 'corridor-clutter',
  'garbage-sorting': 'garbage-sorting',
} as const;
export const RESIDENT_CODE_SCENARIOS: ReadonlySet<string> = new Set(Object.keys(VIOLATION_CASE_TYPES));

export interface ViolationCaseEvent {
  kind: 'open-from-violation';
  subDistrictId: string;
  compoundId: string;
  areaId?: string;
  scenarioId: string;
  violationId: string;
  thingName: string;
  zoneId: string;
  building?: string;
  floor?: number;
  observedAt: string;
}

/** How long after the violation its case is opened. */
export const CASE_OPENING_DELAY_MS = 60_000;

let timers: Timers<ViolationCaseEvent> | undefined;

export const requestCaseForViolation = async (
  event: Omit<ViolationCaseEvent, 'kind'>,
  now: string,
): Promise<void> => {
  timers ??= timersFor<ViolationCaseEvent>({
    functionArn: requireEnv('RESIDENT_TIMER_FUNCTION_ARN'),
    roleArn: requireEnv('RESIDENT_SCHEDULER_ROLE_ARN'),
  });
  const name = `rv-${createHash('sha256').update(`${event.subDistrictId}/${event.violationId}`).digest('hex').slice(0, 48)}`;
  await timers.schedule(name, new Date(Date.parse(now) + CASE_OPENING_DELAY_MS).toISOString(), {
    kind: 'open-from-violation',
    ...event,
  });
};
