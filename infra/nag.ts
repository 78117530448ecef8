import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** A resolved CloudFormation value written the way cdk-nag names it in a finding (`<Ref>`, `<Res.Attr>`). */
const flatten = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if ('Ref' in object) return `<${String(object.Ref)}>`;
    if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(separator);
    }
  }
  return JSON.stringify(value);
};

/**
 * Acknowledges AwsSolutions-IAM5 for exactly these wildcard resources on `scope` (cdk-nag reports one
 * finding per resource, named after it as resolved in this stack's account and region).
 */
export const acknowledgeWildcards = (scope: IConstruct, resources: string[], reason: string) => {
  const stack = Stack.of(scope);
  Validations.of(scope).acknowledge(
    ...resources.map((resource) => ({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${flatten(stack.resolve(resource))}]`,
      reason,
    })),
  );
};
