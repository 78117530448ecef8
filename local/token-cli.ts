/**
 * `npm run token -- <role> [--sub S] [--compound C ...] [--area A ...] [--company X] [--owner O] [--sub-district D]`
 * Prints an ID token for the role from the running local cloud's issuer.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ROLES } from '../functions/shared/auth.js';
import { PROJECT_ROOT } from './cloud.js';

const USAGE = `Usage: npm run -s token -- <role> [options]

Prints an ID token for <role> from the running local cloud's issuer (start it with npm start).

Roles:   ${ROLES.join(', ')}
Options: --sub-district D   the token's sub-district (default: the demo's sd-banshongyuan)
         --compound C ...   compounds in scope (repeat the option for several)
         --area A ...       property areas in scope
         --company X        the property company (property-staff)
         --owner O          the owner id (owner)
         --sub S            the subject (user id)
         --data-dir DIR     the local cloud's data dir (default .local/)
Example: npm run -s token -- owner --compound xiling --area xiling-north --owner xiling-north.1-101`;

const parsed = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        sub: { type: 'string' },
        'sub-district': { type: 'string' },
        compound: { type: 'string', multiple: true },
        area: { type: 'string', multiple: true },
        company: { type: 'string' },
        owner: { type: 'string' },
        'data-dir': { type: 'string' },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const role = positionals[0];
if (role === undefined || !(ROLES as readonly string[]).includes(role)) {
  console.error(`${role === undefined ? 'Name a role.' : `No role ${role}.`}\n\n${USAGE}`);
  process.exit(2);
}
const dataDir = values['data-dir'] ? path.resolve(values['data-dir']) : path.join(PROJECT_ROOT, '.local');
let control: string;
try {
  control = JSON.parse(readFileSync(path.join(dataDir, 'cloud.json'), 'utf8')).endpoints.control;
} catch {
  console.error('The local cloud is not running: start it with `npm start` first.');
  process.exit(1);
}
const response = await fetch(`${control}/tokens`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    role,
    sub: values.sub,
    subDistrictId: values['sub-district'],
    compoundIds: values.compound,
    areaIds: values.area,
    companyId: values.company,
    ownerId: values.owner,
  }),
}).catch(() => undefined);
if (response === undefined || !response.ok) {
  console.error(
    `The local cloud did not issue a token (${response ? await response.text() : 'not reachable'}).`,
  );
  process.exit(1);
}
console.log(((await response.json()) as { token: string }).token);
