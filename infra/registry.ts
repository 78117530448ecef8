import { Construct } from 'constructs';
import { registryRoutes, rosterRoutes } from '../functions/registry/routes.js';
import type { Api } from './api.js';
import type { FunctionDefaults } from './civic-function.js';

/** Feature `registry`: sub-districts, compounds, areas, units, owners, staff, committees, zones, devices. */
export class Registry extends Construct {
  constructor(scope: Construct, id: string, props: { api: Api; defaults: FunctionDefaults }) {
    super(scope, id);
    props.api.addCatalogue(this, registryRoutes, props.defaults);
    props.api.addCatalogue(this, rosterRoutes, props.defaults);
  }
}
