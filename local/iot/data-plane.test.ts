import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalBroker } from './broker.js';
import { type LocalIotDataPlane, MAX_PUBLISH_BYTES, startIotDataPlane } from './data-plane.js';

interface Published {
  topic: string;
  payload: string;
  qos: 0 | 1 | undefined;
  retain: boolean | undefined;
}

let published: Published[];
let failNext: Error | undefined;
let errors: unknown[];
let dataPlane: LocalIotDataPlane;
let client: IoTDataPlaneClient;

const broker: Pick<LocalBroker, 'publish'> = {
  async publish(topic, payload, qos, options) {
    if (failNext) {
      const error = failNext;
      failNext = undefined;
      throw error;
    }
    published.push({ topic, payload: payload.toString(), qos, retain: options?.retain });
  },
};

beforeEach(async () => {
  published = [];
  failNext = undefined;
  errors = [];
  dataPlane = await startIotDataPlane({ broker, port: 0, onError: (error) => errors.push(error) });
  client = new IoTDataPlaneClient({
    endpoint: dataPlane.endpoint,
    region: 'cn-north-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterEach(async () => {
  client.destroy();
  await dataPlane.close();
});

describe('Publish through the AWS SDK', () => {
  it('publishes the payload on the decoded topic with qos and retain', async () => {
    const output = await client.send(
      new PublishCommand({
        topic: 'cmd/civic/jinqiao 1/screen-01/显示',
        payload: Buffer.from('{"free":12}'),
        qos: 1,
        retain: true,
      }),
    );

    expect(output.$metadata.httpStatusCode).toBe(200);
    expect(published).toEqual([
      { topic: 'cmd/civic/jinqiao 1/screen-01/显示', payload: '{"free":12}', qos: 1, retain: true },
    ]);
  });

  it('defaults to qos 0 and no retain', async () => {
    await client.send(new PublishCommand({ topic: 'cmd/civic/c1/gate-01/open', payload: Buffer.from('') }));

    expect(published).toEqual([{ topic: 'cmd/civic/c1/gate-01/open', payload: '', qos: 0, retain: false }]);
  });

  it.each([
    ['qos 2', { topic: 'a/b', qos: 2 }, 'InvalidRequestException'],
    ['a wildcard topic', { topic: 'cmd/civic/+/gate-01/open' }, 'InvalidRequestException'],
    ['a topic of 8 slashes', { topic: 'a/b/c/d/e/f/g/h/i' }, 'InvalidRequestException'],
    ['a reserved topic', { topic: '$aws/things/gate-01/shadow/update' }, 'InvalidRequestException'],
  ])('refuses %s with a 400 the SDK maps to its exception', async (_case, input, errorName) => {
    const error = await client
      .send(new PublishCommand({ payload: Buffer.from('x'), ...input }))
      .catch((e) => e);

    expect(error).toMatchObject({ name: errorName, $metadata: { httpStatusCode: 400 } });
    expect(published).toEqual([]);
  });

  it('refuses a payload above the 128 KB AWS limit', async () => {
    const error = await client
      .send(new PublishCommand({ topic: 'a/b', payload: Buffer.alloc(MAX_PUBLISH_BYTES + 1) }))
      .catch((e) => e);

    expect(error).toMatchObject({
      name: 'RequestEntityTooLargeException',
      $metadata: { httpStatusCode: 413 },
    });
    expect(published).toEqual([]);
  });

  it('answers 500 without details when the broker fails', async () => {
    const failure = new Error('broker exploded at /secret/path');
    failNext = failure;

    const error = await client
      .send(new PublishCommand({ topic: 'a/b', payload: Buffer.from('x') }))
      .catch((e) => e);

    expect(error).toMatchObject({ name: 'InternalFailureException', $metadata: { httpStatusCode: 500 } });
    expect(error.message).not.toContain('secret');
    expect(errors).toEqual([failure]);
  });
});

describe('raw HTTP', () => {
  it('accepts a topic whose slashes were not percent-encoded, as curl users send it', async () => {
    const response = await fetch(`${dataPlane.endpoint}/topics/cmd/civic/c1/gate-01/open?qos=1`, {
      method: 'POST',
      body: 'now',
    });

    expect(response.status).toBe(200);
    expect(published).toEqual([
      { topic: 'cmd/civic/c1/gate-01/open', payload: 'now', qos: 1, retain: false },
    ]);
  });

  it.each([
    ['an unknown path', '/shadow', 'POST', 404, 'ResourceNotFoundException'],
    ['the root', '/', 'GET', 404, 'ResourceNotFoundException'],
    ['another method', '/topics/a%2Fb', 'GET', 405, 'MethodNotAllowedException'],
    ['broken percent-encoding', '/topics/a%E0%A4%A', 'POST', 400, 'InvalidRequestException'],
    ['an empty topic', '/topics/', 'POST', 400, 'InvalidRequestException'],
    ['retain that is not a boolean', '/topics/a%2Fb?retain=yes', 'POST', 400, 'InvalidRequestException'],
  ])('answers %s with a JSON error', async (_case, url, method, status, errorType) => {
    const response = await fetch(`${dataPlane.endpoint}${url}`, {
      method,
      body: method === 'GET' ? undefined : 'x',
    });

    expect(response.status).toBe(status);
    expect(response.headers.get('x-amzn-errortype')).toBe(errorType);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ message: expect.any(String) });
    expect(published).toEqual([]);
  });
});
