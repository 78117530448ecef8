import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../listen.js';
import { sendRestJson } from '../rest-json.js';
import type { LocalBroker } from './broker.js';
import { checkTopicLimits } from './policy.js';

export interface StartIotDataPlaneOptions {
  broker: Pick<LocalBroker, 'publish'>;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Unexpected failures (the broker refusing a publish); the caller only sees a bare 500. */
  onError?: (error: unknown) => void;
}

export interface LocalIotDataPlane {
  readonly host: string;
  readonly port: number;
  /** What to give `IoTDataPlaneClient` as `endpoint` (or AWS_ENDPOINT_URL_IOT_DATA_PLANE). */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** AWS IoT Core's message size limit, which the data-plane Publish shares with MQTT. */
export const MAX_PUBLISH_BYTES = 128 * 1024;

/** A restJson1 error: the SDK picks the exception class from `x-amzn-ErrorType`. */
export class DataPlaneError extends Error {
  override readonly name = 'DataPlaneError';
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

const TOPICS_PREFIX = '/topics/';

/**
 * The IoT data-plane Publish API (`POST /topics/{topic}?qos=&retain=`, payload as the body) on loopback,
 * publishing through the local broker as the cloud, so handlers keep using `@aws-sdk/client-iot-data-plane`'s
 * `PublishCommand`. Requests are not signature-checked: the endpoint only listens on loopback.
 * MQTT 5 extras (user properties, content type, correlation data, expiry) are accepted and ignored,
 * because the broker speaks MQTT 3.1.1.
 */
export async function startIotDataPlane(opts: StartIotDataPlaneOptions): Promise<LocalIotDataPlane> {
  const host = opts.host ?? '127.0.0.1';
  const onError = opts.onError ?? ((error: unknown) => console.error('[local iot data plane]', error));
  const server = http.createServer((req, res) => {
    handle(req, opts.broker).then(
      () => send(res, 200),
      (error: unknown) => {
        req.resume();
        if (error instanceof DataPlaneError) return send(res, error.status, error.errorType, error.message);
        onError(error);
        send(res, 500, 'InternalFailureException', 'internal failure');
      },
    );
  });
  return listen(server, opts.port, host);
}

async function handle(req: IncomingMessage, broker: Pick<LocalBroker, 'publish'>): Promise<void> {
  const rawUrl = req.url ?? '/';
  const queryStart = rawUrl.indexOf('?');
  const rawPath = queryStart === -1 ? rawUrl : rawUrl.slice(0, queryStart);
  if (!rawPath.startsWith(TOPICS_PREFIX)) {
    throw new DataPlaneError(404, 'ResourceNotFoundException', `no such resource: ${rawPath}`);
  }
  if (req.method !== 'POST') {
    throw new DataPlaneError(
      405,
      'MethodNotAllowedException',
      `${req.method} is not allowed on /topics/{topic}`,
    );
  }
  const topic = parseTopic(rawPath.slice(TOPICS_PREFIX.length));
  const query = new URLSearchParams(queryStart === -1 ? '' : rawUrl.slice(queryStart + 1));
  const qos = parseQos(query.get('qos'));
  const retain = parseRetain(query.get('retain'));
  const payload = await readBody(req);
  await broker.publish(topic, payload, qos, { retain });
}

/** The SDK percent-encodes the whole topic as one path label (`/` as `%2F`); curl users often do not. */
function parseTopic(encoded: string): string {
  let topic: string;
  try {
    topic = decodeURIComponent(encoded);
  } catch {
    throw new DataPlaneError(400, 'InvalidRequestException', 'topic is not valid percent-encoding');
  }
  const limits = checkTopicLimits(topic);
  if (!limits.allowed)
    throw new DataPlaneError(400, 'InvalidRequestException', `invalid topic: ${limits.reason}`);
  if (/[+#]/.test(topic))
    throw new DataPlaneError(400, 'InvalidRequestException', 'wildcards are not allowed in a topic name');
  if (topic.startsWith('$')) {
    throw new DataPlaneError(
      400,
      'InvalidRequestException',
      'reserved ($) topics are not served by the local cloud',
    );
  }
  return topic;
}

function parseQos(value: string | null): 0 | 1 {
  if (value === null || value === '0') return 0;
  if (value === '1') return 1;
  throw new DataPlaneError(
    400,
    'InvalidRequestException',
    `qos must be 0 or 1, got ${JSON.stringify(value)}`,
  );
}

function parseRetain(value: string | null): boolean {
  if (value === null || value === 'false') return false;
  if (value === 'true') return true;
  throw new DataPlaneError(
    400,
    'InvalidRequestException',
    `retain must be true or false, got ${JSON.stringify(value)}`,
  );
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_PUBLISH_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PUBLISH_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(): DataPlaneError {
  return new DataPlaneError(
    413,
    'RequestEntityTooLargeException',
    `payload larger than ${MAX_PUBLISH_BYTES} bytes`,
  );
}

function send(res: ServerResponse, status: number, errorType?: string, message?: string): void {
  sendRestJson(res, status, errorType === undefined ? undefined : { message }, errorType);
}
