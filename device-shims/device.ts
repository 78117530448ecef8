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

/**
 * A device connection as every shim makes it: aws-iot-device-sdk-v2's MQTT 3.1.1 client over mutual TLS,
 * client id = thing name (what the IoT policy requires). The same code connects to AWS IoT Core with the
 * account's ATS endpoint and port 8883, or to the local broker. (The SDK's MQTT 5 client does not speak
 * to aedes, which is MQTT 3.1.1 only.)
 */
export const connectDevice = async (
  identity: DeviceIdentity,
  endpoint: DeviceEndpoint,
  options: { timeoutMs?: number; onInterrupted?: (error: Error) => void } = {},
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
  const connection = new mqtt.MqttClient().new_connection(config);
  connection.on('error', () => {});
  connection.on('interrupt', (error) => options.onInterrupted?.(error as Error));
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
  return new Device(identity.thingName, connection);
};

/** A connected device: publishes JSON on its own dt/ topics, subscribes to its own cmd/ topics. */
export class Device {
  constructor(
    readonly thingName: string,
    private readonly connection: mqtt.MqttClientConnection,
  ) {}

  /** Publishes at least once (QoS 1) and resolves on PUBACK. */
  async publish(topic: string, payload: unknown, qos: mqtt.QoS = mqtt.QoS.AtLeastOnce): Promise<void> {
    const body =
      typeof payload === 'string' || payload instanceof Uint8Array ? payload : JSON.stringify(payload);
    await this.connection.publish(topic, body as string, qos);
  }

  async subscribe(topic: string, onMessage: (topic: string, payload: Buffer) => void): Promise<void> {
    await this.connection.subscribe(topic, mqtt.QoS.AtLeastOnce, (receivedTopic, payload) =>
      onMessage(receivedTopic, Buffer.from(payload)),
    );
  }

  async disconnect(): Promise<void> {
    await this.connection.disconnect().catch(() => {});
  }
}
