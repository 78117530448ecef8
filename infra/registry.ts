import { Construct } from 'constructs';
import type { Api } from './api.js';
import { CivicFunction, type FunctionDefaults } from './civic-function.js';

/** Feature `registry`: sub-districts, compounds, areas, units, owners, staff, devices, zones. */
export class Registry extends Construct {
  constructor(scope: Construct, id: string, props: { api: Api; defaults: FunctionDefaults }) {
    super(scope, id);
    const { api, defaults } = props;
    const createCompound = new CivicFunction(this, 'CreateCompound', {
      entry: 'registry/compounds.handler.ts',
      handler: 'createHandler',
      description: 'POST /compounds',
      defaults,
      tableAccess: 'write',
    });
    const getCompound = new CivicFunction(this, 'GetCompound', {
      entry: 'registry/compounds.handler.ts',
      handler: 'getHandler',
      description: 'GET /compounds/{compoundId}',
      defaults,
      tableAccess: 'read',
    });
    api.addRoute('POST /compounds', createCompound);
    api.addRoute('GET /compounds/{compoundId}', getCompound);
  }
}
