import { Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteDefinition } from '../functions/shared/routes.js';
import { CivicFunction, type FunctionDefaults } from './civic-function.js';
import type { Identity } from './identity.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];

/**
 * The HTTP API: every route behind the user pool's JWT authorizer, except the `$default` route, which
 * answers problem+json 404 for paths no feature serves (as API Gateway itself would, without a token),
 * and the public `GET /openapi.json`.
 */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  private readonly authorizer: HttpUserPoolAuthorizer;

  constructor(scope: Construct, id: string, props: { identity: Identity; defaults: FunctionDefaults }) {
    super(scope, id);
    this.authorizer = new HttpUserPoolAuthorizer('Cognito', props.identity.userPool, {
      userPoolClients: [props.identity.client],
    });
    this.httpApi = new HttpApi(this, 'Http', {
      description: 'civic-cell API for the command platform, property companies, committees and owners',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latency: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
      throttle: { rateLimit: 200, burstLimit: 400 },
    });

    const notFound = new CivicFunction(this, 'NotFound', {
      entry: 'shared/api.handler.ts',
      handler: 'notFound',
      description: 'Answers 404 problem+json for routes no feature serves',
      defaults: props.defaults,
      tableAccess: 'none',
      memorySize: 256,
    });
    const defaultRoute = new HttpRoute(this, 'DefaultRoute', {
      httpApi: this.httpApi,
      routeKey: HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('NotFoundIntegration', notFound),
      authorizer: new HttpNoneAuthorizer(),
    });
    Validations.of(defaultRoute).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG4',
      reason:
        'The $default route only answers 404 problem+json and reads nothing; API Gateway answers unknown routes without authorization too.',
    });

    const openApi = new CivicFunction(this, 'OpenApi', {
      entry: 'shared/api.handler.ts',
      handler: 'openApi',
      description: 'GET /openapi.json: the OpenAPI 3.1 document generated from the route catalogues',
      defaults: props.defaults,
      tableAccess: 'none',
      memorySize: 256,
    });
    const openApiRoute = new HttpRoute(this, 'OpenApiRoute', {
      httpApi: this.httpApi,
      routeKey: HttpRouteKey.with('/openapi.json', HttpMethod.GET),
      integration: new HttpLambdaIntegration('OpenApiIntegration', openApi),
      authorizer: new HttpNoneAuthorizer(),
    });
    Validations.of(openApiRoute).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG4',
      reason:
        'GET /openapi.json serves the public API description built from the route catalogues; it reads no data and needs no caller.',
    });
  }

  /**
   * Creates one function per catalogue route (least-privilege table access as the route declares) and
   * its API route; returns the functions by handler name so a construct can grant them more.
   */
  addCatalogue(
    scope: Construct,
    routes: Record<string, RouteDefinition>,
    defaults: FunctionDefaults,
  ): Map<string, CivicFunction> {
    const functions = new Map<string, CivicFunction>();
    for (const route of Object.values(routes)) {
      const id = route.handler.charAt(0).toUpperCase() + route.handler.slice(1);
      const fn = new CivicFunction(scope, id, {
        entry: route.entry,
        handler: route.handler,
        description: route.routeKey,
        defaults,
        tableAccess: route.tableAccess,
        ...(route.timeoutSeconds ? { timeout: Duration.seconds(route.timeoutSeconds) } : {}),
        ...(route.memorySize ? { memorySize: route.memorySize } : {}),
      });
      this.addRoute(route.routeKey, fn);
      functions.set(route.handler, fn);
    }
    return functions;
  }

  /** Adds `METHOD /path` behind the JWT authorizer, integrated with the given function. */
  addRoute(routeKey: `${Method} /${string}`, fn: IFunction): HttpRoute {
    const [method, path] = routeKey.split(' ') as [Method, string];
    const id = `${method}${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
    return new HttpRoute(this, id, {
      httpApi: this.httpApi,
      routeKey: HttpRouteKey.with(path, method as never),
      integration: new HttpLambdaIntegration(`${id}-integration`, fn),
      authorizer: this.authorizer,
    });
  }
}
