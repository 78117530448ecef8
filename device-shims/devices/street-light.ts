import { DeviceShim, type Published } from '../shim.js';

export interface StreetLightStatus {
  ok: boolean;
  fault?: string;
}

export class StreetLight extends DeviceShim {
  static override readonly deviceType = 'street-light';

  status(ok: boolean, fault?: string): Promise<Published<StreetLightStatus>> {
    return this.send('status', fault === undefined ? { ok } : { ok, fault });
  }
}
