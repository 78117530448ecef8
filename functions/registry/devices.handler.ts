import { randomBytes } from 'node:crypto';
import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DeleteThingCommand,
  DescribeEndpointCommand,
  DescribeThingCommand,
  DetachThingPrincipalCommand,
  IoTClient,
  ListThingPrincipalsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import { onFirstUse } from '../shared/clients.js';
import { requireEnv } from '../shared/env.js';
import { ConflictError } from '../shared/errors.js';
import { httpRoute, json, routeDispatcher } from '../shared/http.js';
import { logger } from '../shared/observability.js';
import { watchNewDevice } from '../violations/watch.js';
import { deviceRoutes } from './routes.js';
import { createUnder, etag, loadVisible, present } from './service.js';
import {
  type DeviceDirectoryEntry,
  getDeviceDirectory,
  getRecord,
  putDeviceDirectory,
  replaceRecord,
} from './store.js';

const iot = onFirstUse(() => new IoTClient({}));
const DEVICE_POLICY_NAME = requireEnv('DEVICE_POLICY_NAME');

/**
 * POST /compounds/{compoundId}/devices — creates the IoT thing, an active certificate with the stack's
 * device policy, binds them, and stores the device in the registry. The private key is returned once
 * and stored nowhere.
 */
export const registerDevice = httpRoute(deviceRoutes.registerDevice, async ({ caller, params, body }) => {
  const compound = await loadVisible(caller, 'compound', params.compoundId);
  const zone = await loadVisible<{ areaId?: string; kind: string }>(
    caller,
    'zone',
    `${compound.id}.${body.zoneId}`,
  );
  const thingName = body.thingName ?? `${compound.id}-${body.type}-${randomBytes(3).toString('hex')}`;
  if ((await getRecord(compound.subDistrictId, 'device', thingName)) !== undefined)
    throw new ConflictError(`Device ${thingName} is already registered.`);

  // Thing names are one namespace per AWS account, shared by every sub-district: the sub-district is an
  // attribute, so another tenant's thing of the same name is never reused, and the answer says only
  // that the name is taken.
  await iot()
    .send(
      new CreateThingCommand({
        thingName,
        attributePayload: {
          // At most three attributes on a thing without a thing type; the device type lives in the registry.
          attributes: { subDistrictId: compound.subDistrictId, compoundId: compound.id, zoneId: body.zoneId },
        },
      }),
    )
    .catch((error: Error) => {
      if (error instanceof ResourceAlreadyExistsException) {
        throw new ConflictError(
          `The thing name ${thingName} is not available; choose another or leave it out.`,
        );
      }
      throw error;
    });
  const certificate = await iot().send(new CreateKeysAndCertificateCommand({ setAsActive: true }));
  await iot().send(
    new AttachPolicyCommand({ policyName: DEVICE_POLICY_NAME, target: certificate.certificateArn }),
  );
  await iot().send(new AttachThingPrincipalCommand({ thingName, principal: certificate.certificateArn }));
  const endpoint = await iot().send(new DescribeEndpointCommand({ endpointType: 'iot:Data-ATS' }));

  const { thingName: _ignored, ...attributes } = body;
  const record = await createUnder(
    caller,
    { kind: 'compound', id: compound.id },
    'device',
    thingName,
    {
      thingName,
      ...attributes,
      zoneKind: zone.data.kind,
      installedAt: body.installedAt ?? new Date().toISOString(),
      certificateId: certificate.certificateId,
      status: 'active',
    },
    { sortKey: thingName },
  );
  const listed: DeviceDirectoryEntry = {
    thingName,
    subDistrictId: compound.subDistrictId,
    compoundId: compound.id,
    zoneId: body.zoneId,
    zoneKind: zone.data.kind,
    areaId: zone.data.areaId,
    type: body.type,
    building: body.building,
    floor: body.floor,
    position: body.position,
    status: 'active',
  };
  await putDeviceDirectory(listed);
  // Silence is watched from now, so a device that never reports is found too. The credentials are
  // answered here, once: a watch that fails to start must not lose them, and the device is then
  // watched from its first presence message only.
  await watchNewDevice(listed, new Date().toISOString()).catch((error: Error) =>
    logger.error('Device registered without its silence watch', { thingName, error: error.message }),
  );
  return json(
    201,
    {
      device: present(record),
      credentials: {
        thingName,
        certificatePem: certificate.certificatePem,
        privateKey: certificate.keyPair?.PrivateKey,
        endpoint: endpoint.endpointAddress,
        port: 8883,
        publishTopicPrefix: `dt/civic/${compound.id}/${thingName}/`,
        commandTopicPrefix: `cmd/civic/${compound.id}/${thingName}/`,
      },
    },
    { location: `/devices/${thingName}`, etag: etag(record) },
  );
});

/** DELETE /devices/{thingName} — revokes every certificate of the thing, detaches and deletes it. */
export const decommissionDevice = httpRoute(deviceRoutes.decommissionDevice, async ({ caller, params }) => {
  const device = await loadVisible(caller, 'device', params.thingName);
  // Decommissioning twice changes nothing; and once decommissioned, the thing name may belong to
  // another sub-district's new device, which this record must never reach.
  if ((device.data as { status?: string }).status === 'decommissioned')
    return json(200, present(device), { etag: etag(device) });
  const thing = await iot()
    .send(new DescribeThingCommand({ thingName: params.thingName }))
    .catch((error: Error) => {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    });
  if (thing !== undefined && thing.attributes?.subDistrictId === device.subDistrictId) {
    const { principals = [] } = await iot().send(
      new ListThingPrincipalsCommand({ thingName: params.thingName }),
    );
    for (const principal of principals) {
      const certificateId = principal.split('/').pop() as string;
      await iot().send(new UpdateCertificateCommand({ certificateId, newStatus: 'REVOKED' }));
      await iot().send(new DetachThingPrincipalCommand({ thingName: params.thingName, principal }));
    }
    await iot().send(new DeleteThingCommand({ thingName: params.thingName }));
  }
  const updated = await replaceRecord(
    {
      ...device,
      data: {
        ...(device.data as Record<string, unknown>),
        status: 'decommissioned',
        decommissionedAt: new Date().toISOString(),
      },
    },
    device.version,
  );
  const data = device.data as {
    zoneId: string;
    zoneKind?: string;
    type: string;
    building?: string;
    floor?: number;
    position?: { lat: number; lon: number };
  };
  const listed = await getDeviceDirectory(params.thingName);
  if (listed === undefined || listed.subDistrictId === device.subDistrictId)
    await putDeviceDirectory({
      thingName: params.thingName,
      subDistrictId: device.subDistrictId,
      compoundId: device.compoundId as string,
      zoneId: data.zoneId,
      zoneKind: data.zoneKind ?? 'other',
      type: data.type,
      building: data.building,
      floor: data.floor,
      position: data.position,
      status: 'decommissioned',
    });
  return json(200, present(updated), { etag: etag(updated) });
});

/** The handler of the device registration's function (see routeDispatcher). */
export const dispatch = routeDispatcher(deviceRoutes, 'registry/devices.handler.ts', {
  registerDevice,
  decommissionDevice,
});
