import { DeviceShim, type Published } from '../shim.js';

/** A smart water meter; no use for a long time at an elder's home raises a care visit. */
export class WaterMeter extends DeviceShim {
  static override readonly deviceType = 'water-meter';

  usage(litres: number): Promise<Published<{ litres: number }>> {
    return this.send('usage', { litres });
  }
}
