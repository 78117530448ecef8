import { z } from 'zod';
import { DeviceShim, Inbox, type Published } from '../shim.js';

const position = z.object({ lat: z.number(), lon: z.number() }).loose();

/** A work order as the dispatcher sends it; fields added later pass through untouched. */
export const workOrderSchema = z
  .object({
    workOrderId: z.string().min(1),
    violationId: z.string().min(1),
    scenarioId: z.string().min(1),
    title: z.string(),
    severity: z.string(),
    zone: z.object({ zoneId: z.string().min(1), name: z.string().optional(), position }).loose(),
    building: z.string().optional(),
    sensor: z.object({ thingName: z.string().min(1), position: position.optional() }).loose(),
    ackDueAt: z.string(),
    handleDueAt: z.string(),
  })
  .loose();
export type WorkOrder = z.infer<typeof workOrderSchema>;

/** Anything the handheld received on its command topics, parsed or not. */
export interface ReceivedCommand {
  receivedAt: string;
  topic: string;
  command: string;
  payload: Record<string, unknown>;
  /** A work order delivered again (at least once): kept here, not offered twice by nextWorkOrder. */
  duplicate?: boolean;
}

/**
 * A guard's handheld: receives work orders on `cmd/civic/<compound>/<thing>/work-orders` (it subscribes
 * to all of its own commands, so anything else the cloud sends it is seen too), keeps them, and lets the
 * guard acknowledge and report handling.
 */
export class Handheld extends DeviceShim {
  static override readonly deviceType = 'handheld';
  readonly received: ReceivedCommand[] = [];
  /** Work orders by id, in arrival order. */
  readonly workOrders = new Map<string, WorkOrder>();
  readonly #next = new Inbox<WorkOrder>('work order');
  readonly #listeners = new Set<(message: ReceivedCommand) => void>();

  /** Listens to everything received; returns the function that stops listening. */
  onReceive(listener: (message: ReceivedCommand) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The oldest work order not yet taken, waiting for one if none is pending (CommandTimeoutError). */
  nextWorkOrder(timeoutMs = 10_000): Promise<WorkOrder> {
    return this.#next.next(timeoutMs);
  }

  acknowledge(workOrderId: string): Promise<Published<{ workOrderId: string }>> {
    return this.send('ack', { workOrderId });
  }

  reportHandled(
    workOrderId: string,
    note: string,
  ): Promise<Published<{ workOrderId: string; note: string }>> {
    return this.send('handled', { workOrderId, note });
  }

  protected override subscribeCommands(): Promise<void> {
    return this.onCommand('#', (payload, topic) => {
      const command = topic.split('/').slice(4).join('/');
      const message: ReceivedCommand = { receivedAt: this.now().toISOString(), topic, command, payload };
      if (command === 'work-orders') {
        const parsed = workOrderSchema.safeParse(payload);
        if (!parsed.success) {
          this.rejectCommand(topic, Buffer.from(JSON.stringify(payload)), parsed.error.message);
        } else if (this.workOrders.has(parsed.data.workOrderId)) {
          message.duplicate = true;
        } else {
          this.workOrders.set(parsed.data.workOrderId, parsed.data);
          this.log(`work order ${parsed.data.workOrderId}: ${parsed.data.title}`);
          this.#next.push(parsed.data);
        }
      }
      this.received.push(message);
      for (const listener of this.#listeners) listener(message);
    });
  }
}
