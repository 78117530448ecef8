/**
 * The area merger's state machine as synthesized: valid ASL (asl-validator, as the local cloud checks it
 * at start), every task that waits for a token bounded by TimeoutSeconds and HeartbeatSeconds, every
 * ending a named state reached by the path that leads to it.
 */
import { createRequire } from 'node:module';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CANCELLED_ERROR, END_STATES, NOT_PASSED_ERROR, WAITS } from '../../functions/merger/domain.js';
import { CivicCellStack } from '../../infra/civic-cell-stack.js';

type AslValidator = (
  definition: unknown,
  options?: Record<string, unknown>,
) => { isValid: boolean; errors: unknown[] };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

// biome-ignore lint/suspicious/noExplicitAny: ASL is walked as plain JSON
type State = Record<string, any>;

/** The definition with every CloudFormation reference written as a plausible ARN. */
const definitionOf = (definitionString: unknown): { StartAt: string; States: Record<string, State> } => {
  if (typeof definitionString === 'string') return JSON.parse(definitionString);
  const [, parts] = (definitionString as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'us-east-1',
    'AWS::AccountId': '123456789012',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref !== undefined && pseudo[ref] !== undefined) return pseudo[ref];
      return 'arn:aws:lambda:us-east-1:123456789012:function:CivicCell-MergerWorkflow';
    })
    .join('');
  return JSON.parse(text);
};

/** Every state, Map iterations included, by name. */
const allStates = (states: Record<string, State>): Record<string, State> => {
  const found: Record<string, State> = {};
  for (const [name, state] of Object.entries(states)) {
    found[name] = state;
    if (state.Type === 'Map')
      Object.assign(found, allStates(state.ItemProcessor?.States ?? state.Iterator?.States));
  }
  return found;
};

describe('area merger state machine', () => {
  let definition: ReturnType<typeof definitionOf>;
  let states: Record<string, State>;
  let properties: Record<string, unknown>;

  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const template = Template.fromStack(new CivicCellStack(app, 'CivicCell'));
    const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    const merger = machines.find(
      (machine) => machine.Properties.StateMachineName === 'civic-cell-area-merger',
    );
    if (merger === undefined) throw new Error('No area merger state machine in the template');
    properties = merger.Properties;
    definition = definitionOf(merger.Properties.DefinitionString);
    states = allStates(definition.States);
  });

  it('is a Standard state machine whose ASL asl-validator accepts', () => {
    expect(properties.StateMachineType).toBe('STANDARD');
    const result = aslValidator(structuredClone(definition), { checkArn: true, checkPaths: true });
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
    expect(definition.StartAt).toBe('Survey');
  });

  it('bounds every task that waits for a token with TimeoutSeconds and HeartbeatSeconds', () => {
    const waiting = Object.entries(states).filter(([, state]) =>
      String(state.Resource ?? '').endsWith('.waitForTaskToken'),
    );
    expect(waiting.map(([name]) => name).sort()).toEqual([
      'BureauDecision',
      'OpenVote',
      'Participation',
      'Survey',
    ]);
    const day = 86_400;
    const expected: Record<string, { timeoutDays: number; heartbeatDays: number }> = {
      Survey: WAITS.survey,
      Participation: WAITS.participation,
      OpenVote: WAITS.vote,
      BureauDecision: WAITS.bureau,
    };
    for (const [name, state] of waiting) {
      expect(state.TimeoutSeconds, name).toBe((expected[name]?.timeoutDays ?? 0) * day);
      expect(state.HeartbeatSeconds, name).toBe((expected[name]?.heartbeatDays ?? 0) * day);
      expect(state.HeartbeatSeconds, name).toBeLessThan(state.TimeoutSeconds);
      expect(JSON.stringify(state.Parameters), name).toContain('$$.Task.Token');
    }
  });

  it('ends every way in a named state, each recorded first', () => {
    for (const name of Object.values(END_STATES)) {
      expect(states[name]?.Type, name).toBe(name === 'Merged' ? 'Succeed' : 'Fail');
      expect(states[`Record${name}`]?.Next, name).toBe(name);
    }
    const catches = (name: string) =>
      (states[name]?.Catch ?? []).map((c: State) => [c.ErrorEquals.join(','), c.Next]);
    for (const name of ['Survey', 'Participation', 'BureauDecision'])
      expect(catches(name)).toEqual(
        expect.arrayContaining([
          [CANCELLED_ERROR, 'RecordCancelled'],
          ['States.Timeout,States.HeartbeatTimeout', 'RecordApprovalLapsed'],
        ]),
      );
    expect(catches('Votes')).toEqual([[CANCELLED_ERROR, 'RecordCancelled']]);
    expect(catches('OpenVote')).toEqual([
      [CANCELLED_ERROR, 'VoteCancelled'],
      [NOT_PASSED_ERROR, 'VoteNotPassed'],
      ['States.Timeout,States.HeartbeatTimeout', 'VoteLapsed'],
      ['States.ALL', 'VoteFailed'],
    ]);
    expect(states.EnoughAreasPassed?.Default).toBe('RecordTooFewAreasPassed');
    expect(states.Approved?.Default).toBe('RecordRejectedByBureau');
    expect(states.Approved?.Choices?.[0]?.Next).toBe('CarryOutMerge');
    // The merge is retried (it is idempotent): a crash mid-merge resumes it.
    expect(states.CarryOutMerge?.Retry?.length).toBeGreaterThan(0);
  });
});
