export {
  createLocalIssuer,
  InvalidTokenRequestError,
  LOCAL_ISSUER_ALG,
  type LocalIssuer,
  type LocalIssuerOptions,
  type OpenIdConfiguration,
  SigningKeyLoadError,
  type TokenRequest,
} from './issuer.js';
export {
  type AuthorizationResult,
  authorizeJwt,
  flattenClaims,
  type JwtAuthorizerConfig,
  type JwtAuthorizerContext,
} from './jwt-authorizer.js';
export {
  type CompiledRoute,
  compileRoute,
  InvalidRouteKeyError,
  type RouteMatch,
  selectRoute,
} from './routes.js';
export {
  HttpApiConfigError,
  type HttpApiCors,
  type HttpApiEvent,
  type HttpApiOptions,
  type HttpApiRoute,
  type HttpApiServer,
  MAX_BODY_BYTES,
  MalformedLambdaResponseError,
  startHttpApi,
} from './server.js';
