import { z } from 'zod';
import { DeviceShim, Inbox } from '../shim.js';

export const freeSpacesSchema = z.object({
  zoneId: z.string().min(1),
  free: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});
export type FreeSpaces = z.infer<typeof freeSpacesSchema> & { receivedAt: string };

/** A parking guidance screen: shows the free spaces the cloud sends for each zone. */
export class GuidanceScreen extends DeviceShim {
  static override readonly deviceType = 'guidance-screen';
  /** The latest counts per zone. */
  readonly counts = new Map<string, FreeSpaces>();
  readonly updates = new Inbox<FreeSpaces>('free-spaces update');

  /** The next update not yet taken (rejects with CommandTimeoutError). */
  nextUpdate(timeoutMs = 10_000): Promise<FreeSpaces> {
    return this.updates.next(timeoutMs);
  }

  protected override subscribeCommands(): Promise<void> {
    return this.onCommand('free-spaces', (payload, topic) => {
      const parsed = freeSpacesSchema.safeParse(payload);
      if (!parsed.success) {
        this.rejectCommand(topic, Buffer.from(JSON.stringify(payload)), parsed.error.message);
        return;
      }
      const update = { ...parsed.data, receivedAt: this.now().toISOString() };
      this.counts.set(update.zoneId, update);
      this.log(`free spaces in ${update.zoneId}: ${update.free}/${update.total}`);
      this.updates.push(update);
    });
  }
}
