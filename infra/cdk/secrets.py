"""One Secrets Manager secret per signing secret name, shared by the functions that read it.

The template holds no value: CloudFormation generates a random placeholder and
the operator sets the provider's real value with `aws secretsmanager
put-secret-value` (docs/deploy.md). Functions get only `<NAME>_SECRET_ARN`;
shared/config.py reads the value through Powertools Parameters, cached.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.cdk.function import ThreadlineFunction
from infra.topology import Secret

# Not `grant_write`: it adds UpdateSecret, which could change the secret's key or description.
WRITE_ACTIONS = ("secretsmanager:PutSecretValue",)


class ChannelSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self._secrets: dict[str, secretsmanager.Secret] = {}

    def grant(self, target: ThreadlineFunction, declared: Secret) -> None:
        """Read, and for a secret the function writes back (a rotated token) PutSecretValue: on this secret only."""
        secret = self.secret(declared)
        secret.grant_read(target.role)
        if declared.writable:
            target.role.add_to_principal_policy(
                iam.PolicyStatement(actions=list(WRITE_ACTIONS), resources=[secret.secret_arn])
            )
        target.add_environment(f"{declared.name}_SECRET_ARN", secret.secret_arn)

    def secret(self, declared: Secret) -> secretsmanager.Secret:
        name = declared.name
        if name not in self._secrets:
            secret = secretsmanager.Secret(
                self,
                name,
                secret_name=f"threadline/{self._stage}/{name}",
                description=declared.help,
                removal_policy=RemovalPolicy.RETAIN,
            )
            NagSuppressions.add_resource_suppressions(
                secret,
                [
                    NagPackSuppression(
                        id="AwsSolutions-SMG4",
                        reason="issued by the channel provider (Twilio, Meta, X, ...); rotated in the "
                        "provider's console, then stored with put-secret-value (X's OAuth refresh token: "
                        "rotated by the poller itself on every refresh)",
                    )
                ],
            )
            self._secrets[name] = secret
        return self._secrets[name]

    @property
    def names(self) -> dict[str, str]:
        """Secret name in Secrets Manager by setting name, for the stack's outputs."""
        return {name: f"threadline/{self._stage}/{name}" for name in self._secrets}
