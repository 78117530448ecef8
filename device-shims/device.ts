import { iot, mqtt } from 'aws-iot-device-sdk-v2';

export interface DeviceIdentity {
  thingName: string;
  certificatePath: string;
  privateKeyPath: string;
  caPath: string;
}

export interface DeviceEndpoint {
  host: string;
  port: number;
}

export class DeviceConnectError extends Error {
  override name = 'DeviceConnectError';
}

/** A SUBSCRIBE the broker refused (SUBACK 0x80): the IoT policy does not allow that filter. */
export class DeviceSubscribeError extends Error {
  override name = 'DeviceSubscribeError';
}

/** An operation on a device after `disconnect()`: the SDK's native connection is freed by then. */
export class DeviceClosedError extends Error {
  override name = 'DeviceClosedError';
}

/**
 * What happens to a connection after CONNACK. The SDK reconnects by itself after an interruption
 * (exponential back-off), queues QoS 1 publishes meanwhile and re-sends them on resume.
 */
export type DeviceLifecycleEvent =
  | { type: 'interrupted'; error: Error }
  | { type: 'resumed'; returnCode: number; sessionPresent: boolean }
  | { type: 'connection-failure'; error: Error }
  | { type: 'error'; error: Error }
  | { type: 'disconnected' }
  | { type: 'closed' };

export type DeviceState = 'connected' | 'interrupted' | 'disconnected';

const asError = (value: unknown): Error =>
  value instanceof Error
    ? value
    : new Error(
        typeof value === 'object' && value !== null && 'error' in value ? String(value.error) : String(value),
      );

/**
 * A device connection as every shim makes it: aws-iot-device-sdk-v2's MQTT 3.1.1 client over mutual TLS,
 * client id = thing name (what the IoT policy requires). The same code connects to AWS IoT Core with the
 * account's ATS endpoint and port 8883, or to the local broker. (The SDK's MQTT 5 client does not speak
 * to aedes, which is MQTT 3.1.1 only.)
 */
export const connectDevice = async (
  identity: DeviceIdentity,
  endpoint: DeviceEndpoint,
  options: {
    timeoutMs?: number;
    onInterrupted?: (error: Error) => void;
    /** Every lifecycle event after CONNACK (also available later through `Device.onLifecycle`). */
    onLifecycle?: (event: DeviceLifecycleEvent) => void;
  } = {},
): Promise<Device> => {
  const config = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(
    identity.certificatePath,
    identity.privateKeyPath,
  )
    .with_certificate_authority_from_path(undefined, identity.caPath)
    .with_endpoint(endpoint.host)
    .with_port(endpoint.port)
    .with_client_id(identity.thingName)
    .with_clean_session(true)
    .with_keep_alive_seconds(30)
    .build();
  // The 1.28 builder has no setter for this; without it the SDK appends its metrics to the MQTT username.
  config.disable_metrics = true;
  const connection = new mqtt.MqttClient().new_connection(config);
  // Connect failures also reject connect(); an 'error' without a listener would throw.
  connection.on('error', () => {});
  connection.on('interrupt', (error) => options.onInterrupted?.(asError(error)));
  const timeoutMs = options.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connection.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new DeviceConnectError(`${identity.thingName}: no CONNACK within ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
  } catch (error) {
    await connection.disconnect().catch(() => {});
    throw error instanceof DeviceConnectError
      ? error
      : new DeviceConnectError(`${identity.thingName}: ${String(error)}`);
  } finally {
    clearTimeout(timer);
  }
  const device = new Device(identity.thingName, connection);
  if (options.onLifecycle) device.onLifecycle(options.onLifecycle);
  return device;
};

/** A connected device: publishes JSON on its own dt/ topics, subscribes to its own cmd/ topics. */
export class Device {
  #state: DeviceState = 'connected';
  readonly #listeners = new Set<(event: DeviceLifecycleEvent) => void>();

  constructor(
    readonly thingName: string,
    private readonly connection: mqtt.MqttClientConnection,
  ) {
    const emit = (event: DeviceLifecycleEvent) => {
      for (const listener of this.#listeners) listener(event);
    };
    connection.on('interrupt', (error) => {
      if (this.#state === 'connected') this.#state = 'interrupted';
      emit({ type: 'interrupted', error: asError(error) });
    });
    connection.on('resume', (returnCode, sessionPresent) => {
      if (this.#state === 'interrupted') this.#state = 'connected';
      emit({ type: 'resumed', returnCode, sessionPresent });
    });
    connection.on('connection_failure', (result) =>
      emit({ type: 'connection-failure', error: asError(result?.error) }),
    );
    connection.on('error', (error) => emit({ type: 'error', error: asError(error) }));
    connection.on('disconnect', () => emit({ type: 'disconnected' }));
    connection.on('closed', () => emit({ type: 'closed' }));
  }

  /** `connected`, `interrupted` (the SDK is reconnecting) or `disconnected` (after `disconnect()`). */
  get state(): DeviceState {
    return this.#state;
  }

  /** Listens to lifecycle events; returns the function that stops listening. */
  onLifecycle(listener: (event: DeviceLifecycleEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Publishes at least once (QoS 1) and resolves on PUBACK. */
  async publish(topic: string, payload: unknown, qos: mqtt.QoS = mqtt.QoS.AtLeastOnce): Promise<void> {
    this.#assertOpen('publish');
    const body =
      typeof payload === 'string' || payload instanceof Uint8Array ? payload : JSON.stringify(payload);
    await this.connection.publish(topic, body as string, qos);
  }

  /** Subscribes at least once; rejects when the broker refuses the filter (the IoT policy). */
  async subscribe(topic: string, onMessage: (topic: string, payload: Buffer) => void): Promise<void> {
    this.#assertOpen('subscribe');
    const granted = await this.connection.subscribe(topic, mqtt.QoS.AtLeastOnce, (receivedTopic, payload) =>
      onMessage(receivedTopic, Buffer.from(payload)),
    );
    if (granted.error_code || (granted.qos as number) === 128) {
      throw new DeviceSubscribeError(`${this.thingName}: subscription to ${topic} refused`);
    }
  }

  /** Closes the connection (DISCONNECT, no reconnection) and frees it; safe to call twice. */
  async disconnect(): Promise<void> {
    if (this.#state === 'disconnected') return;
    this.#state = 'disconnected';
    await this.connection.disconnect().catch(() => {});
  }

  #assertOpen(operation: string): void {
    if (this.#state === 'disconnected')
      throw new DeviceClosedError(`${this.thingName}: cannot ${operation} after disconnect()`);
  }
}
