import { describe, expect, it } from 'vitest';
import { StateMachineDefinitionError, startStepFunctions } from './index.js';
import { functionArn, stateMachineArn } from './test-support.js';

const task = (state: Record<string, unknown>) => ({
  StartAt: 'Only',
  States: { Only: { End: true, ...state } },
});

const invalid: { case: string; definition: object; message: RegExp }[] = [
  {
    case: 'no StartAt',
    definition: { States: { A: { Type: 'Pass', End: true } } },
    message: /invalid definition/,
  },
  {
    case: 'a Next to nowhere',
    definition: { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } },
    message: /invalid definition/,
  },
  {
    case: 'JSONata',
    definition: { QueryLanguage: 'JSONata', StartAt: 'A', States: { A: { Type: 'Pass', End: true } } },
    message: /JSONata/,
  },
  {
    case: 'an unsupported service integration',
    definition: task({
      Type: 'Task',
      Resource: 'arn:aws:states:::sns:publish',
      Parameters: { TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'hi' },
    }),
    message: /sns:publish is not supported/,
  },
  {
    case: 'a DynamoDB task without dynamodbEndpoint',
    definition: task({
      Type: 'Task',
      Resource: 'arn:aws:states:::dynamodb:putItem',
      Parameters: { TableName: 'items', Item: {} },
    }),
    message: /dynamodbEndpoint/,
  },
  {
    case: 'a token task that never passes its token',
    definition: task({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: functionArn('notify'), 'Payload.$': '$' },
    }),
    message: /\$\$\.Task\.Token/,
  },
  {
    case: 'a distributed Map reading from S3',
    definition: task({
      Type: 'Map',
      ItemReader: { Resource: 'arn:aws:states:::s3:getObject', Parameters: { Bucket: 'b', Key: 'k' } },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'P',
        States: { P: { Type: 'Pass', End: true } },
      },
    }),
    message: /ItemReader/,
  },
];

describe('startStepFunctions', () => {
  it.each(invalid)('refuses $case, naming the machine', async ({ definition, message }) => {
    const start = startStepFunctions({
      port: 0,
      stateMachines: [{ arn: stateMachineArn('broken'), name: 'broken', definition }],
      invokeLambda: async () => null,
    });

    await expect(start).rejects.toBeInstanceOf(StateMachineDefinitionError);
    await expect(start).rejects.toThrow(/state machine 'broken'/);
    await expect(start).rejects.toThrow(message);
  });

  it('leaves the definition it was given unchanged', async () => {
    const definition = {
      StartAt: 'Pause',
      States: {
        Pause: { Type: 'Wait', SecondsPath: '$.s', Next: 'Call' },
        Call: { Type: 'Task', Resource: functionArn('f'), End: true },
      },
    };
    const before = structuredClone(definition);

    const server = await startStepFunctions({
      port: 0,
      stateMachines: [{ arn: stateMachineArn('intact'), name: 'intact', definition }],
      invokeLambda: async () => null,
      waitTimeScale: 0,
    });
    await server.close();

    expect(definition).toEqual(before);
  });

  it('accepts the aws-cn partition used in Shanghai', async () => {
    const server = await startStepFunctions({
      port: 0,
      stateMachines: [
        {
          arn: 'arn:aws-cn:states:cn-north-1:123456789012:stateMachine:cn',
          name: 'cn',
          definition: task({
            Type: 'Task',
            Resource: 'arn:aws-cn:states:::lambda:invoke',
            Parameters: {
              FunctionName: 'arn:aws-cn:lambda:cn-north-1:123456789012:function:f',
              'Payload.$': '$',
            },
          }),
        },
      ],
      invokeLambda: async () => null,
    });

    await server.close();
  });
});
