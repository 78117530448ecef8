/**
 * GET /openapi.json: the API's OpenAPI 3.1 document, public. The document is built at synth time from
 * the route catalogues (functions/shared/catalogues.ts) and put into this bundle as a string constant
 * (esbuild `define`, infra/api.ts), so the function neither carries the schemas nor converts them at
 * cold start.
 */
import { httpRoute } from './http.js';

declare const __OPENAPI_DOCUMENT__: string;

export const openApi = httpRoute({ roles: [] }, async () => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
  body: __OPENAPI_DOCUMENT__,
}));
