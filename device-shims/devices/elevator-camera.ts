import { DeviceShim, Inbox, type Published } from '../shim.js';

export type ElevatorCameraEvent = 'e-bike-detected' | 'clear';

export interface HoldDoorsCommand {
  receivedAt: string;
  topic: string;
  payload: Record<string, unknown>;
}

/**
 * An elevator car's camera: detects an e-bike being wheeled in and obeys `hold-doors` (the elevator keeps
 * its doors open and does not move until the bike is out).
 */
export class ElevatorCamera extends DeviceShim {
  static override readonly deviceType = 'elevator-camera';
  readonly holdDoors = new Inbox<HoldDoorsCommand>('hold-doors command');

  event(event: ElevatorCameraEvent): Promise<Published<{ event: ElevatorCameraEvent }>> {
    return this.send('event', { event });
  }

  /** The next hold-doors command not yet taken (rejects with CommandTimeoutError). */
  nextHoldDoors(timeoutMs = 10_000): Promise<HoldDoorsCommand> {
    return this.holdDoors.next(timeoutMs);
  }

  protected override subscribeCommands(): Promise<void> {
    return this.onCommand('hold-doors', (payload, topic) => {
      this.log(`hold-doors ${JSON.stringify(payload)}`);
      this.holdDoors.push({ receivedAt: this.now().toISOString(), topic, payload });
    });
  }
}
