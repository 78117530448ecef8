import type { IncomingMessage, ServerResponse } from 'node:http';

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

/**
 * Reads a request's JSON body for the HTTP stand-ins: an empty body is `{}`; a body over `maxBytes` or
 * not JSON is refused with the error `fail` makes (each service has its own error shape).
 */
export const readJsonBody = async (
  req: IncomingMessage,
  maxBytes: number,
  fail: (message: string) => Error,
): Promise<unknown> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw fail(`The request body is larger than ${maxBytes} bytes.`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw fail('The request body is not JSON.');
  }
};
