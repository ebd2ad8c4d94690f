"""The X OAuth tokens in Secrets Manager: read with their version, replaced only if nobody else did first.

X rotates the refresh token on every refresh and the old one stops working, so
a lost write would lose the account (docs/channels/x.md). Secrets Manager has no
compare-and-swap, but a version's ClientRequestToken is unique: the successor of
version V is always written with the token derived from V. Two refreshers that
both read V try to create the same version with different values; Secrets
Manager keeps the first and refuses the second (ResourceExistsException), which
then re-reads. A retry of our own write (same value) is accepted as done.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shared.model.failures import ConditionFailed, DependencyUnavailable
from shared.model.x_polling import OAuthTokens, StoredTokens

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

# Fixed, so every refresher derives the same successor token from the same version.
_SUCCESSOR_NAMESPACE = uuid.UUID("6f1d6c8e-3a57-4c1e-9a0b-7e2f7d1b5c40")


class VaultUnavailable(DependencyUnavailable):
    """Secrets Manager did not answer: this run cannot authenticate and ends; the next one retries."""


def successor_version(version: str) -> str:
    """The ClientRequestToken (32-64 characters) of the version that replaces `version`."""
    return str(uuid.uuid5(_SUCCESSOR_NAMESPACE, version))


class SecretsManagerTokenVault:
    def __init__(self, client: SecretsManagerClient, secret_arn: str) -> None:
        self._client = client
        self._arn = secret_arn

    def read(self) -> StoredTokens:
        try:
            answer = self._client.get_secret_value(SecretId=self._arn)
        except (BotoCoreError, ClientError) as error:
            raise VaultUnavailable("the X token secret cannot be read") from error
        return StoredTokens(OAuthTokens.parse(answer["SecretString"]), answer["VersionId"])

    def replace(self, previous: StoredTokens, tokens: OAuthTokens) -> StoredTokens:
        """Write `tokens` as the successor of `previous`; ConditionFailed if another writer made it first."""
        version = successor_version(previous.version)
        try:
            self._client.put_secret_value(
                SecretId=self._arn, SecretString=tokens.serialize(), ClientRequestToken=version
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceExistsException":
                raise ConditionFailed("another refresher replaced the tokens first") from error
            raise VaultUnavailable("the X token secret cannot be written") from error
        except BotoCoreError as error:
            raise VaultUnavailable("the X token secret cannot be written") from error
        return StoredTokens(tokens, version)
