/**
 * Every feature's route catalogue: the API construct's OpenAPI document and the tests enumerate them. A
 * new feature adds its catalogue here and in its infra construct. Imports only schemas.
 */
import { evaluationRoutes } from '../evaluation/routes.js';
import { meetingsRoutes } from '../meetings/routes.js';
import { mergerRoutes } from '../merger/routes.js';
import { deviceRoutes, registryRoutes, rosterRoutes } from '../registry/routes.js';
import { residentRoutes } from '../resident/routes.js';
import { violationsRoutes } from '../violations/routes.js';
import { buildOpenApiDocument } from './openapi.js';

export const CATALOGUES = [
  registryRoutes,
  rosterRoutes,
  deviceRoutes,
  violationsRoutes,
  meetingsRoutes,
  mergerRoutes,
  evaluationRoutes,
  residentRoutes,
];

/** The API's OpenAPI 3.1 document, as infra/api.ts builds it at synth time into the document's function. */
export const apiDocument = () =>
  buildOpenApiDocument(CATALOGUES, {
    title: 'civic-cell API',
    version: '0.1.0',
    description:
      "The HTTP API of civic-cell for the sub-district office's command platform, property companies, owners' committees and owners.",
  });
