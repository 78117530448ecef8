import type { FunctionSpec } from '../template.js';

/**
 * When an injected fault strikes: `before` the handler runs (nothing it would do happens), `after` it
 * ran (its effects stay, its result is lost: the caller sees an error and retries, so the work is done
 * twice), or `either` (each fault picks one). The default is `either`.
 */
export type FaultTiming = 'before' | 'after' | 'either';

export interface FaultSpec {
  /** The share of invocations that fail, 0–1. */
  rate: number;
  when?: FaultTiming;
}

/**
 * Faults by function: the key is a function's name, its logical id, or the end of its logical id
 * without CDK's hash (`Ingest` and `ViolationsIngest` both name `ViolationsIngest1A6E0742`); a key that
 * names several functions applies to each. A number is a rate with the default timing.
 */
export type Faults = Record<string, number | FaultSpec>;

/** The error an injected fault ends an invocation with (Lambda's errorType). */
export const INJECTED_FAULT = 'LocalInjectedFault';

/** mulberry32: small, fast and good enough to draw faults from; the same seed draws the same faults. */
const generator = (seed: number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

const withoutHash = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

const hashOf = (text: string) => {
  let hash = 2_166_136_261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16_777_619);
  return hash >>> 0;
};

/**
 * Makes a function's invocations fail at a given rate, as a function error would (the handler threw):
 * Lambda's callers — an SQS event source mapping, the async retries and their on-failure destination,
 * Step Functions' Retry — then behave as they do on AWS. Each function draws from its own seeded stream,
 * so a run with the same seed and the same order of invocations fails the same ones.
 */
export class FaultInjector {
  private readonly active = new Map<string, { rate: number; when: FaultTiming; draw: () => number }>();

  constructor(
    private readonly functions: Pick<FunctionSpec, 'functionName' | 'logicalId'>[],
    faults: Faults = {},
    private readonly seed = Math.floor(Math.random() * 2 ** 32),
  ) {
    for (const [target, spec] of Object.entries(faults)) this.set(target, spec);
  }

  /** The functions a key names (see Faults); an Error naming the candidates when it names none. */
  resolve(target: string): string[] {
    const names = this.functions
      .filter(
        (spec) =>
          spec.functionName === target ||
          spec.logicalId === target ||
          withoutHash(spec.logicalId).endsWith(target),
      )
      .map((spec) => spec.functionName);
    if (names.length === 0) {
      throw new Error(
        `faults: '${target}' names no function (give a function name or logical id, or its end: ${this.functions
          .map((spec) => withoutHash(spec.logicalId))
          .join(', ')})`,
      );
    }
    return names;
  }

  /** Sets (or with `undefined` or a rate of 0, clears) the faults of the functions `target` names. */
  set(target: string, spec: number | FaultSpec | undefined): void {
    const { rate, when = 'either' } = typeof spec === 'number' ? { rate: spec } : (spec ?? { rate: 0 });
    if (!Number.isFinite(rate) || rate < 0 || rate > 1)
      throw new RangeError(`faults: the rate for '${target}' must be between 0 and 1, not ${rate}`);
    for (const functionName of this.resolve(target)) {
      if (rate === 0) this.active.delete(functionName);
      else {
        const draw = this.active.get(functionName)?.draw ?? generator(this.seed ^ hashOf(functionName));
        this.active.set(functionName, { rate, when, draw });
      }
    }
  }

  /** Whether this invocation fails, and when; undefined for most (and always without faults). */
  decide(functionName: string): 'before' | 'after' | undefined {
    if (this.active.size === 0) return undefined;
    const fault = this.active.get(functionName);
    if (fault === undefined || fault.draw() >= fault.rate) return undefined;
    if (fault.when !== 'either') return fault.when;
    return fault.draw() < 0.5 ? 'before' : 'after';
  }

  /** What is active, for the banner: `name → rate (timing)`. */
  describe(): string[] {
    return [...this.active].map(
      ([name, fault]) => `${name} ${(fault.rate * 100).toFixed(1)} % (${fault.when})`,
    );
  }
}
