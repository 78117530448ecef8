import { DeviceShim, type Published } from '../shim.js';

/** A parking / fire-lane geomagnetic sensor: reports whether a vehicle stands over it. */
export class GeomagneticSensor extends DeviceShim {
  static override readonly deviceType = 'geomagnetic-sensor';

  occupancy(occupied: boolean): Promise<Published<{ occupied: boolean }>> {
    return this.send('occupancy', { occupied });
  }
}
