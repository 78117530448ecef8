import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

if (isMainThread) {
  const { startDynamoDbLocal } = await import('../local/dynamodb.ts');
  const { CreateTableCommand } = await import('@aws-sdk/client-dynamodb');
  const d = await startDynamoDbLocal({});
  await d.client.send(
    new CreateTableCommand({
      TableName: 'ttt',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  const http = await import('node:http');
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const w = new Worker(new URL(import.meta.url), {
    workerData: { endpoint: d.endpoint, http: `http://127.0.0.1:${srv.address().port}` },
  });
  await new Promise((r) =>
    w.on('message', (m) => {
      console.log(m);
      if (m === 'done') r();
    }),
  );
  await w.terminate();
  srv.close();
  await d.stop();
  process.exit(0);
} else {
  const { DynamoDBClient, PutItemCommand, GetItemCommand } = await import('@aws-sdk/client-dynamodb');
  const { IoTDataPlaneClient, PublishCommand } = await import('@aws-sdk/client-iot-data-plane');
  const creds = { accessKeyId: 'l', secretAccessKey: 'l' };
  const c = new DynamoDBClient({ endpoint: workerData.endpoint, region: 'us-east-1', credentials: creds });
  const iot = new IoTDataPlaneClient({ endpoint: workerData.http, region: 'us-east-1', credentials: creds });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const run = async (label, fn, gap) => {
    const lat = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await fn(i);
      lat.push(performance.now() - t);
      if (gap) await sleep(gap);
    }
    lat.sort((a, b) => a - b);
    parentPort.postMessage(
      `${label} gap ${gap}: p50 ${lat[150].toFixed(2)} p90 ${lat[270].toFixed(2)} p99 ${lat[297].toFixed(2)}`,
    );
  };
  for (const gap of [0, 0, 20]) {
    await run(
      'ddb put',
      (i) => c.send(new PutItemCommand({ TableName: 'ttt', Item: { pk: { S: `x${i}` }, sk: { S: 'y' } } })),
      gap,
    );
    await run(
      'ddb get',
      (i) => c.send(new GetItemCommand({ TableName: 'ttt', Key: { pk: { S: `x${i}` }, sk: { S: 'y' } } })),
      gap,
    );
    await run(
      'http publish',
      () => iot.send(new PublishCommand({ topic: 'a/b', qos: 1, payload: Buffer.from('{}') })),
      gap,
    );
  }
  parentPort.postMessage('done');
}
