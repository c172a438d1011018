"""A shopper's and a staff member's flow through the client openapi-python-client generated from the schema.

Run by scripts/generated_client_check.py with var/venv-client's Python (where the client is installed), against the
server it started. Every call is a generated typed function; the answer must be the documented model for success
(an error model, an undocumented status or an answer the client cannot parse fails the run).

    --phase shopper   register, list items, add, view, remove, check out; leave a second cart open
    --phase staff     token login, list users, add an item, report rows (JSON and CSV), metrics

The staff password comes in CLIENT_CHECK_STAFF_PASSWORD (not on the command line, which the check prints).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from decimal import Decimal
from pathlib import Path

from cart_recovery_api_client import AuthenticatedClient, Client
from cart_recovery_api_client.api.api import (
    api_auth_token_create,
    api_carts_retrieve,
    api_items_add_create,
    api_users_list,
)
from cart_recovery_api_client.api.cart import (
    cart_add_create,
    cart_checkout_create,
    cart_remove_create,
    cart_report_list,
    cart_view_retrieve,
)
from cart_recovery_api_client.api.item import item_all_list
from cart_recovery_api_client.api.report import api_report_csv_retrieve, api_report_metrics_retrieve
from cart_recovery_api_client.api.user import user_all_list, user_register_create
from cart_recovery_api_client.models import (
    Cart,
    CartAddInputRequest,
    CartAddOutput,
    CartCheckoutInputRequest,
    CartCheckoutOutput,
    CartRemoveInputRequest,
    CartRemoveOutput,
    CartViewOutput,
    Item,
    ItemAddOutput,
    ItemInputRequest,
    PaginatedUserList,
    RecoveredBySource,
    RegisterInputRequest,
    RegisterOutput,
    ReportMetrics,
    ReportRow,
    TokenInputRequest,
    TokenOutput,
    User,
)


def expect(answer, model, what: str):
    """The answer of a typed function, which must be the documented success model (lists: of that model)."""
    items = answer if isinstance(answer, list) and model is not list else [answer]
    if answer is None or not all(isinstance(item, model) for item in items):
        raise SystemExit(f"{what}: expected {model.__name__}, got {answer!r}")
    print(f"ok  {what}")
    return answer


def staff_client(args) -> AuthenticatedClient:
    anonymous = Client(base_url=args.base_url, raise_on_unexpected_status=True)
    login = api_auth_token_create.sync(
        client=anonymous,
        body=TokenInputRequest(email=args.staff_email, password=os.environ["CLIENT_CHECK_STAFF_PASSWORD"]),
    )
    token = expect(login, TokenOutput, "staff token login").token
    # Token, not the generated client's default Bearer, which the API refuses.
    return AuthenticatedClient(base_url=args.base_url, token=token, prefix="Token", raise_on_unexpected_status=True)


def shopper_flow(args) -> None:
    staff = staff_client(args)
    added = api_items_add_create.sync(client=staff, body=ItemInputRequest(name="Generated kettle", price="12.50"))
    item_id = expect(added, ItemAddOutput, "staff add an item").id

    anonymous = Client(base_url=args.base_url, raise_on_unexpected_status=True)
    email = f"shopper-{uuid.uuid4().hex[:8]}@example.com"
    registered = user_register_create.sync(client=anonymous, body=RegisterInputRequest(name="Ada", email=email))
    token = expect(registered, RegisterOutput, "shopper register").token
    bearer = AuthenticatedClient(base_url=args.base_url, token=token)  # the generated default prefix
    refused = cart_view_retrieve.sync_detailed(client=bearer)
    if refused.status_code != 401:
        raise SystemExit(f"a Bearer token should be refused (401), got {refused.status_code}")
    print("ok  a Bearer token is refused: 401")
    shopper = AuthenticatedClient(base_url=args.base_url, token=token, prefix="Token", raise_on_unexpected_status=True)

    items = expect(item_all_list.sync(client=anonymous), Item, "list items")
    price = Decimal(next(item.price for item in items if item.id == item_id))
    add = expect(
        cart_add_create.sync(client=shopper, body=CartAddInputRequest(item_id=item_id, quantity=3)),
        CartAddOutput,
        "add to cart",
    )
    view = expect(cart_view_retrieve.sync(client=shopper), CartViewOutput, "view cart")
    if Decimal(view.total) != price * 3 or [line.quantity for line in view.items] != [3]:
        raise SystemExit(f"the cart should hold 3 at {price}: {view!r}")
    removed = expect(
        cart_remove_create.sync(
            client=shopper, body=CartRemoveInputRequest(cart_id=add.cart_id, item_id=item_id, quantity=1)
        ),
        CartRemoveOutput,
        "remove from cart",
    )
    if removed.quantity != 2:
        raise SystemExit(f"2 should be left: {removed!r}")
    resource = expect(api_carts_retrieve.sync(client=shopper, id=add.cart_id), Cart, "read the cart resource")
    if resource.item_count != 2:
        raise SystemExit(f"the cart resource should count 2: {resource!r}")
    checked_out = expect(
        cart_checkout_create.sync(client=shopper, body=CartCheckoutInputRequest(cart_id=add.cart_id)),
        CartCheckoutOutput,
        "check out",
    )
    if Decimal(checked_out.total) != price * 2:
        raise SystemExit(f"checked out {checked_out.total}, expected {price * 2}")
    # A second cart, left open: the check script's sweep abandons it, for the staff's report.
    expect(cart_add_create.sync(client=shopper, body=CartAddInputRequest(item_id=item_id)), CartAddOutput, "a new cart")
    Path(args.state).write_text(json.dumps({"email": email, "item_id": item_id}))


def staff_flow(args) -> None:
    state = json.loads(Path(args.state).read_text())
    staff = staff_client(args)
    users = expect(api_users_list.sync(client=staff, email_iexact=state["email"]), PaginatedUserList, "list users")
    if [user.email for user in users.results] != [state["email"]]:
        raise SystemExit(f"the shopper should be listed: {users!r}")
    expect(user_all_list.sync(client=staff), User, "the seed's user list")
    expect(
        api_items_add_create.sync(client=staff, body=ItemInputRequest(name="Generated teapot", price=0.01)),
        ItemAddOutput,
        "add an item at the lowest price, as a JSON number",
    )
    rows = expect(cart_report_list.sync(client=staff), ReportRow, "report rows (JSON)")
    if [row.email for row in rows] != [state["email"]]:
        raise SystemExit(f"the abandoned cart should be the report's one row: {rows!r}")
    csv_text = api_report_csv_retrieve.sync(client=staff)
    if not isinstance(csv_text, str) or not csv_text.startswith("cart_id,") or state["email"] not in csv_text:
        raise SystemExit(f"report rows (CSV): expected CSV text, got {csv_text!r}")
    print("ok  report rows (CSV)")
    metrics = expect(api_report_metrics_retrieve.sync(client=staff), ReportMetrics, "report metrics")
    expect(metrics.recovered_via_email_link, RecoveredBySource, "metrics: recovered via email link")
    if metrics.carts_abandoned != 1:
        raise SystemExit(f"one cart was abandoned today: {metrics!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--staff-email", required=True)
    parser.add_argument("--phase", choices=["shopper", "staff"], required=True)
    parser.add_argument("--state", required=True, help="a file the shopper phase writes and the staff phase reads")
    args = parser.parse_args()
    (shopper_flow if args.phase == "shopper" else staff_flow)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
