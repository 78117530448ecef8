import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { CivicCellStack } from './civic-cell-stack.js';

const app = new App();
new CivicCellStack(app, 'CivicCell', {
  description: 'civic-cell: sub-district residential compounds as city cells',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// cdk-nag only reads the template; the local cloud skips it to start fast, the template is the same.
if (process.env.CIVIC_SKIP_NAG !== '1') {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}
app.synth();
