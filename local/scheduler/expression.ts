import { parseScheduleExpression, ScheduleExpressionError } from '../schedules.js';

/**
 * A Scheduler schedule expression: `at(yyyy-mm-ddThh:mm:ss)` (one time), or `rate(…)` / `cron(…)`
 * (recurring, parsed by the EventBridge rules' own parser in local/schedules.ts), each read in the
 * schedule's time zone.
 */
export type SchedulerExpression =
  | { kind: 'at' /** Epoch milliseconds. */; at: number }
  | { kind: 'rate'; everyMs: number }
  | { kind: 'cron'; matches: (wallClock: Date) => boolean };

const AT = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;

const formatters = new Map<string, Intl.DateTimeFormat>();
const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

/** Whether the IANA time zone is known to this Node (Scheduler accepts IANA names, UTC by default). */
export const isTimeZone = (timeZone: string): boolean => {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
};

/** The wall-clock time in `timeZone` at `instant`, as a Date whose UTC fields carry it (cron reads UTC fields). */
export const wallClock = (instant: number, timeZone: string): Date => {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return new Date(instant);
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant)))
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return new Date(
    Date.UTC(
      parts.year as number,
      (parts.month as number) - 1,
      parts.day as number,
      parts.hour as number,
      parts.minute as number,
      parts.second as number,
    ) +
      (instant % 1000),
  );
};

/** The instant at which the wall clock in `timeZone` reads `wall` (whose UTC fields carry the reading). */
const instantOfWallClock = (wall: number, timeZone: string): number => {
  let instant = wall;
  for (let pass = 0; pass < 2; pass++) instant = wall - (wallClock(instant, timeZone).getTime() - instant);
  return instant;
};

/** Parses the expression; throws ScheduleExpressionError with AWS-like wording when it is not valid. */
export const parseSchedulerExpression = (expression: string, timeZone: string): SchedulerExpression => {
  const text = expression.trim();
  if (text.startsWith('at(')) {
    const match = AT.exec(text);
    if (match === null)
      throw new ScheduleExpressionError(`${expression}: an at() expression reads at(yyyy-mm-ddThh:mm:ss)`);
    const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as number[];
    const wall = Date.UTC(year as number, (month as number) - 1, day, hour, minute, second);
    const check = new Date(wall);
    if (
      check.getUTCMonth() !== (month as number) - 1 ||
      check.getUTCDate() !== day ||
      (hour as number) > 23 ||
      (minute as number) > 59 ||
      (second as number) > 59
    )
      throw new ScheduleExpressionError(`${expression} is not a valid date and time`);
    return { kind: 'at', at: instantOfWallClock(wall, timeZone) };
  }
  const parsed = parseScheduleExpression(text);
  return parsed.kind === 'rate' ? parsed : { kind: 'cron', matches: parsed.matches };
};

const MINUTE = 60_000;
/** How far ahead one search for a cron match looks before it sets a timer to look again. */
const CRON_HORIZON_MS = 2 * 24 * 60 * MINUTE;

export type NextFire = { fire: number } | { recheck: number } | 'done';

/**
 * When a schedule next fires, given when it last fired: `fire` at an instant, `recheck` (a cron schedule
 * with no match within the search horizon) or `done` (a one-time schedule that fired, or a recurring
 * one past its end date). One-time schedules fire at their time even when it has passed (immediately).
 */
export const nextFire = (options: {
  expression: SchedulerExpression;
  timeZone: string;
  /** Epoch milliseconds on the cloud's clock (local/clock.ts), which tests may have moved ahead. */
  now: number;
  /** Where a rate schedule's intervals are counted from: StartDate, else when it was created or updated. */
  anchor: number;
  startDate?: number;
  endDate?: number;
  lastFired?: number;
  /** Multiplies rate() intervals (tests shorten a minute to milliseconds). */
  timeScale?: number;
}): NextFire => {
  const { expression, now, lastFired } = options;
  if (expression.kind === 'at') return lastFired === undefined ? { fire: expression.at } : 'done';
  const endDate = options.endDate ?? Number.POSITIVE_INFINITY;
  if (expression.kind === 'rate') {
    const period = Math.max(10, expression.everyMs * (options.timeScale ?? 1));
    const { anchor } = options;
    // Without a StartDate a rate schedule starts invoking as soon as it is created; with one, from then on.
    const from =
      lastFired !== undefined
        ? Math.max(lastFired + 1, now)
        : options.startDate !== undefined
          ? Math.max(anchor, now)
          : anchor;
    const next = anchor + Math.ceil((from - anchor) / period) * period;
    return next > endDate ? 'done' : { fire: next };
  }
  const from = Math.max(now, options.startDate ?? now, lastFired === undefined ? now : lastFired + 1);
  const horizon = from + CRON_HORIZON_MS;
  for (let minute = Math.ceil(from / MINUTE) * MINUTE; minute <= horizon; minute += MINUTE) {
    if (minute > endDate) return 'done';
    if (expression.matches(wallClock(minute, options.timeZone))) return { fire: minute };
  }
  return horizon > endDate ? 'done' : { recheck: horizon };
};

/** Scheduler's own rendering of a time for context attributes (`<aws.scheduler.scheduled-time>`). */
export const isoSeconds = (instant: number): string =>
  new Date(Math.floor(instant / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
