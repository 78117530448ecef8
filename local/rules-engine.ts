import type { DevicePublish } from './iot/broker.js';
import { type CompiledRule, compileRule, topicMatches, UnsupportedSqlError } from './iot-sql/index.js';
import type { LambdaService } from './lambda/service.js';
import type { SqsService } from './sqs/index.js';
import type { TopicRuleAction, TopicRuleSpec } from './template.js';

export class RuleStartError extends Error {
  override name = 'RuleStartError';
}

/** A rule action that could not be carried out, as AWS IoT hands it to the rule's error action. */
export interface RuleActionFailure {
  ruleName: string;
  topic: string;
  clientId: string;
  base64OriginalPayload: string;
  failures: { failedAction: string; failedResource: string; errorMessage: string }[];
}

export interface RulesEngineOptions {
  rules: TopicRuleSpec[];
  lambda: LambdaService;
  /** The queues SQS actions send to. */
  sqs: Pick<SqsService, 'queue'>;
  /** Publishes as the cloud (republish actions). */
  publish(topic: string, payload: Buffer, qos: 0 | 1): Promise<void>;
  log?: (line: string) => void;
  /** Where cloudwatchLogs error actions write; defaults to the log. */
  onRuleError?: (logGroupName: string, failure: RuleActionFailure) => void;
  /** The cloud's clock in epoch milliseconds, for the SQL's timestamp(); default real time. */
  now?: () => number;
}

interface ActiveRule {
  spec: TopicRuleSpec;
  compiled: CompiledRule;
}

const substitute = (template: string, message: DevicePublish): string =>
  template
    .replace(
      /\$\{topic\((\d+)\)\}/g,
      (_match, index: string) => message.topic.split('/')[Number(index) - 1] ?? '',
    )
    .replace(/\$\{topic\(\)\}/g, message.topic)
    .replace(/\$\{clientid\(\)\}/g, message.clientId);

/**
 * The AWS IoT rules engine for the template's TopicRules: every accepted device publish is matched
 * against each rule's FROM filter, its SQL evaluated, and its actions run. A Lambda action is an async
 * invocation (Lambda then retries and uses the on-failure destination, as on AWS); an SQS action sends
 * the result as the message body; when an action cannot be carried out at all, the rule's error action
 * receives the failure.
 */
export class RulesEngine {
  private readonly rules: ActiveRule[];
  private delivered = 0;

  constructor(private readonly options: RulesEngineOptions) {
    this.rules = options.rules
      .filter((rule) => !rule.disabled)
      .map((spec) => {
        try {
          return { spec, compiled: compileRule(spec.sql, { sqlVersion: spec.sqlVersion }) };
        } catch (error) {
          if (error instanceof UnsupportedSqlError) {
            throw new RuleStartError(
              `Topic rule ${spec.ruleName} (${spec.logicalId}) uses SQL the local cloud cannot run: ${error.message}`,
            );
          }
          throw error;
        }
      });
    for (const { spec } of this.rules) {
      for (const action of [...spec.actions, ...(spec.errorAction ? [spec.errorAction] : [])]) {
        if (action.kind === 'lambda') options.lambda.spec(action.functionArn);
        if (action.kind === 'sqs') options.sqs.queue(action.queueUrl);
      }
    }
  }

  /** Messages handed to actions so far (for benchmarks and progress). */
  get deliveredCount(): number {
    return this.delivered;
  }

  handle(message: DevicePublish): void {
    const context = {
      topic: message.topic,
      clientId: message.clientId,
      timestamp: this.options.now?.() ?? Date.now(),
    };
    for (const { spec, compiled } of this.rules) {
      if (!topicMatches(compiled.topicFilter, message.topic)) continue;
      let output: unknown;
      try {
        output = compiled.evaluate(message.payload, context);
      } catch (error) {
        this.fail(spec, message, [
          {
            failedAction: 'SqlEvaluation',
            failedResource: spec.ruleName,
            errorMessage: (error as Error).message,
          },
        ]);
        continue;
      }
      if (output === undefined) continue;
      for (const action of spec.actions) {
        void this.run(action, output, message).catch((error: Error) =>
          this.fail(spec, message, [
            { failedAction: action.kind, failedResource: describe(action), errorMessage: error.message },
          ]),
        );
      }
    }
  }

  private async run(action: TopicRuleAction, output: unknown, message: DevicePublish): Promise<void> {
    this.delivered++;
    switch (action.kind) {
      case 'lambda':
        this.options.lambda.invokeAsync(
          action.functionArn,
          Buffer.isBuffer(output) ? parseOrRaw(output) : output,
        );
        return;
      case 'republish':
        await this.options.publish(
          substitute(action.topic, message),
          Buffer.isBuffer(output) ? output : Buffer.from(JSON.stringify(output)),
          action.qos === 1 ? 1 : 0,
        );
        return;
      case 'cloudwatchLogs':
        this.options.log?.(`rule log ${action.logGroupName}: ${JSON.stringify(output)}`);
        return;
      case 'sqs': {
        const bytes = Buffer.isBuffer(output) ? output : Buffer.from(JSON.stringify(output));
        // A send SQS refuses (size, characters) rejects, and so reaches the error action.
        this.options.sqs
          .queue(action.queueUrl)
          .send({ body: action.useBase64 ? bytes.toString('base64') : bytes.toString('utf8') });
        return;
      }
    }
  }

  private fail(spec: TopicRuleSpec, message: DevicePublish, failures: RuleActionFailure['failures']) {
    const failure: RuleActionFailure = {
      ruleName: spec.ruleName,
      topic: message.topic,
      clientId: message.clientId,
      base64OriginalPayload: message.payload.toString('base64'),
      failures,
    };
    const errorAction = spec.errorAction;
    if (errorAction?.kind === 'cloudwatchLogs') {
      if (this.options.onRuleError) this.options.onRuleError(errorAction.logGroupName, failure);
      else
        this.options.log?.(
          `rule error ${spec.ruleName} → ${errorAction.logGroupName}: ${JSON.stringify(failure)}`,
        );
    } else if (errorAction !== undefined) {
      void this.run(errorAction, failure, message).catch((error: Error) =>
        this.options.log?.(`rule ${spec.ruleName}: error action failed too: ${error.message}`),
      );
    } else {
      this.options.log?.(
        `rule ${spec.ruleName}: action failed (no error action): ${JSON.stringify(failures)}`,
      );
    }
  }
}

const describe = (action: TopicRuleAction) => {
  switch (action.kind) {
    case 'lambda':
      return action.functionArn;
    case 'republish':
      return action.topic;
    case 'cloudwatchLogs':
      return action.logGroupName;
    case 'sqs':
      return action.queueUrl;
  }
};

/** A Lambda action receives JSON; a raw non-JSON payload (SELECT * on binary) arrives base64-encoded. */
const parseOrRaw = (payload: Buffer): unknown => {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return payload.toString('base64');
  }
};
