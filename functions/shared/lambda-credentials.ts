/**
 * The bundles' stand-in for the SDK's default credential chain (`@aws-sdk/credential-provider-node`;
 * infra/bundling.ts aliases it to this module). Lambda hands a function its role's credentials in the
 * environment, which is the first link of that chain anyway; the rest of it (SSO, profiles, process,
 * web identity, the instance metadata service, and the STS and SSO clients they bring) never runs in a
 * function and was a sixth of every bundle. The local cloud gives its functions the same variables.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
