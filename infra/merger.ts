import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Errors,
  Fail,
  IntegrationPattern,
  JsonPath,
  LogLevel,
  Map as MapState,
  Pass,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import {
  CANCELLED_ERROR,
  END_STATES,
  NOT_PASSED_ERROR,
  type Outcome,
  WAITS,
} from '../functions/merger/domain.js';
import { mergerRoutes } from '../functions/merger/routes.js';
import type { Api } from './api.js';
import { CivicFunction, type FunctionDefaults } from './civic-function.js';
import { acknowledgeWildcards } from './nag.js';

const STATE_MACHINE_NAME = 'civic-cell-area-merger';
const days = (n: number) => Timeout.duration(Duration.days(n));

/**
 * Feature `merger`: merging property areas (联小建大) as a Standard state machine per proposal —
 * survey, participation (opt-outs respected), a general-meeting vote per taking-part area (a Map, each
 * iteration waiting on the meetings feature's task token), the housing bureau's decision, the merge
 * carried out, the public notice and the founding meeting's statutory timeline. Every waiting task has
 * TimeoutSeconds and HeartbeatSeconds; every ending is a named state.
 */
export class Merger extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: { api: Api; defaults: FunctionDefaults }) {
    super(scope, id);
    const { api, defaults } = props;
    const workflow = new CivicFunction(this, 'Workflow', {
      entry: 'merger/workflow.handler.ts',
      description: "The area merger's workflow steps: waits, votes, the merge, the notice",
      defaults,
      tableAccess: 'read-write',
      timeout: Duration.minutes(5),
      memorySize: 1024,
    });

    const place = {
      subDistrictId: JsonPath.stringAt('$.subDistrictId'),
      proposalId: JsonPath.stringAt('$.proposalId'),
    };
    const step = (name: string, payload: Record<string, unknown>, resultPath: string | undefined) =>
      new LambdaInvoke(this, name, {
        lambdaFunction: workflow,
        payload: TaskInput.fromObject({ ...place, ...payload }),
        payloadResponseOnly: true,
        resultPath: resultPath ?? JsonPath.DISCARD,
        retryOnServiceExceptions: true,
      }).addRetry({ errors: [Errors.ALL], interval: Duration.seconds(2), maxAttempts: 4, backoffRate: 2 });
    const waitFor = (name: string, waiting: 'survey' | 'participation' | 'bureau', resultPath: string) =>
      new LambdaInvoke(this, name, {
        lambdaFunction: workflow,
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: TaskInput.fromObject({
          action: 'await',
          step: waiting,
          taskToken: JsonPath.taskToken,
          ...place,
        }),
        resultPath,
        taskTimeout: days(WAITS[waiting].timeoutDays),
        heartbeatTimeout: days(WAITS[waiting].heartbeatDays),
      });
    const ending = (outcome: Outcome) => {
      const record = step(`Record${END_STATES[outcome]}`, { action: 'end', outcome }, undefined);
      const end =
        outcome === 'merged'
          ? new Succeed(this, END_STATES[outcome])
          : new Fail(this, END_STATES[outcome], {
              error: END_STATES[outcome],
              cause: `The proposal ended: ${outcome}`,
            });
      return record.next(end);
    };
    const cancelled = ending('cancelled');
    const lapsed = ending('lapsed');
    const onCancel = { errors: [CANCELLED_ERROR], resultPath: '$.error' };
    const timeouts = [Errors.TIMEOUT, Errors.HEARTBEAT_TIMEOUT];

    // The vote in one taking-part area: the plan opened as a matter of its noticed meeting.
    const openVote = new LambdaInvoke(this, 'OpenVote', {
      lambdaFunction: workflow,
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: TaskInput.fromObject({
        action: 'open-vote',
        area: JsonPath.objectAt('$.area'),
        taskToken: JsonPath.taskToken,
        ...place,
      }),
      resultSelector: { 'meetingId.$': '$.meetingId', 'matterId.$': '$.matterId', passed: true },
      resultPath: '$.vote',
      taskTimeout: days(WAITS.vote.timeoutDays),
      heartbeatTimeout: days(WAITS.vote.heartbeatDays),
    });
    const voteOf = (name: string, passed: boolean, reason?: string) =>
      new Pass(this, name, {
        parameters: {
          'areaId.$': '$.area.areaId',
          'meetingId.$': '$.area.meetingId',
          passed,
          ...(reason === undefined ? {} : { reason }),
        },
      });
    const voteCancelled = new Fail(this, 'VoteCancelled', {
      error: CANCELLED_ERROR,
      cause: 'The proposal was cancelled',
    });
    openVote.addCatch(voteCancelled, { errors: [CANCELLED_ERROR], resultPath: '$.error' });
    openVote.addCatch(voteOf('VoteNotPassed', false, 'not-passed'), {
      errors: [NOT_PASSED_ERROR],
      resultPath: '$.error',
    });
    openVote.addCatch(voteOf('VoteLapsed', false, 'lapsed'), { errors: timeouts, resultPath: '$.error' });
    openVote.addCatch(voteOf('VoteFailed', false, 'error'), { errors: [Errors.ALL], resultPath: '$.error' });
    const votePassed = voteOf('VotePassed', true);
    const votes = new MapState(this, 'Votes', {
      itemsPath: '$.participation.areas',
      itemSelector: { ...place, 'area.$': '$$.Map.Item.Value' },
      resultPath: '$.votes',
      maxConcurrency: 10,
    });
    votes.itemProcessor(openVote.next(votePassed));
    votes.addCatch(cancelled, onCancel);

    const survey = waitFor('Survey', 'survey', '$.survey');
    const participation = waitFor('Participation', 'participation', '$.participation');
    const bureau = waitFor('BureauDecision', 'bureau', '$.decision');
    for (const waiting of [survey, participation, bureau]) waiting.addCatch(cancelled, onCancel);
    survey.addCatch(lapsed, { errors: timeouts, resultPath: '$.error' });
    participation.addCatch(lapsed, { errors: timeouts, resultPath: '$.error' });
    bureau.addCatch(lapsed, { errors: timeouts, resultPath: '$.error' });

    const countVotes = step('CountVotes', { action: 'count-votes', 'votes.$': '$.votes' }, '$.count');
    const merge = step(
      'CarryOutMerge',
      { action: 'merge', 'passedAreaIds.$': '$.count.passedAreaIds' },
      '$.merge',
    );
    const notice = step('PublicNotice', { action: 'notice' }, '$.founding');

    const definition = survey
      .next(participation)
      .next(step('BeginVotes', { action: 'begin-votes' }, undefined))
      .next(votes)
      .next(countVotes)
      .next(
        new Choice(this, 'EnoughAreasPassed')
          .when(
            Condition.booleanEquals('$.count.proceeds', true),
            bureau.next(
              new Choice(this, 'Approved')
                .when(
                  Condition.booleanEquals('$.decision.approved', true),
                  merge.next(notice).next(ending('merged')),
                )
                .otherwise(ending('rejected')),
            ),
          )
          .otherwise(ending('too-few-passed')),
      );

    const logs = new LogGroup(this, 'AreaMergerLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'AreaMerger', {
      stateMachineName: STATE_MACHINE_NAME,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(definition),
      comment: 'Merging property areas (联小建大): survey, participation, votes, the bureau, the merge',
      timeout: Duration.days(365),
      tracingEnabled: true,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
    });

    acknowledgeWildcards(
      this.stateMachine,
      [`${workflow.functionArn}:*`],
      "Invoking the workflow function's versions and aliases, as LambdaInvoke grants it.",
    );

    // ARNs by the machine's name: the workflow function's own grant would otherwise make a cycle.
    const stack = Stack.of(this);
    const machineArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: STATE_MACHINE_NAME,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executionsArn = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${STATE_MACHINE_NAME}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const taskResponses = ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'];
    const routeFunctions = api.addCatalogue(this, mergerRoutes, defaults);
    for (const [group, fn] of routeFunctions) {
      fn.addEnvironment('MERGER_STATE_MACHINE_ARN', this.stateMachine.stateMachineArn);
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
          resources: [executionsArn],
        }),
      );
      acknowledgeWildcards(
        fn,
        [executionsArn],
        "Reading the merger's executions (one per proposal) for timelines.",
      );
      if (group !== 'read-write') continue;
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ['states:StartExecution', ...taskResponses],
          resources: [machineArn],
        }),
      );
    }
    // The workflow's own steps answer tokens too (a cancellation that arrives while a step is starting).
    workflow.addToRolePolicy(new PolicyStatement({ actions: taskResponses, resources: [machineArn] }));
  }
}
