import { NotFoundError } from './errors.js';
import { httpRoute } from './http.js';

/** The API's `$default` route: any path no feature serves answers 404 in problem+json. */
export const handler = httpRoute({ roles: [] }, async ({ event }) => {
  throw new NotFoundError(`No route for ${event.requestContext.http.method} ${event.rawPath}.`);
});
