import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { listen } from '../listen.js';
import { readJsonBody, sendRestJson } from '../rest-json.js';
import { isTimeZone } from './expression.js';
import {
  type ScheduleRecord,
  SchedulerApiError,
  SchedulerStore,
  type SchedulerStoreOptions,
  type StoredSchedule,
  validation,
} from './store.js';

export {
  type SchedulePersistence,
  type ScheduleRecord,
  SchedulerApiError,
  type StoredSchedule,
} from './store.js';

export interface StartSchedulerOptions extends SchedulerStoreOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Schedules stored by an earlier run (with `persistence`), re-armed before the port opens. */
  restore?: StoredSchedule[];
}

export interface LocalScheduler {
  readonly host: string;
  readonly port: number;
  /** What to give `SchedulerClient` as `endpoint` (or AWS_ENDPOINT_URL_SCHEDULER). */
  readonly endpoint: string;
  /** Schedules waiting to fire (enabled, not completed). */
  pending(): number;
  /**
   * Stops the server and cancels every timer. In memory the schedules are lost; with `persistence` they
   * are stored already, and a new scheduler re-arms them (`restore`).
   */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
/** AWS: `^[0-9a-zA-Z-_.]+$`, 1–64 characters, for schedule and group names alike. */
const name = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[0-9a-zA-Z-_.]+$/);
const arn = z.string().min(1).max(1600);
/** restJson1 sends body timestamps as epoch seconds; an ISO string is accepted too, for curl users. */
const timestamp = z.union([
  z.number().transform((seconds) => new Date(seconds * 1000)),
  z.iso.datetime({ offset: true }).transform((text) => new Date(text)),
]);

/**
 * CreateSchedule/UpdateSchedule bodies (AWS's limits). Unknown top-level members are ignored, as AWS
 * does; the target accepts only what a Lambda target can carry, so other target kinds fail loudly.
 */
const definitionSchema = z.object({
  ScheduleExpression: z.string().min(1).max(256),
  ScheduleExpressionTimezone: z
    .string()
    .min(1)
    .max(50)
    .refine(isTimeZone, { message: 'is not a known time zone' })
    .optional(),
  Target: z.strictObject({
    Arn: arn,
    RoleArn: arn.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'is not an IAM role ARN'),
    Input: z.string().min(1).max(8192).optional(),
    RetryPolicy: z
      .object({
        MaximumEventAgeInSeconds: z.number().int().min(60).max(86_400).optional(),
        MaximumRetryAttempts: z.number().int().min(0).max(185).optional(),
      })
      .optional(),
    DeadLetterConfig: z.object({ Arn: arn.optional() }).optional(),
  }),
  FlexibleTimeWindow: z.object({
    Mode: z.enum(['OFF', 'FLEXIBLE']),
    MaximumWindowInMinutes: z.number().int().min(1).max(1440).optional(),
  }),
  StartDate: timestamp.optional(),
  EndDate: timestamp.optional(),
  Description: z.string().max(512).optional(),
  State: z.enum(['ENABLED', 'DISABLED']).optional(),
  KmsKeyArn: z.string().min(1).max(2048).optional(),
  ActionAfterCompletion: z.enum(['NONE', 'DELETE']).optional(),
});
const createSchema = definitionSchema.extend({
  GroupName: name.optional(),
  ClientToken: z.string().min(1).max(64).optional(),
});
const listSchema = z.object({
  ScheduleGroup: name.optional(),
  NamePrefix: name.optional(),
  State: z.enum(['ENABLED', 'DISABLED']).optional(),
  NextToken: z.string().min(1).max(2048).optional(),
  MaxResults: z.coerce.number().int().min(1).max(100).optional(),
});

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const detail = result.error.issues
    .map((issue) => `${issue.path.join('.') || 'request'}: ${issue.message}`)
    .join('; ');
  throw validation(`1 validation error detected: ${detail}`);
}

interface Reply {
  status?: number;
  body: unknown;
}

/**
 * Amazon EventBridge Scheduler's API on loopback, as `@aws-sdk/client-scheduler` speaks it (restJson1):
 * CreateSchedule `POST /schedules/{Name}`, UpdateSchedule `PUT`, GetSchedule `GET`, DeleteSchedule `DELETE`
 * (`?groupName=`), ListSchedules `GET /schedules?ScheduleGroup=&NamePrefix=&State=&NextToken=&MaxResults=`.
 * Schedules fire Lambda targets through `lambda.invokeAsync` with the target Input as the event, when
 * `clock` (the cloud's clock; real time by default) reaches their time: advancing it fires what it passed.
 * Requests are not signature-checked: the endpoint only listens on loopback.
 */
export async function startScheduler(options: StartSchedulerOptions): Promise<LocalScheduler> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => undefined);
  const store = new SchedulerStore(options);
  store.restore(options.restore ?? []);
  const server = http.createServer((req, res) => {
    handle(req, store).then(
      (reply) => sendJson(res, reply.status ?? 200, reply.body),
      (error: unknown) => {
        req.resume();
        if (error instanceof SchedulerApiError) return sendError(res, error);
        log(`scheduler: ${(error as Error).stack ?? String(error)}`);
        sendError(res, new SchedulerApiError(500, 'InternalServerException', 'internal failure'));
      },
    );
  });
  const listening = await listen(server, options.port, host);
  return {
    ...listening,
    pending: () => store.pending(),
    async close() {
      store.close();
      await listening.close();
      await store.flushed();
    },
  };
}

async function handle(req: IncomingMessage, store: SchedulerStore): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  if (segments[0] !== 'schedules' || segments.length > 2) {
    throw new SchedulerApiError(
      404,
      'ResourceNotFoundException',
      `${req.method} ${url.pathname} is not served by the local scheduler (schedules only; groups and tags are not)`,
    );
  }
  if (segments.length === 1) {
    if (req.method !== 'GET') throw validation(`${req.method} /schedules is not an operation`);
    return listSchedules(url.searchParams, store);
  }
  let scheduleName: string;
  try {
    scheduleName = parse(name, decodeURIComponent(segments[1] as string));
  } catch (error) {
    if (error instanceof SchedulerApiError) throw error;
    throw validation('The schedule name is not valid percent-encoding.');
  }
  const groupName = (value: unknown) => parse(name.optional(), value ?? undefined) ?? 'default';
  switch (req.method) {
    case 'POST': {
      const body = parse(createSchema, await readJsonBody(req, MAX_BODY_BYTES, validation));
      const { GroupName, ClientToken, ...definition } = body;
      const record = store.create(groupName(GroupName), scheduleName, definition, ClientToken);
      await store.flushed();
      return { body: { ScheduleArn: record.arn } };
    }
    case 'PUT': {
      const body = parse(createSchema, await readJsonBody(req, MAX_BODY_BYTES, validation));
      const { GroupName, ClientToken: _, ...definition } = body;
      const record = store.update(groupName(GroupName), scheduleName, definition);
      await store.flushed();
      return { body: { ScheduleArn: record.arn } };
    }
    case 'GET':
      return { body: describe(store.get(groupName(url.searchParams.get('groupName')), scheduleName)) };
    case 'DELETE':
      store.delete(groupName(url.searchParams.get('groupName')), scheduleName);
      await store.flushed();
      return { body: {} };
    default:
      throw validation(`${req.method} /schedules/{Name} is not an operation`);
  }
}

const epochSeconds = (date: Date | undefined) => (date === undefined ? undefined : date.getTime() / 1000);

function describe(record: ScheduleRecord) {
  const { definition } = record;
  return {
    Arn: record.arn,
    GroupName: record.groupName,
    Name: record.name,
    ScheduleExpression: definition.ScheduleExpression,
    ScheduleExpressionTimezone: record.timeZone,
    StartDate: epochSeconds(definition.StartDate),
    EndDate: epochSeconds(definition.EndDate),
    Description: definition.Description,
    State: record.state,
    CreationDate: epochSeconds(record.creationDate),
    LastModificationDate: epochSeconds(record.lastModificationDate),
    KmsKeyArn: definition.KmsKeyArn,
    Target: definition.Target,
    FlexibleTimeWindow: definition.FlexibleTimeWindow,
    ActionAfterCompletion: record.actionAfterCompletion,
  };
}

function listSchedules(query: URLSearchParams, store: SchedulerStore): Reply {
  const request = parse(listSchema, Object.fromEntries(query));
  const all = store.list({
    groupName: request.ScheduleGroup,
    namePrefix: request.NamePrefix,
    state: request.State,
  });
  // The token is the position to resume from: the group/name key of the last schedule returned.
  let start = 0;
  if (request.NextToken !== undefined) {
    const after = Buffer.from(request.NextToken, 'base64url').toString('utf8');
    start = all.findIndex((record) => `${record.groupName}/${record.name}` > after);
    if (start === -1) start = all.length;
  }
  const limit = request.MaxResults ?? 100;
  const page = all.slice(start, start + limit);
  const last = page.at(-1);
  return {
    body: {
      Schedules: page.map((record) => ({
        Arn: record.arn,
        Name: record.name,
        GroupName: record.groupName,
        State: record.state,
        CreationDate: epochSeconds(record.creationDate),
        LastModificationDate: epochSeconds(record.lastModificationDate),
        Target: { Arn: record.definition.Target.Arn },
      })),
      NextToken:
        start + limit < all.length && last !== undefined
          ? Buffer.from(`${last.groupName}/${last.name}`).toString('base64url')
          : undefined,
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendRestJson(res, status, body);
}

function sendError(res: ServerResponse, error: SchedulerApiError): void {
  sendRestJson(res, error.status, { Message: error.message }, error.errorType);
}
