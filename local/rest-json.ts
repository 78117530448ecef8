import type { ServerResponse } from 'node:http';

/**
 * Writes a response as AWS restJson1 services do: a JSON body (or none), and on errors the
 * `x-amzn-errortype` header, from which the SDK picks the named exception class.
 */
export const sendRestJson = (
  res: ServerResponse,
  status: number,
  body?: unknown,
  errorType?: string,
): void => {
  if (res.headersSent) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
    })
    .end(text);
};
