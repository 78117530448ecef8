import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  CfnUserPoolGroup,
  Mfa,
  StringAttribute,
  UserPool,
  type UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { ROLES } from '../functions/shared/auth.js';

/**
 * The Cognito user pool whose groups are civic-cell's roles. Tenancy travels as custom attributes in
 * the ID token (sub-district, compounds, areas, company, owner), so a handler can scope every read and
 * write from the verified token alone.
 */
export class Identity extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.userPool = new UserPool(this, 'Users', {
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      passwordPolicy: {
        minLength: 12,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      customAttributes: {
        subDistrictId: new StringAttribute({ mutable: true, maxLen: 64 }),
        compoundIds: new StringAttribute({ mutable: true, maxLen: 2048 }),
        areaIds: new StringAttribute({ mutable: true, maxLen: 2048 }),
        companyId: new StringAttribute({ mutable: true, maxLen: 64 }),
        ownerId: new StringAttribute({ mutable: true, maxLen: 64 }),
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions::AwsSolutions-COG2',
        reason:
          'MFA (TOTP) is offered to every user; the sub-district enforces it for office staff by its own policy, owners sign in without it.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-COG3',
        reason:
          'Threat protection (Plus feature plan) is a per-deployment cost decision for the sub-district, not a code default.',
      },
      {
        id: 'AwsSolutions::AwsSolutions-COG8',
        reason:
          'The Plus feature plan is a per-deployment cost decision for the sub-district, not a code default.',
      },
    );

    for (const role of ROLES) {
      new CfnUserPoolGroup(this, `Group-${role}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: role,
        description: `civic-cell role ${role}`,
      });
    }

    this.client = this.userPool.addClient('ApiClient', {
      authFlows: { userSrp: true },
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
    });
  }
}
