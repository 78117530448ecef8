import { DeviceShim, type Published } from '../shim.js';

export type CameraEvent = 'corridor-clutter' | 'road-occupied' | 'clear';

/** An inspection camera: corridor clutter in a stairwell, a shopfront occupying the road. */
export class InspectionCamera extends DeviceShim {
  static override readonly deviceType = 'camera';

  event(event: CameraEvent): Promise<Published<{ event: CameraEvent }>> {
    return this.send('event', { event });
  }
}
