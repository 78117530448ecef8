import { DeviceShim, type Published } from '../shim.js';

/** An elder's emergency call button. */
export class EmergencyButton extends DeviceShim {
  static override readonly deviceType = 'emergency-button';

  press(): Promise<Published<{ pressed: true }>> {
    return this.send('pressed', { pressed: true as const });
  }
}
