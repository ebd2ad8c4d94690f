"""/v1: the read API for CRMs and agent tools. Routes only route; errors map once below."""

from __future__ import annotations

import functools
import hmac
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.models import CaseDetail, CaseView, CustomerView, Page
from shared.api.queries import NotFound, Queries, parse_identifier
from shared.config import get_secret, get_settings
from shared.http import error_response
from shared.identifiers import InvalidIdentifier
from shared.observability import logger, metrics, tracer
from shared.pagination import InvalidCursor
from shared.schema import Contact, Provider
from shared.store.dynamo import get_store

PageSize = Annotated[int, Query(ge=1, le=100, description="items per page")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]

app = APIGatewayHttpResolver(enable_validation=True)


@functools.cache
def get_queries() -> Queries:
    return Queries(get_store())


def require_api_key(resolver: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[str]:
    """Locally /v1 takes an x-api-key; deployed, API Gateway has already checked SigV4 (IAM)."""
    if get_settings().api_auth == "api_key":
        presented = resolver.current_event.headers.get("x-api-key", "")
        if not hmac.compare_digest(presented.encode(), get_secret("THREADLINE_API_KEY").encode()):
            return error_response(401, "unauthorized", "missing or wrong x-api-key")
    return next_middleware(resolver)


app.use(middlewares=[require_api_key])


@app.get("/v1/contacts/<contact_id>")
def get_contact(contact_id: str) -> Contact:
    return get_queries().contact(contact_id)


@app.get("/v1/contacts")
def find_contacts(
    provider: Annotated[Provider, Query()],
    provider_message_id: Annotated[str, Query(min_length=1, max_length=256)],
) -> Page[Contact]:
    return get_queries().contacts_by_provider_id(provider.value, provider_message_id)


@app.get("/v1/customers/<customer_id>")
def get_customer(customer_id: str) -> CustomerView:
    return get_queries().customer(customer_id)


@app.get("/v1/customers")
def find_customers(
    identifier: Annotated[str, Query(min_length=3, max_length=400, description="kind:value")],
) -> Page[CustomerView]:
    return get_queries().customers_by_identifier(parse_identifier(identifier, get_settings().default_region))


@app.get("/v1/customers/<customer_id>/timeline")
def get_timeline(customer_id: str, limit: PageSize = 25, cursor: Cursor = None) -> Page[Contact]:
    return get_queries().timeline(customer_id, limit=limit, cursor=cursor)


@app.get("/v1/customers/<customer_id>/cases")
def get_cases(customer_id: str, limit: PageSize = 25, cursor: Cursor = None) -> Page[CaseView]:
    return get_queries().cases(customer_id, limit=limit, cursor=cursor)


@app.get("/v1/cases/<case_id>")
def get_case(case_id: str, limit: PageSize = 25, cursor: Cursor = None) -> CaseDetail:
    return get_queries().case(case_id, limit=limit, cursor=cursor)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_json())


def openapi_json() -> str:
    return app.get_openapi_json_schema(title="Threadline API", version="1", openapi_version="3.1.0")


@app.exception_handler(NotFound)
def _not_found(error: NotFound) -> Response[str]:
    return error_response(404, "not_found", error.message)


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
    return app.resolve(event, context)
