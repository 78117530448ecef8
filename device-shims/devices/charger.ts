import { DeviceShim, type Published } from '../shim.js';

export type ChargerState = 'ok' | 'fault' | 'flying-wire';

/** An e-bike charging post; `flying-wire` is a cable run from a window to charge outside the shed. */
export class Charger extends DeviceShim {
  static override readonly deviceType = 'charger';

  status(state: ChargerState): Promise<Published<{ state: ChargerState }>> {
    return this.send('status', { state });
  }
}
