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
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { apiDocument } from '../functions/shared/catalogues.js';
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

  private readonly cursorKey: ISecret;

  constructor(
    scope: Construct,
    id: string,
    props: { identity: Identity; defaults: FunctionDefaults; cursorKey: ISecret },
  ) {
    super(scope, id);
    this.cursorKey = props.cursorKey;
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
      entry: 'shared/not-found.handler.ts',
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
      entry: 'shared/openapi.handler.ts',
      handler: 'openApi',
      define: { __OPENAPI_DOCUMENT__: JSON.stringify(JSON.stringify(apiDocument())) },
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
   * Serves a catalogue's routes: one function per group of routes (a route's `group`, by default its
   * table access), granted only the table access of its group, with the feature module's `dispatch` as
   * handler; then one API route per catalogue entry, all of a group's routes on one integration and one
   * invoke permission. A function per route would cost five more resources per route, and a stack holds
   * at most 500. Returns the functions by group, so a construct can grant them more.
   */
  addCatalogue(
    scope: Construct,
    routes: Record<string, RouteDefinition>,
    defaults: FunctionDefaults,
  ): Map<string, CivicFunction> {
    const groups = new Map<string, RouteDefinition[]>();
    for (const route of Object.values(routes)) {
      const group = route.group ?? route.tableAccess;
      groups.set(group, [...(groups.get(group) ?? []), route]);
    }
    const functions = new Map<string, CivicFunction>();
    for (const [group, members] of groups) {
      const [first] = members as [RouteDefinition, ...RouteDefinition[]];
      const settings = (route: RouteDefinition) =>
        JSON.stringify([
          route.entry,
          route.tableAccess,
          route.needs ?? [],
          route.timeoutSeconds,
          route.memorySize,
        ]);
      const odd = members.find((route) => settings(route) !== settings(first));
      if (odd !== undefined) {
        throw new Error(
          `${odd.routeKey} and ${first.routeKey} share the function group ${group} but not its module, table access, permissions, timeout or memory`,
        );
      }
      const id = `${group.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase())}Routes`;
      const fn = new CivicFunction(scope, id, {
        entry: first.entry,
        handler: 'dispatch',
        description:
          `API routes (${first.tableAccess} access): ${members.map((route) => route.routeKey).join(', ')}`.slice(
            0,
            256,
          ),
        defaults,
        tableAccess: first.tableAccess,
        ...(first.timeoutSeconds ? { timeout: Duration.seconds(first.timeoutSeconds) } : {}),
        ...(first.memorySize ? { memorySize: first.memorySize } : {}),
      });
      // Resolved by CloudFormation at deploy time (a dynamic reference), so no call at cold start reads it.
      fn.addEnvironment('CURSOR_KEY', this.cursorKey.secretValue.unsafeUnwrap());
      const integration = new HttpLambdaIntegration(`${id}Integration`, fn, {
        scopePermissionToRoute: false,
      });
      for (const route of members) this.addRoute(route.routeKey, integration);
      functions.set(group, fn);
    }
    return functions;
  }

  /** Adds `METHOD /path` behind the JWT authorizer, on the given integration. */
  addRoute(routeKey: `${Method} /${string}`, integration: HttpLambdaIntegration): HttpRoute {
    const [method, path] = routeKey.split(' ') as [Method, string];
    const id = `${method}${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
    return new HttpRoute(this, id, {
      httpApi: this.httpApi,
      routeKey: HttpRouteKey.with(path, method as never),
      integration,
      authorizer: this.authorizer,
    });
  }
}
