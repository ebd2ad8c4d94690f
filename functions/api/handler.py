"""/v1: the read/write API for CRMs and agent tools. Routes only route; errors map once below.

docs/api.md describes every route; docs/openapi.json is generated from this module (`make openapi`).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.models import (
    AttachIdentifierRequest,
    AttachView,
    CaseDetail,
    CaseStatusView,
    CaseView,
    CustomerView,
    ErasureView,
    MergeRequest,
    MergeView,
    Page,
    UnmergeView,
)
from shared.api.openapi import ERROR_RESPONSES, document_settings, without_validation_422
from shared.api.queries import Gone, NotFound, parse_identifier
from shared.config import get_secret, get_settings
from shared.http import error_body
from shared.linking.merging import (
    CustomerMerged,
    CustomerNotFound,
    MergeAlreadyUndone,
    MergeConflict,
    MergeInProgress,
    MergeNotFound,
)
from shared.model.contact import Channel, Contact, IdentifierKind, Provider
from shared.model.failures import InvalidCursor
from shared.model.identifiers import InvalidIdentifier
from shared.model.records import TimelineFilter
from shared.observability import logger, metrics, tracer
from shared.replies.commands import (
    CaseMerged,
    CaseNotFound,
    IdempotencyKeyReused,
    ReplyRequest,
    RequestInProgress,
)
from shared.replies.rules import ReplyRefused
from shared.wiring import get_commands, get_queries, get_replies, get_reply_once, get_reply_store


def error_response(status: int, code: str, message: str) -> Response[str]:
    """The house error body, in the Powertools response /v1's resolver takes."""
    return Response(status_code=status, content_type="application/json", body=error_body(code, message))


PageSize = Annotated[int, Query(ge=1, le=100, description="items per page")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
# Ids are ours (ULID-based); anything else cannot name an item, and must not reach a key.
Id = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z_-]+$")]

IDENTIFIER_PATTERN = rf"^({'|'.join(kind.value for kind in IdentifierKind)}):.+$"

app = APIGatewayHttpResolver(enable_validation=True)


def require_api_key(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
    """Locally /v1 takes an x-api-key; deployed, API Gateway has already checked SigV4 (IAM)."""
    if get_settings().api_auth == "api_key":
        presented = resolver.current_event.headers.get("x-api-key", "")
        if not hmac.compare_digest(presented.encode(), get_secret("THREADLINE_API_KEY").encode()):
            return error_response(401, "unauthorized", "missing or wrong x-api-key")
    return next_middleware(resolver)


app.use(middlewares=[require_api_key])


@app.get("/v1/contacts/<contact_id>", responses=ERROR_RESPONSES)
def get_contact(contact_id: Id) -> Contact:
    return get_queries().contact(contact_id)


@app.get("/v1/contacts", responses=ERROR_RESPONSES)
def find_contacts(
    provider: Annotated[Provider, Query()],
    provider_message_id: Annotated[str, Query(min_length=1, max_length=256)],
) -> Page[Contact]:
    return get_queries().contacts_by_provider_id(provider.value, provider_message_id)


@app.get("/v1/customers/<customer_id>", responses=ERROR_RESPONSES)
def get_customer(customer_id: Id) -> CustomerView:
    return get_queries().customer(customer_id)


@app.get("/v1/customers", responses=ERROR_RESPONSES)
def find_customers(
    identifier: Annotated[
        str, Query(min_length=3, max_length=400, pattern=IDENTIFIER_PATTERN, description="kind:value")
    ],
) -> Page[CustomerView]:
    return get_queries().customers_by_identifier(parse_identifier(identifier, get_settings().default_region))


@app.get("/v1/customers/<customer_id>/timeline", responses=ERROR_RESPONSES)
def get_timeline(
    customer_id: Id,
    *,
    limit: PageSize = 25,
    cursor: Cursor = None,
    channel: Annotated[Channel | None, Query(description="only contacts on this channel")] = None,
    since: Annotated[datetime | None, Query(description="only contacts at or after this time (ISO 8601)")] = None,
    case_id: Annotated[str | None, Query(max_length=128, description="only contacts linked to this case")] = None,
) -> Page[Contact]:
    where = TimelineFilter(channel=channel, since=since, case_id=case_id)
    return get_queries().timeline(customer_id, where, limit=limit, cursor=cursor)


@app.get("/v1/customers/<customer_id>/cases", responses=ERROR_RESPONSES)
def get_cases(customer_id: Id, limit: PageSize = 25, cursor: Cursor = None) -> Page[CaseView]:
    return get_queries().cases(customer_id, limit=limit, cursor=cursor)


@app.get("/v1/cases/<case_id>", responses=ERROR_RESPONSES)
def get_case(case_id: Id, limit: PageSize = 25, cursor: Cursor = None) -> CaseDetail:
    return get_queries().case(case_id, limit=limit, cursor=cursor)


@app.post("/v1/cases/<case_id>/close", responses=ERROR_RESPONSES)
def close_case(case_id: Id) -> CaseStatusView:
    return get_commands().close_case(case_id)


@app.post("/v1/cases/<case_id>/reopen", responses=ERROR_RESPONSES)
def reopen_case(case_id: Id) -> CaseStatusView:
    return get_commands().reopen_case(case_id)


@app.post("/v1/customers/<customer_id>/identifiers", responses=ERROR_RESPONSES)
def attach_identifier(customer_id: Id, request: Annotated[AttachIdentifierRequest, Body()]) -> AttachView:
    return get_commands().attach_identifier(customer_id, request)


@app.post("/v1/customers/<customer_id>/merge", responses=ERROR_RESPONSES)
def merge_customers(customer_id: Id, request: Annotated[MergeRequest, Body()]) -> MergeView:
    return get_commands().merge(customer_id, request)


@app.post("/v1/merges/<merge_id>/undo", responses=ERROR_RESPONSES)
def undo_merge(merge_id: Id) -> UnmergeView:
    return get_commands().undo_merge(merge_id)


@app.delete("/v1/customers/<customer_id>", responses=ERROR_RESPONSES)
def erase_customer(customer_id: Id) -> ErasureView:
    return get_commands().erase_customer(customer_id)


@app.post(
    "/v1/cases/<case_id>/replies",
    responses={
        **ERROR_RESPONSES,
        202: {
            "description": "The reply, stored on the case and queued (`delivery.status: queued`)",
            "content": {"application/json": {"model": Contact}},
        },
    },
)
def reply(
    case_id: Id,
    request: Annotated[ReplyRequest, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="A retried request with the same key and body answers the same reply and never sends twice",
        ),
    ] = None,
) -> Response[str]:
    if idempotency_key is None:
        contact = get_replies().reply(case_id, request, None)
    else:
        contact_id = get_reply_once()(case_id, request, idempotency_key, app.lambda_context)
        stored = get_reply_store().get_reply(contact_id)
        if stored is None:
            raise CaseNotFound(case_id)  # the reply was erased with its customer
        contact = stored.contact
    body = contact.model_dump_json(exclude_none=True)
    return Response(status_code=202, content_type="application/json", body=body)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


def openapi_json() -> str:
    return without_validation_422(app.get_openapi_json_schema(**document_settings()))


@app.exception_handler(NotFound)
def _not_found(error: NotFound) -> Response[str]:
    return error_response(404, "not_found", error.message)


@app.not_found
def _no_route(_: Exception) -> Response[str]:
    # A path the routes cannot match (e.g. an id with characters ids never have): our JSON, not Powertools'.
    return error_response(404, "not_found", "no route for this path")


@app.exception_handler(CustomerNotFound)
@app.exception_handler(MergeNotFound)
def _identity_not_found(error: CustomerNotFound | MergeNotFound) -> Response[str]:
    what = "merge" if isinstance(error, MergeNotFound) else "customer"
    return error_response(404, "not_found", f"{what} not found")


@app.exception_handler(Gone)
def _gone(error: Gone) -> Response[str]:
    return error_response(410, "erased", error.message)


@app.exception_handler(CustomerMerged)
def _merged(error: CustomerMerged) -> Response[str]:
    # Ids are not personal data: naming the survivor lets the client retry against it.
    return error_response(409, "customer_merged", f"customer was merged into {error.survivor_id}")


@app.exception_handler(MergeConflict)
def _merge_conflict(error: MergeConflict) -> Response[str]:
    # A fixed message: the domain error may name identifiers, which are personal data.
    return error_response(409, "merge_conflict", "these customers cannot be merged (conflicting verified ids)")


@app.exception_handler(MergeAlreadyUndone)
def _already_undone(error: MergeAlreadyUndone) -> Response[str]:
    return error_response(409, "merge_undone", "merge was already undone")


@app.exception_handler(MergeInProgress)
def _in_progress(error: MergeInProgress) -> Response[str]:
    return error_response(409, "merge_in_progress", "merge has not finished: repeat the merge request to finish it")


@app.exception_handler(ReplyRefused)
def _reply_refused(error: ReplyRefused) -> Response[str]:
    logger.info("reply refused", extra={"code": error.code})
    return error_response(422, error.code, error.message)


@app.exception_handler(CaseNotFound)
def _case_not_found(error: CaseNotFound) -> Response[str]:
    return error_response(404, "not_found", "case not found")


@app.exception_handler(CaseMerged)
def _case_merged(error: CaseMerged) -> Response[str]:
    return error_response(409, "case_merged", f"case was merged into {error.into}; reply there")


@app.exception_handler(IdempotencyKeyReused)
def _key_reused(error: IdempotencyKeyReused) -> Response[str]:
    return error_response(422, "idempotency_key_reused", "this Idempotency-Key was used with another request body")


@app.exception_handler(RequestInProgress)
def _key_in_progress(error: RequestInProgress) -> Response[str]:
    return error_response(409, "request_in_progress", "a request with this Idempotency-Key is still running")


@app.exception_handler(InvalidCursor)
@app.exception_handler(InvalidIdentifier)
def _bad_value(error: ValueError) -> Response[str]:
    return error_response(400, "invalid_request", str(error))


@app.exception_handler(RequestValidationError)
def _invalid_request(error: RequestValidationError) -> Response[str]:
    fields = sorted({".".join(str(part) for part in issue["loc"]) for issue in error.errors()})
    return error_response(400, "invalid_request", f"invalid parameters: {', '.join(fields)}")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return refuse_unreadable_body(event) or app.resolve(event, context)


def refuse_unreadable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies are UTF-8 JSON. Checked before `resolve`: Powertools' validator decodes and parses the
    body before any middleware runs, and raises (a 500) on a multipart type without a boundary or on
    bytes that are not UTF-8."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("", "application/json"):
        return _gateway_error(415, "unsupported_media_type", "send application/json")
    if event.get("isBase64Encoded") and event.get("body"):
        try:
            base64.b64decode(event["body"]).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _gateway_error(400, "invalid_request", "body is not UTF-8 JSON")
    return None


def _gateway_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": error_response(status, code, message).body,
        "isBase64Encoded": False,
    }
