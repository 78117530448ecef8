import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { LocalClock } from '../clock.js';
import { type FunctionSpec, functionNameOf } from '../template.js';
import { FaultInjector, type Faults, INJECTED_FAULT } from './faults.js';

/** The error a function invocation ended with, in Lambda's own shape (errorType, errorMessage). */
export class FunctionError extends Error {
  override name = 'FunctionError';
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    readonly errorMessage: string,
    readonly stackTrace: string[] = [],
  ) {
    super(`${functionName}: ${errorType}: ${errorMessage}`);
  }
}

export class ResourceNotFoundError extends Error {
  override name = 'ResourceNotFoundException';
}

/** An async event that failed every attempt: what Lambda sends to the on-failure destination. */
export interface AsyncFailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetriesExhausted';
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: { statusCode: 200; executedVersion: '$LATEST'; functionError: 'Unhandled' };
  responsePayload: { errorType: string; errorMessage: string };
  destination?: string;
}

export interface LambdaServiceOptions {
  /** Environment every function gets on top of its own: region, credentials, AWS_ENDPOINT_URL_*. */
  baseEnvironment: Record<string, string>;
  /** Delays before async retries; AWS waits about one and then two minutes. */
  asyncRetryDelaysMs?: number[];
  log?: (line: string) => void;
  /** Receives each line a function writes to stdout/stderr (its structured logs). */
  functionLog?: (functionName: string, line: string) => void;
  onAsyncFailure?: (record: AsyncFailureRecord) => void;
  /** Observes every finished invocation (benchmarks measure the pipeline with it). */
  onInvocation?: (record: InvocationRecord) => void;
  /**
   * The cloud's clock: the functions' `Date` reads it (real time when absent). Their timeouts and
   * `getRemainingTimeInMillis` stay on real time.
   */
  clock?: Pick<LocalClock, 'buffer' | 'now'>;
  /** Invocations that fail on purpose, by function (local/lambda/faults.ts); `faults` changes them later. */
  faults?: Faults;
  /** Seeds the fault draws: the same seed fails the same invocations. */
  faultSeed?: number;
}

export interface InvocationRecord {
  functionName: string;
  event: unknown;
  startedAt: number;
  endedAt: number;
  ok: boolean;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const workerFile = path.join(path.dirname(new URL(import.meta.url).pathname), 'worker.mjs');

/**
 * One execution environment per function: a worker thread with the function's own environment
 * variables (so module-scope configuration behaves as on Lambda), started on first use (a cold start),
 * replaced after a timeout or a crash. Invocations may overlap inside one environment.
 */
class ExecutionEnvironment {
  private worker?: Worker;
  private ready?: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor(
    private readonly spec: FunctionSpec,
    private readonly options: LambdaServiceOptions,
  ) {}

  private start(): Promise<void> {
    const spec = this.spec;
    const worker = new Worker(workerFile, {
      workerData: {
        moduleFile: path.join(spec.assetDir, spec.moduleFile),
        exportName: spec.exportName,
        functionName: spec.functionName,
        functionArn: spec.arn,
        memorySize: spec.memorySize,
        logGroupName: `/aws/lambda/${spec.functionName}`,
        clockBuffer: this.options.clock?.buffer,
      },
      env: {
        ...this.options.baseEnvironment,
        AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName}`,
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        LAMBDA_TASK_ROOT: spec.assetDir,
        _HANDLER: `${spec.moduleFile.replace(/\.[cm]?js$/, '')}.${spec.exportName}`,
        TZ: ':UTC',
        ...spec.environment,
      },
      stdout: true,
      stderr: true,
    });
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) =>
        this.options.functionLog?.(spec.functionName, line),
      );
    }
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (message: Record<string, any>) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'init-error') {
          reject(
            new FunctionError(
              spec.functionName,
              'Runtime.ImportModuleError',
              message.error.errorMessage,
              message.error.stackTrace,
            ),
          );
          void this.reset();
        } else if (message.type === 'result') this.settle(message as never);
      });
      worker.on('error', (error) => {
        reject(error);
        this.failAll(new FunctionError(spec.functionName, 'Runtime.ExitError', error.message));
        void this.reset();
      });
      worker.on('exit', () => {
        if (this.worker === worker) {
          this.failAll(
            new FunctionError(spec.functionName, 'Runtime.ExitError', 'The execution environment exited'),
          );
          this.worker = undefined;
          this.ready = undefined;
        }
      });
    });
  }

  private settle(message: { id: number; ok: boolean; resultJson?: string; error?: Record<string, any> }) {
    const pending = this.pending.get(message.id);
    if (pending === undefined) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(JSON.parse(message.resultJson ?? 'null'));
    else {
      const error = message.error ?? {};
      pending.reject(
        new FunctionError(this.spec.functionName, error.errorType, error.errorMessage, error.stackTrace),
      );
    }
  }

  private failAll(error: Error) {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
  }

  async invoke(event: unknown): Promise<unknown> {
    this.ready ??= this.start();
    await this.ready;
    const worker = this.worker as Worker;
    const id = this.nextId++;
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new FunctionError(
            this.spec.functionName,
            'Sandbox.Timedout',
            `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
          ),
        );
        // Lambda discards an environment whose invocation timed out; so do we.
        void this.reset();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({
        type: 'invoke',
        id,
        eventJson: JSON.stringify(event ?? null),
        deadline: Date.now() + timeoutMs,
        requestId: randomUUID(),
      });
    });
  }

  async reset(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    this.failAll(
      new FunctionError(this.spec.functionName, 'Runtime.ExitError', 'The execution environment was reset'),
    );
    await worker?.terminate();
  }
}

/**
 * Runs the template's functions in-process, the way Lambda's Invoke does: RequestResponse returns the
 * result or raises the function error; Event queues the event and retries it as Lambda's async
 * invocation does (twice by default), then hands it to the on-failure destination.
 */
export class LambdaService {
  private readonly specs = new Map<string, FunctionSpec>();
  private readonly environments = new Map<string, ExecutionEnvironment>();
  private readonly inFlight = new Set<Promise<void>>();
  readonly asyncFailures: AsyncFailureRecord[] = [];
  /** Injected faults: `lambda.faults.set('Ingest', 0.05)` fails 5 % of the ingest function's invocations. */
  readonly faults: FaultInjector;
  private stopped = false;

  constructor(
    functions: FunctionSpec[],
    private readonly options: LambdaServiceOptions,
  ) {
    for (const spec of functions) this.specs.set(spec.functionName, spec);
    this.faults = new FaultInjector(functions, options.faults, options.faultSeed);
  }

  get functions(): FunctionSpec[] {
    return [...this.specs.values()];
  }

  spec(nameOrArn: string): FunctionSpec {
    const spec = this.specs.get(functionNameOf(nameOrArn));
    if (spec === undefined) throw new ResourceNotFoundError(`Function not found: ${nameOrArn}`);
    return spec;
  }

  private environment(spec: FunctionSpec): ExecutionEnvironment {
    let environment = this.environments.get(spec.functionName);
    if (environment === undefined) {
      environment = new ExecutionEnvironment(spec, this.options);
      this.environments.set(spec.functionName, environment);
    }
    return environment;
  }

  /** RequestResponse invocation. */
  async invoke(nameOrArn: string, event: unknown): Promise<unknown> {
    if (this.stopped) throw new Error('The Lambda service is stopped');
    return this.observed(this.spec(nameOrArn), event);
  }

  private async observed(spec: FunctionSpec, event: unknown): Promise<unknown> {
    const startedAt = performance.now();
    const observer = this.options.onInvocation;
    try {
      const fault = this.faults.decide(spec.functionName);
      if (fault === 'before') throw this.injectedFault(spec, fault);
      const result = await this.environment(spec).invoke(event);
      if (fault === 'after') throw this.injectedFault(spec, fault);
      observer?.({ functionName: spec.functionName, event, startedAt, endedAt: performance.now(), ok: true });
      return result;
    } catch (error) {
      observer?.({
        functionName: spec.functionName,
        event,
        startedAt,
        endedAt: performance.now(),
        ok: false,
      });
      throw error;
    }
  }

  /** A function error as the handler would have thrown it, for an injected fault. */
  private injectedFault(spec: FunctionSpec, when: 'before' | 'after'): FunctionError {
    return new FunctionError(
      spec.functionName,
      INJECTED_FAULT,
      when === 'before'
        ? 'The local cloud failed this invocation on purpose (faults) before the handler ran'
        : 'The local cloud failed this invocation on purpose (faults) after the handler ran; its result is lost',
    );
  }

  /**
   * Event invocation: throws only when the function does not exist, as Lambda's Invoke API would. The
   * promise (which never rejects) settles when the event is done with: handled, or retries exhausted.
   */
  invokeAsync(nameOrArn: string, event: unknown): Promise<void> {
    const spec = this.spec(nameOrArn);
    const run = this.runWithRetries(spec, event).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
    return run;
  }

  private async runWithRetries(spec: FunctionSpec, event: unknown): Promise<void> {
    const delays = this.options.asyncRetryDelaysMs ?? [1_000, 2_000];
    const attempts = spec.maximumRetryAttempts + 1;
    let lastError: FunctionError | undefined;
    for (let attempt = 1; attempt <= attempts && !this.stopped; attempt++) {
      try {
        await this.observed(spec, event);
        return;
      } catch (error) {
        lastError =
          error instanceof FunctionError
            ? error
            : new FunctionError(spec.functionName, 'Error', (error as Error).message);
        this.options.log?.(
          `lambda ${spec.functionName}: async attempt ${attempt}/${attempts} failed: ${lastError.errorType}: ${lastError.errorMessage}`,
        );
        if (attempt < attempts)
          await new Promise((resolve) =>
            setTimeout(resolve, delays[Math.min(attempt - 1, delays.length - 1)]),
          );
      }
    }
    if (this.stopped || lastError === undefined) return;
    const record: AsyncFailureRecord = {
      version: '1.0',
      timestamp: new Date(this.options.clock?.now() ?? Date.now()).toISOString(),
      requestContext: {
        requestId: randomUUID(),
        functionArn: `${spec.arn}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: attempts,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: lastError.errorType, errorMessage: lastError.errorMessage },
      destination: spec.onFailureDestination,
    };
    this.asyncFailures.push(record);
    this.options.onAsyncFailure?.(record);
  }

  /** Async invocations queued or running (retries included). */
  get asyncInFlight(): number {
    return this.inFlight.size;
  }

  /** Resolves once every queued async invocation has finished (including retries). */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.environments.values()].map((environment) => environment.reset()));
  }
}
