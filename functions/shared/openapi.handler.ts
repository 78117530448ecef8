/** GET /openapi.json: the API's OpenAPI 3.1 document, public, built once per cold start. */
import { deviceRoutes, registryRoutes, rosterRoutes } from '../registry/routes.js';
import { violationsRoutes } from '../violations/routes.js';
import { httpRoute } from './http.js';
import { buildOpenApiDocument } from './openapi.js';

/** Every feature's route catalogue; a new feature adds its catalogue here and in its infra construct. */
export const CATALOGUES = [registryRoutes, rosterRoutes, deviceRoutes, violationsRoutes];

const body = JSON.stringify(
  buildOpenApiDocument(CATALOGUES, {
    title: 'civic-cell API',
    version: '0.1.0',
    description:
      "The HTTP API of civic-cell for the sub-district office's command platform, property companies, owners' committees and owners.",
  }),
);

export const handler = httpRoute({ roles: [] }, async () => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
  body,
}));
