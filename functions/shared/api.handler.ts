/** GET /openapi.json: the API's OpenAPI 3.1 document, public, built once per cold start. */
import { meetingsRoutes } from '../meetings/routes.js';
import { deviceRoutes, registryRoutes, rosterRoutes } from '../registry/routes.js';
import { violationsRoutes } from '../violations/routes.js';
import { NotFoundError } from './errors.js';
import { httpRoute } from './http.js';
import { buildOpenApiDocument } from './openapi.js';

/** Every feature's route catalogue; a new feature adds its catalogue here and in its infra construct. */
export const CATALOGUES = [registryRoutes, rosterRoutes, deviceRoutes, violationsRoutes, meetingsRoutes];

const body = JSON.stringify(
  buildOpenApiDocument(CATALOGUES, {
    title: 'civic-cell API',
    version: '0.1.0',
    description:
      "The HTTP API of civic-cell for the sub-district office's command platform, property companies, owners' committees and owners.",
  }),
);

export const openApi = httpRoute({ roles: [] }, async () => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
  body,
}));

/** The API's `$default` route: any path no feature serves answers 404 in problem+json. */
export const notFound = httpRoute({ roles: [] }, async ({ event }) => {
  throw new NotFoundError(`No route for ${event.requestContext.http.method} ${event.rawPath}.`);
});
