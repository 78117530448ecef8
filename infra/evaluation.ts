import { Construct } from 'constructs';
import { evaluationRoutes } from '../functions/evaluation/routes.js';
import type { Api } from './api.js';
import type { FunctionDefaults } from './civic-function.js';

/**
 * Feature `evaluation`: the rule-of-law evaluation of owners' committees (法治评估) — versioned indicator
 * systems, yearly cycles, evaluators assigned without conflicts of interest, score sheets, results with
 * computed indicators, printable reports, and the guidance fund split in whole fen.
 */
export class Evaluation extends Construct {
  constructor(scope: Construct, id: string, props: { api: Api; defaults: FunctionDefaults }) {
    super(scope, id);
    props.api.addCatalogue(this, evaluationRoutes, props.defaults);
  }
}
