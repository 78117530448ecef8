import { type DurableState, STATE_TABLES, type StateWrite } from '../durable-state.js';
import type { ExecutionStatus } from './engine.js';
import type { WireHistoryEvent } from './history.js';
import type { TokenOutcome, TokenWait } from './tasks.js';

/**
 * Where a running execution stands: the top-level state it is in, with that state's raw input, and
 * what the state waits for (a task token, a Wait's end). It is rewritten at every top-level state
 * entered, so a restart re-enters that state: a token task waits on with the same token, a Wait with
 * the time it had left, anything else (a Lambda task, a Retry's next attempt) runs again.
 */
export interface Checkpoint {
  stateName: string;
  /** The state's raw input, JSON. */
  input: string;
  enteredAt: number;
  token?: TokenWait & { outcome?: TokenOutcome };
  waitUntil?: number;
}

/** An execution as it is stored (times in epoch ms; its history is stored event by event). */
export interface StoredExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startDate: number;
  stopDate?: number;
  checkpoint?: Checkpoint;
}

export interface ExecutionStore {
  /** Every stored execution with its history (oldest first). */
  load(): Promise<{ execution: StoredExecution; events: WireHistoryEvent[] }[]>;
  /** The execution as it is now, and the history events added since the last save. */
  save(execution: StoredExecution, newEvents: WireHistoryEvent[]): Promise<void>;
}

const RECORD = 'record';
const eventKey = (id: number) => `event#${String(id).padStart(9, '0')}`;

/** Step Functions executions in DynamoDB Local: one record item per execution, one item per history event. */
export class DurableExecutions implements ExecutionStore {
  constructor(private readonly state: DurableState) {}

  async load(): Promise<{ execution: StoredExecution; events: WireHistoryEvent[] }[]> {
    const byArn = new Map<string, { execution?: StoredExecution; events: WireHistoryEvent[] }>();
    for (const { pk, sk, ...item } of await this.state.scan(STATE_TABLES.stepFunctions)) {
      let entry = byArn.get(pk);
      if (entry === undefined) {
        entry = { events: [] };
        byArn.set(pk, entry);
      }
      if (sk === RECORD) entry.execution = item as unknown as StoredExecution;
      else entry.events.push(item as unknown as WireHistoryEvent);
    }
    return [...byArn.values()]
      .filter(
        (entry): entry is { execution: StoredExecution; events: WireHistoryEvent[] } =>
          entry.execution !== undefined,
      )
      .map((entry) => ({ ...entry, events: entry.events.sort((a, b) => a.id - b.id) }))
      .sort((a, b) => a.execution.startDate - b.execution.startDate);
  }

  async save(execution: StoredExecution, newEvents: WireHistoryEvent[]): Promise<void> {
    const pk = execution.executionArn;
    // The events first: a record never claims a history that is not stored.
    const writes: StateWrite[] = newEvents.map((event) => ({
      put: { ...event, pk, sk: eventKey(event.id) },
    }));
    await this.state.write(STATE_TABLES.stepFunctions, writes);
    await this.state.put(STATE_TABLES.stepFunctions, { ...execution, pk, sk: RECORD });
  }
}
