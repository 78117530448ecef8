// One Lambda execution environment: loads a bundled handler module and serves invocations posted by
// the local Lambda service. Plain JavaScript so it runs in a worker thread without a TypeScript loader.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
// The SDK's Node-version warning stays out of the functions' logs; other warnings reach them.
import '../quiet-warnings.mjs';
import { shiftDate } from './shifted-date.mjs';

process.setSourceMapsEnabled?.(true);

const { moduleFile, exportName, functionName, functionArn, memorySize, logGroupName, clockBuffer } =
  workerData;

// The cloud's clock, before the handler's module (and anything it bundles) is loaded. Deadlines stay real.
const realNow = clockBuffer === undefined ? Date.now : shiftDate(clockBuffer);

const serializeError = (error) => ({
  errorType: error?.name ?? 'Error',
  errorMessage: error?.message ?? String(error),
  stackTrace: typeof error?.stack === 'string' ? error.stack.split('\n') : [],
});

let handler;
try {
  const mod = await import(pathToFileURL(moduleFile).href);
  handler = mod[exportName];
  if (typeof handler !== 'function')
    throw new Error(`${moduleFile} does not export a function named ${exportName}`);
  parentPort.postMessage({ type: 'ready' });
} catch (error) {
  parentPort.postMessage({ type: 'init-error', error: serializeError(error) });
}

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke' || handler === undefined) return;
  const { id, eventJson, deadline, requestId } = message;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: String(memorySize),
    awsRequestId: requestId ?? randomUUID(),
    logGroupName,
    logStreamName: `local/${functionName}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - realNow()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
  try {
    const result = await handler(JSON.parse(eventJson), context);
    parentPort.postMessage({
      type: 'result',
      id,
      ok: true,
      resultJson: result === undefined ? 'null' : JSON.stringify(result),
    });
  } catch (error) {
    parentPort.postMessage({ type: 'result', id, ok: false, error: serializeError(error) });
  }
});
