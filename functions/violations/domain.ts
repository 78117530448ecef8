/**
 * Telemetry rules that need no I/O: what a device message must look like and how it is keyed.
 * Devices publish JSON on dt/civic/<compound>/<thing>/<signal>; delivery is at least once, so the key
 * of a stored message is derived from the message itself and a redelivery lands on the same item.
 */
import * as z from 'zod';

/** AWS IoT thing names: letters, digits, colon, underscore, hyphen; 1–128 characters. */
export const thingNameSchema = z.string().regex(/^[A-Za-z0-9:_-]{1,128}$/, 'Not a valid thing name');
export const compoundIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'Not a valid compound id');
export const signalSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'Not a valid signal name');

/**
 * What the ingest rule hands the function: the raw payload base64-encoded (so non-JSON payloads arrive
 * intact and can be recorded as rejected), plus the topic levels and broker metadata.
 */
export const ruleEventSchema = z
  .object({
    payload: z.string(),
    compoundId: z.string().optional(),
    thingName: z.string().optional(),
    signal: z.string().optional(),
    clientId: z.string(),
    receivedAt: z.number().int().nonnegative(),
    topic: z.string().optional(),
  })
  .strict();
export type RuleEvent = z.infer<typeof ruleEventSchema>;

const deviceTime = z.union([
  z.iso.datetime({ offset: true }).transform((value) => new Date(value).toISOString()),
  z
    .number()
    .int()
    .positive()
    // The largest time a JavaScript Date holds (year 275760).
    .max(8.64e15)
    .transform((value) => new Date(value).toISOString()),
]);

/** How far a device's clock may run ahead of the broker's: a later time would mute its later messages. */
const MAX_DEVICE_CLOCK_AHEAD_MS = 5 * 60_000;
/** Levels of objects and arrays a device message may nest, itself the first (DynamoDB stores 32). */
const MAX_MESSAGE_DEPTH = 16;
/** The smallest magnitude DynamoDB stores (its numbers run from 1e-130 to just under 1e126). */
const DYNAMODB_MIN_MAGNITUDE = 1e-130;

/**
 * Reports, as zod issues, what in a device message DynamoDB would refuse or JavaScript could not carry
 * exactly: a number beyond ±(2^53 − 1) or closer to zero than 1e-130, an empty key, nesting deeper than
 * MAX_MESSAGE_DEPTH. Such a message is rejected with the reason; stored, it would fail the whole batch
 * it arrived in, and every other device's messages with it.
 */
const checkStorable = (value: unknown, path: (string | number)[], ctx: z.RefinementCtx): void => {
  const issue = (message: string) => ctx.addIssue({ code: 'custom', path, message });
  if (typeof value === 'number') {
    if (Math.abs(value) > Number.MAX_SAFE_INTEGER)
      issue(`${value} is beyond ±${Number.MAX_SAFE_INTEGER}, which cannot be stored exactly`);
    else if (value !== 0 && Math.abs(value) < DYNAMODB_MIN_MAGNITUDE)
      issue(`${value} is closer to zero than DynamoDB stores (1e-130)`);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (path.length >= MAX_MESSAGE_DEPTH) {
    issue(`nested deeper than ${MAX_MESSAGE_DEPTH} levels`);
    return;
  }
  if (Array.isArray(value)) {
    for (const [index, element] of value.entries()) checkStorable(element, [...path, index], ctx);
    return;
  }
  for (const [key, element] of Object.entries(value)) {
    if (key === '') ctx.addIssue({ code: 'custom', path, message: 'a key is empty' });
    else checkStorable(element, [...path, key], ctx);
  }
};

/** The envelope every device message shares; signal-specific fields travel alongside. */
export const telemetrySchema = z
  .object({
    ts: deviceTime.optional(),
    seq: z.number().int().nonnegative().optional(),
  })
  .catchall(z.json())
  // ts and seq have their own bounds; the rest is stored as the device sent it.
  .superRefine(({ ts: _ts, seq: _seq, ...fields }, ctx) => checkStorable(fields, [], ctx));
export type TelemetryMessage = z.infer<typeof telemetrySchema>;

export type IngestDecision =
  | {
      kind: 'accepted';
      compoundId: string;
      thingName: string;
      signal: string;
      observedAt: string;
      receivedAt: string;
      seq?: number;
      fields: Record<string, unknown>;
    }
  | { kind: 'rejected'; compoundId: string; reason: string; receivedAt: string };

const describe = (error: z.ZodError): string =>
  error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(message)'}: ${issue.message}`)
    .join('; ');

/**
 * Decides whether a device message is stored as telemetry or recorded as rejected, and why. The
 * publishing client must be the thing named in the topic: the IoT policy already enforces that, and
 * checking it again here keeps a misconfigured policy from letting one device speak for another.
 */
export const decideIngest = (event: RuleEvent): IngestDecision => {
  const receivedAt = new Date(event.receivedAt).toISOString();
  const compound = compoundIdSchema.safeParse(event.compoundId);
  const compoundId = compound.success ? compound.data : 'unknown';
  const reject = (reason: string): IngestDecision => ({ kind: 'rejected', compoundId, reason, receivedAt });

  if (!compound.success) return reject(`topic: compound ${JSON.stringify(event.compoundId)} is not valid`);
  const thing = thingNameSchema.safeParse(event.thingName);
  if (!thing.success) return reject(`topic: thing ${JSON.stringify(event.thingName)} is not valid`);
  const signal = signalSchema.safeParse(event.signal);
  if (!signal.success) return reject(`topic: signal ${JSON.stringify(event.signal)} is not valid`);
  if (event.clientId !== thing.data) {
    return reject(`client ${event.clientId} may not publish for thing ${thing.data}`);
  }

  const text = Buffer.from(event.payload, 'base64').toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return reject('payload is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return reject('payload is not a JSON object');
  const parsed = telemetrySchema.safeParse(raw);
  if (!parsed.success) return reject(describe(parsed.error));

  const { ts, seq, ...fields } = parsed.data;
  if (ts !== undefined && Date.parse(ts) - event.receivedAt > MAX_DEVICE_CLOCK_AHEAD_MS)
    return reject(
      `ts: ${ts} is more than ${MAX_DEVICE_CLOCK_AHEAD_MS / 60_000} minutes ahead of the broker's clock (${receivedAt})`,
    );
  return {
    kind: 'accepted',
    compoundId,
    thingName: thing.data,
    signal: signal.data,
    observedAt: ts ?? receivedAt,
    receivedAt,
    ...(seq === undefined ? {} : { seq }),
    fields,
  };
};

/** What a handheld reports on `dt/civic/<compound>/<handheld>/ack` or `…/handled`. */
export const workOrderReportSchema = z
  .object({ workOrderId: z.string().min(3).max(200), note: z.string().max(500).optional() })
  .passthrough();
