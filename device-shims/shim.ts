import {
  connectDevice,
  type Device,
  type DeviceEndpoint,
  type DeviceIdentity,
  type DeviceLifecycleEvent,
} from './device.js';

/** The envelope every shim publishes: device time and a sequence number per device and signal. */
export interface Envelope {
  ts: string;
  seq: number;
}

export interface Published<Fields extends object = Record<string, unknown>> {
  topic: string;
  signal: string;
  payload: Envelope & Fields;
}

export interface ShimOptions {
  /** The compound in the topics (`dt/civic/<compound>/<thing>/…`). */
  compoundId: string;
  /** Heartbeat period in ms; 0 (the default) sends none until `startHeartbeat()`. */
  heartbeatMs?: number;
  log?: (line: string) => void;
  /** Device clock, for tests. */
  now?: () => Date;
}

export class CommandTimeoutError extends Error {
  override name = 'CommandTimeoutError';
}

/**
 * Commands a device received, in order. `next()` hands out each one once, oldest first, waiting when
 * none is pending; everything received stays in `all` (delivery is at least once: callers dedupe).
 */
export class Inbox<T> {
  readonly all: T[] = [];
  readonly #pending: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];

  constructor(private readonly what: string) {}

  push(item: T): void {
    this.all.push(item);
    const waiter = this.#waiters.shift();
    if (waiter) waiter(item);
    else this.#pending.push(item);
  }

  next(timeoutMs: number): Promise<T> {
    const pending = this.#pending.shift();
    if (pending !== undefined) return Promise.resolve(pending);
    return new Promise<T>((resolve, reject) => {
      const waiter = (item: T) => {
        clearTimeout(timer);
        resolve(item);
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(new CommandTimeoutError(`No ${this.what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }
}

/** A received command whose payload was not what the device expects; kept, never thrown. */
export interface RejectedCommand {
  topic: string;
  payload: string;
  reason: string;
  receivedAt: string;
}

export const parseJson = (payload: Buffer): unknown => {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
};

/**
 * What every simulated device shares: topics under its own thing name, the `{ ts, seq, …fields }`
 * envelope with a sequence per signal, heartbeats that can be stopped to simulate silence, connection
 * lifecycle logging, and a clean disconnect. Subclasses add their signals and command subscriptions.
 */
export abstract class DeviceShim {
  /** The registry's device type (`POST /compounds/{id}/devices` body `type`). */
  static readonly deviceType: string;

  readonly rejectedCommands: RejectedCommand[] = [];
  readonly lifecycle: (DeviceLifecycleEvent & { at: string })[] = [];
  /** Publishes that failed (a heartbeat on a timer has nobody else to tell). */
  readonly errors: Error[] = [];
  readonly #seqs = new Map<string, number>();
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #stopLifecycle: () => void;

  constructor(
    readonly device: Device,
    protected readonly options: ShimOptions,
  ) {
    this.#stopLifecycle = device.onLifecycle((event) => {
      this.lifecycle.push({ ...event, at: this.now().toISOString() });
      const detail = 'error' in event ? `: ${event.error.message}` : '';
      this.log(`${event.type}${detail}`);
    });
  }

  get thingName(): string {
    return this.device.thingName;
  }

  get compoundId(): string {
    return this.options.compoundId;
  }

  telemetryTopic(signal: string): string {
    return `dt/civic/${this.compoundId}/${this.thingName}/${signal}`;
  }

  commandTopic(command: string): string {
    return `cmd/civic/${this.compoundId}/${this.thingName}/${command}`;
  }

  /** The last sequence number sent on a signal (0 before the first). */
  seqOf(signal: string): number {
    return this.#seqs.get(signal) ?? 0;
  }

  /** Subscribes to the device's commands and starts heartbeats if configured; `connectShim` calls it. */
  async start(): Promise<this> {
    await this.subscribeCommands();
    if (this.options.heartbeatMs) this.startHeartbeat(this.options.heartbeatMs);
    return this;
  }

  heartbeat(): Promise<Published<Record<string, never>>> {
    return this.send('heartbeat', {});
  }

  /** Heartbeats every `intervalMs` (replacing any running schedule). */
  startHeartbeat(intervalMs = this.options.heartbeatMs || 60_000): void {
    this.stopHeartbeat();
    this.#heartbeat = setInterval(() => {
      this.heartbeat().catch((error: Error) => {
        this.errors.push(error);
        this.log(`heartbeat failed: ${error.message}`);
      });
    }, intervalMs);
    this.#heartbeat.unref();
  }

  /** Stops heartbeats: the device goes silent while staying connected. */
  stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  get heartbeating(): boolean {
    return this.#heartbeat !== undefined;
  }

  async disconnect(): Promise<void> {
    this.stopHeartbeat();
    this.#stopLifecycle();
    await this.device.disconnect();
  }

  /** Publishes `{ ts, seq, ...fields }` on the signal (QoS 1) and resolves on PUBACK. */
  async send<Fields extends object>(signal: string, fields: Fields): Promise<Published<Fields>> {
    const seq = this.seqOf(signal) + 1;
    this.#seqs.set(signal, seq);
    const payload = { ts: this.now().toISOString(), seq, ...fields };
    const topic = this.telemetryTopic(signal);
    await this.device.publish(topic, payload);
    return { topic, signal, payload };
  }

  /** Subscribes to one command; payloads that are not JSON objects land in `rejectedCommands`. */
  protected async onCommand(
    command: string,
    handle: (payload: Record<string, unknown>, topic: string) => void,
  ) {
    await this.device.subscribe(this.commandTopic(command), (topic, payload) => {
      const parsed = parseJson(payload);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        this.rejectCommand(topic, payload, 'payload is not a JSON object');
        return;
      }
      handle(parsed as Record<string, unknown>, topic);
    });
  }

  protected rejectCommand(topic: string, payload: Buffer, reason: string): void {
    this.rejectedCommands.push({
      topic,
      payload: payload.toString('utf8'),
      reason,
      receivedAt: this.now().toISOString(),
    });
    this.log(`rejected command on ${topic}: ${reason}`);
  }

  protected subscribeCommands(): Promise<void> {
    return Promise.resolve();
  }

  protected now(): Date {
    return this.options.now?.() ?? new Date();
  }

  protected log(line: string): void {
    this.options.log?.(`${this.thingName}: ${line}`);
  }
}

export type ShimClass<T extends DeviceShim> = (new (
  device: Device,
  options: ShimOptions,
) => T) & {
  deviceType: string;
};

/**
 * Connects a device over mutual TLS and starts its shim (command subscriptions, heartbeats). With an
 * AWS IoT ATS endpoint, port 8883, Amazon's root CA and the thing's certificate it talks to AWS IoT Core.
 */
export const connectShim = async <T extends DeviceShim>(
  Shim: ShimClass<T>,
  identity: DeviceIdentity,
  endpoint: DeviceEndpoint,
  options: ShimOptions & { timeoutMs?: number },
): Promise<T> => {
  const device = await connectDevice(identity, endpoint, { timeoutMs: options.timeoutMs });
  const shim = new Shim(device, options);
  try {
    return await shim.start();
  } catch (error) {
    await shim.disconnect();
    throw error;
  }
};
