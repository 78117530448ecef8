import { z } from 'zod';
import { ForbiddenError, NotFoundError } from '../shared/errors.js';
import { httpRoute, json } from '../shared/http.js';
import { canSeeCompound, compoundIdSchema, createCompoundSchema } from './domain.js';
import { createCompound, getCompound } from './store.js';

const present = ({
  compoundId,
  subDistrictId,
  name,
  address,
  version,
}: {
  compoundId: string;
  subDistrictId: string;
  name: string;
  address?: string;
  version: number;
}) => ({
  compoundId,
  subDistrictId,
  name,
  address,
  version,
});

/** POST /compounds — the street office registers a compound in its own sub-district. */
export const createHandler = httpRoute(
  { roles: ['street-office'], body: createCompoundSchema },
  async ({ body, caller }) => {
    if (caller.subDistrictId === undefined) throw new ForbiddenError('Your token names no sub-district.');
    const compound = await createCompound(caller.subDistrictId, body);
    return json(201, present(compound), {
      location: `/compounds/${compound.compoundId}`,
      etag: `"${compound.version}"`,
    });
  },
);

/** GET /compounds/{compoundId} */
export const getHandler = httpRoute(
  {
    roles: ['street-office', 'property-staff', 'committee-member', 'owner', 'caseworker'],
    params: z.object({ compoundId: compoundIdSchema }).strict(),
  },
  async ({ params, caller }) => {
    const compound = await getCompound(params.compoundId);
    if (compound === undefined || !canSeeCompound(caller, compound)) throw new NotFoundError();
    return json(200, present(compound), { etag: `"${compound.version}"` });
  },
);
