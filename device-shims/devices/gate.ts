import { DeviceShim, type Published } from '../shim.js';

export type GateState = 'closed' | 'open' | 'forced-open' | 'held-open';

/** A compound gate or building door with a contact sensor. */
export class Gate extends DeviceShim {
  static override readonly deviceType = 'gate';

  state(state: GateState): Promise<Published<{ state: GateState }>> {
    return this.send('state', { state });
  }
}
