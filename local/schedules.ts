import type { LambdaService } from './lambda/service.js';
import type { ScheduleSpec } from './template.js';

export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}

const UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

const parseField = (
  field: string,
  min: number,
  max: number,
  names: string[] = [],
  nameOffset = 0,
): Set<number> | 'any' => {
  if (field === '*' || field === '?') return 'any';
  const values = new Set<number>();
  const value = (text: string) => {
    const index = names.indexOf(text.toUpperCase());
    const number = index >= 0 ? index + nameOffset : Number(text);
    if (!Number.isInteger(number) || number < min || number > max)
      throw new ScheduleExpressionError(`cron field value ${text} is out of range`);
    return number;
  };
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new ScheduleExpressionError(`cron step ${stepText} is not valid`);
    const [from, to] =
      range === '*'
        ? [min, max]
        : range.includes('-')
          ? range.split('-').map(value)
          : [value(range), stepText ? max : value(range)];
    for (let current = from as number; current <= (to as number); current += step) values.add(current);
  }
  return values;
};

/** EventBridge cron(minutes hours day-of-month month day-of-week year), evaluated in UTC. */
export const parseCron = (body: string): ((date: Date) => boolean) => {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) throw new ScheduleExpressionError(`cron(${body}) needs 6 fields`);
  if (fields.some((field) => /[LW#]/.test(field)))
    throw new ScheduleExpressionError(`cron(${body}): L, W and # are not supported locally`);
  const [minute, hour, dom, month, dow, year] = [
    parseField(fields[0] as string, 0, 59),
    parseField(fields[1] as string, 0, 23),
    parseField(fields[2] as string, 1, 31),
    parseField(fields[3] as string, 1, 12, MONTH_NAMES, 1),
    parseField(fields[4] as string, 1, 7, DAY_NAMES, 1),
    parseField(fields[5] as string, 1970, 2199),
  ];
  const matches = (set: Set<number> | 'any', value: number) => set === 'any' || set.has(value);
  return (date) =>
    matches(minute, date.getUTCMinutes()) &&
    matches(hour, date.getUTCHours()) &&
    matches(dom, date.getUTCDate()) &&
    matches(month, date.getUTCMonth() + 1) &&
    matches(dow, date.getUTCDay() + 1) &&
    matches(year, date.getUTCFullYear());
};

export type Schedule = { kind: 'rate'; everyMs: number } | { kind: 'cron'; matches: (date: Date) => boolean };

export const parseScheduleExpression = (expression: string): Schedule => {
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const amount = Number(rate[1]);
    if (amount < 1) throw new ScheduleExpressionError(`${expression}: the rate must be positive`);
    return { kind: 'rate', everyMs: amount * (UNITS[rate[2] as string] as number) };
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  if (cron) return { kind: 'cron', matches: parseCron(cron[1] as string) };
  throw new ScheduleExpressionError(`${expression} is not a rate() or cron() expression`);
};

/**
 * EventBridge scheduled rules as timers: each target Lambda is invoked asynchronously with a
 * "Scheduled Event" like EventBridge's. `timeScale` shortens rate() schedules for tests (0.001 turns a
 * minute into 60 ms); cron schedules are checked each minute in real time.
 */
export const startSchedules = (options: {
  schedules: ScheduleSpec[];
  lambda: LambdaService;
  timeScale?: number;
  log?: (line: string) => void;
}): { stop(): void } => {
  const timers: NodeJS.Timeout[] = [];
  const fire = (spec: ScheduleSpec, time: Date) => {
    for (const target of spec.targets) {
      const event =
        target.input !== undefined
          ? JSON.parse(target.input)
          : {
              version: '0',
              id: crypto.randomUUID(),
              'detail-type': 'Scheduled Event',
              source: 'aws.events',
              account: '000000000000',
              time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
              region: 'us-east-1',
              resources: [`arn:aws:events:us-east-1:000000000000:rule/${spec.logicalId}`],
              detail: {},
            };
      try {
        options.lambda.invokeAsync(target.arn, event);
      } catch (error) {
        options.log?.(`schedule ${spec.logicalId}: ${(error as Error).message}`);
      }
    }
  };
  for (const spec of options.schedules.filter((schedule) => schedule.enabled)) {
    const schedule = parseScheduleExpression(spec.expression);
    for (const target of spec.targets) options.lambda.spec(target.arn);
    if (schedule.kind === 'rate') {
      timers.push(
        setInterval(() => fire(spec, new Date()), Math.max(10, schedule.everyMs * (options.timeScale ?? 1))),
      );
    } else {
      let lastMinute = -1;
      timers.push(
        setInterval(() => {
          const now = new Date();
          const minute = Math.floor(now.getTime() / 60_000);
          if (minute !== lastMinute && schedule.matches(now)) {
            lastMinute = minute;
            fire(spec, now);
          }
        }, 1_000),
      );
    }
  }
  for (const timer of timers) timer.unref();
  return { stop: () => timers.forEach(clearInterval) };
};
