/** The API's `$default` route: any path no feature serves answers 404 in problem+json. */
import { NotFoundError } from './errors.js';
import { httpRoute } from './http.js';

export const notFound = httpRoute({ roles: [] }, async ({ event }) => {
  throw new NotFoundError(`No route for ${event.requestContext.http.method} ${event.rawPath}.`);
});
