import type { EventEmitter } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { assertThingName, certificateIdOf, type LocalCa, normalizeSerialNumber } from './ca.js';
import { type IotRegistry, openIotRegistry } from './control-plane.js';
import { checkDevicePublish, checkDeviceSubscribe, type PolicyDecision } from './policy.js';

/** A publish a device made and the policy accepted: what the local rules engine consumes. */
export interface DevicePublish {
  topic: string;
  payload: Buffer;
  clientId: string;
  qos: 0 | 1;
}

/** Something the policy refused, reported so the developer sees why a device got nowhere. */
export interface DeniedEvent {
  action: 'connect' | 'publish' | 'subscribe';
  reason: string;
  clientId?: string;
  thingName?: string;
  topic?: string;
}

export interface StartBrokerOptions {
  ca: LocalCa;
  /** 0 (the default) picks a free port; the real one is on the returned broker. */
  port?: number;
  host?: string;
  /** Called for every accepted device publish; a rejected promise goes to `onError`. */
  onPublish?: (message: DevicePublish) => void | Promise<void>;
  onDenied?: (event: DeniedEvent) => void;
  /** Errors that concern neither a device nor the policy (a failing `onPublish`, the broker itself). */
  onError?: (error: unknown) => void;
}

export interface LocalBroker {
  readonly host: string;
  readonly port: number;
  /** `mqtts://host:port`, for clients that take a URL. */
  readonly url: string;
  /** Publishes as the cloud (the data plane, rule actions): no policy applies, as in AWS. */
  publish(
    topic: string,
    payload: Buffer | string,
    qos?: 0 | 1,
    options?: { retain?: boolean },
  ): Promise<void>;
  /** Ends every client socket at once, then the broker and the listener. Safe to call twice. */
  close(): Promise<void>;
}

export class BrokerStartError extends Error {
  override readonly name = 'BrokerStartError';
}

/** AWS IoT Core's message size limit; a larger publish disconnects the client there too. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

/** Who a connection is, from its verified certificate: the `iot:Connection.Thing.ThingName` of the policy. */
interface Identity {
  thingName: string;
}

/**
 * Starts the AWS IoT Core stand-in: aedes (MQTT 3.1.1) behind mutual TLS with the local CA, enforcing the
 * per-thing policy. Like AWS, a policy-denied publish is dropped and the client disconnected (lifecycle
 * reason AUTH_ERROR); a denied subscription is answered with SUBACK failure (0x80) and the session stays up.
 *
 * A client connects as thing X (client id X) when its certificate's CN is X (certificates from
 * `ca.issueDeviceCertificate`), or when the certificate is one the IoT control plane created, ACTIVE, with a
 * policy attached and attached to thing X. Certificates set INACTIVE or REVOKED through the control plane
 * are refused and their live sessions closed.
 */
export async function startBroker(opts: StartBrokerOptions): Promise<LocalBroker> {
  const { ca } = opts;
  const host = opts.host ?? '127.0.0.1';
  const onDenied = opts.onDenied ?? (() => {});
  const onError = opts.onError ?? ((error: unknown) => console.error('[local iot broker]', error));
  const identities = new WeakMap<Client, Identity>();
  const sockets = new Set<TLSSocket>();
  /** Raw TCP sockets, so close() also ends connections still in their TLS handshake. */
  const connections = new Set<Socket>();
  const registry = await openIotRegistry(ca);

  const deny = (event: DeniedEvent) => {
    try {
      onDenied(event);
    } catch (error) {
      onError(error);
    }
  };

  const aedes = await Aedes.createBroker({
    authenticate(client, _username, _password, done) {
      const result = identify(client, ca, registry);
      if ('reason' in result) {
        deny({ action: 'connect', clientId: client.id, thingName: result.thingName, reason: result.reason });
        return done(notAuthorized(result.reason), false);
      }
      identities.set(client, result);
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      if (!client) return done(null);
      const identity = identities.get(client);
      const decision = decidePublish(identity, packet);
      if (decision.allowed) return done(null);
      deny({
        action: 'publish',
        clientId: client.id,
        thingName: identity?.thingName,
        topic: packet.topic,
        reason: decision.reason,
      });
      done(new PolicyDeniedError(`publish to ${packet.topic} denied: ${decision.reason}`));
    },
    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      const decision = identity
        ? checkDeviceSubscribe(identity.thingName, subscription.topic)
        : { allowed: false as const, reason: 'client has no certificate identity' };
      if (decision.allowed) {
        return done(null, { ...subscription, qos: subscription.qos === 2 ? 1 : subscription.qos });
      }
      deny({
        action: 'subscribe',
        clientId: client.id,
        thingName: identity?.thingName,
        topic: subscription.topic,
        reason: decision.reason,
      });
      done(null, null);
    },
    published(packet, client, done) {
      const identity = client ? identities.get(client) : undefined;
      if (client && identity && packet.qos !== 2) {
        const message: DevicePublish = {
          topic: packet.topic,
          payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
          clientId: client.id,
          qos: packet.qos,
        };
        try {
          Promise.resolve(opts.onPublish?.(message)).catch(onError);
        } catch (error) {
          onError(error);
        }
      }
      done(null);
    },
  });
  // aedes emits 'error' (persistence, mqemitter) though its typings omit it; unhandled it would crash the process.
  (aedes as EventEmitter).on('error', onError);

  const server = tls.createServer(
    {
      key: ca.serverPrivateKeyPem,
      cert: ca.serverCertificatePem,
      ca: ca.caCertificatePem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      aedes.handle(socket);
    },
  );
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  server.on('tlsClientError', (error) =>
    deny({ action: 'connect', reason: `TLS handshake refused: ${error.message}` }),
  );

  const stopWatchingRevocations = ca.onRevoked(({ thingName, serialNumbers }) => {
    const revoked = new Set(serialNumbers);
    for (const socket of sockets) {
      if (revoked.has(normalizedPeerSerial(socket))) {
        deny({ action: 'connect', thingName, reason: 'certificate revoked: live session closed' });
        socket.destroy();
      }
    }
  });

  const stopWatchingDeactivations = registry.onDeactivated(({ certificateId, status }) => {
    for (const socket of sockets) {
      if (peerCertificateId(socket) === certificateId) {
        deny({ action: 'connect', reason: `certificate ${status}: live session closed` });
        socket.destroy();
      }
    }
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new BrokerStartError(`cannot listen on ${host}:${opts.port ?? 0}: ${error.message}`)),
    );
    server.listen(opts.port ?? 0, host, () => resolve((server.address() as AddressInfo).port));
  }).catch(async (error) => {
    stopWatchingRevocations();
    stopWatchingDeactivations();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw error;
  });
  server.on('error', onError);

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `mqtts://${host.includes(':') ? `[${host}]` : host}:${port}`,
    publish(topic, payload, qos = 0, options = {}) {
      const packet: PublishPacket = {
        cmd: 'publish',
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
        qos,
        retain: options.retain ?? false,
        dup: false,
      };
      return new Promise((resolve, reject) =>
        aedes.publish(packet, (error) => (error ? reject(error) : resolve())),
      );
    },
    close() {
      closing ??= (async () => {
        stopWatchingRevocations();
        stopWatchingDeactivations();
        const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of [...sockets, ...connections]) socket.destroy();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await listenerClosed;
      })();
      return closing;
    },
  };
}

/** Marks the error aedes receives for a denied publish; aedes then closes the connection, as AWS does. */
export class PolicyDeniedError extends Error {
  override readonly name = 'PolicyDeniedError';
}

function decidePublish(identity: Identity | undefined, packet: PublishPacket): PolicyDecision {
  if (!identity) return { allowed: false, reason: 'client has no certificate identity' };
  if (packet.qos === 2) return { allowed: false, reason: 'AWS IoT Core does not support QoS 2' };
  const size = Buffer.isBuffer(packet.payload) ? packet.payload.length : Buffer.byteLength(packet.payload);
  if (size > MAX_PAYLOAD_BYTES)
    return { allowed: false, reason: `payload larger than ${MAX_PAYLOAD_BYTES} bytes` };
  return checkDevicePublish(identity.thingName, packet.topic);
}

function identify(
  client: Client,
  ca: LocalCa,
  registry: IotRegistry,
): Identity | { reason: string; thingName?: string } {
  const socket = client.conn as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) {
    return { reason: 'no verified client certificate' };
  }
  const certificate = socket.getPeerCertificate();
  const certificateId = certificateIdOf(certificate);
  if (registry.certificate(certificateId)) {
    // CN = "AWS IoT Certificate": the thing comes from the registry's attachment, as in AWS.
    const decision = registry.authorizeConnect(certificateId, client.id);
    return decision.allowed ? { thingName: client.id } : { reason: decision.reason, thingName: client.id };
  }
  const commonName = certificate.subject?.CN;
  if (typeof commonName !== 'string') return { reason: 'client certificate has no single CN' };
  try {
    assertThingName(commonName);
  } catch (error) {
    return { reason: (error as Error).message };
  }
  if (ca.isRevoked(certificate)) return { reason: 'certificate revoked', thingName: commonName };
  if (client.id !== commonName) {
    return {
      reason: `client id ${JSON.stringify(client.id)} is not the thing name ${commonName}`,
      thingName: commonName,
    };
  }
  return { thingName: commonName };
}

function peerCertificateId(socket: TLSSocket): string {
  const certificate = socket.getPeerCertificate();
  return certificate?.fingerprint256 ? certificateIdOf(certificate) : '';
}

function normalizedPeerSerial(socket: TLSSocket): string {
  const serialNumber = socket.getPeerCertificate()?.serialNumber;
  return serialNumber ? normalizeSerialNumber(serialNumber) : '';
}

function notAuthorized(reason: string): AuthenticateError {
  return Object.assign(new Error(reason), { returnCode: 5 as AuthenticateError['returnCode'] });
}
