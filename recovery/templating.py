"""Reminder-email templates that shop staff edit in the admin, compiled so that rendering them is safe.

Staff write the subject, preheader, HTML body and text body in Django's template language, restricted to:

- tags: ``if`` / ``elif`` / ``else`` / ``endif``, ``for`` / ``empty`` / ``endfor`` (only ``{% for line in lines %}``,
  not nested), ``comment`` / ``endcomment`` (and ``{# … #}``);
- filters: ``default``, ``upper``, ``lower``, ``title``, ``capfirst``, ``truncatechars``, ``truncatewords``,
  ``yesno``, ``length``, ``pluralize``, ``linebreaksbr`` (for the shop's address in HTML). Money arrives as
  formatted text ("EUR 24.90"), so ``floatformat`` and ``date`` would only print blanks and are left out;
- the placeholders in ``PLACEHOLDERS`` (plus ``forloop.counter`` / ``first`` / ``last`` inside the loop).

Everything else (``{% load %}``, ``{% include %}``, ``{% extends %}``, ``{% url %}``, ``{% autoescape off %}``,
``|safe``, ``{{ settings.SECRET_KEY }}``, ``{{ shop.name.__class__ }}`` …) is refused when the template is compiled,
with a ``TemplateProblem`` naming it. Templates are compiled from strings by a private ``Engine`` that has no
loaders, no tag libraries and, as its only builtin, the ``register`` library of this module; the compiled node tree
is then walked and any node, variable or attribute not on the lists is refused. ``render`` passes plain data only
(str, int, bool, None, lists and dicts of them; Decimal becomes str), so no method of a model can ever be reached.
"""

import dataclasses
import functools
import re
from decimal import Decimal
from typing import Any, ClassVar, Literal

from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.template.base import FilterExpression, Node, Template, TextNode, Variable, VariableNode
from django.template.defaulttags import CommentNode, ForNode, IfNode, TemplateLiteral
from django.template.smartif import TokenBase
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString

Kind = Literal["subject", "preheader", "html", "text"]

ALLOWED_TAGS = ("if", "elif", "else", "endif", "for", "empty", "endfor", "comment", "endcomment")
ALLOWED_FILTERS = (
    "default", "upper", "lower", "title", "capfirst", "truncatechars", "truncatewords", "yesno", "length", "pluralize",
    "linebreaksbr",
)  # fmt: skip
MAX_BODY_BYTES = 100_000
MAX_LINE_CHARS = 200  # subject and preheader
MAX_NESTING = 20  # tags inside tags; with the condition depth, keeps rendering far from the recursion limit
MAX_CONDITION_DEPTH = 30

# The help text the admin shows. Keys are what a template may write; "line.*" is the loop variable of
# {% for line in lines %} (any name may be chosen for it).
PLACEHOLDERS: dict[str, str] = {
    "shopper_name": "The shopper's name (may be empty: try {{ shopper_name|default:'there' }}).",
    "lines": "The cart lines, for {% for line in lines %} … {% endfor %} or {{ lines|length }}.",
    "line.name": "Inside the loop: the item's name.",
    "line.quantity": "Inside the loop: how many.",
    "line.unit_price": "Inside the loop: the price of one, with currency.",
    "line.line_total": "Inside the loop: quantity × price, with currency.",
    "forloop.counter": "Inside the loop: 1, 2, 3 … (also forloop.first, forloop.last).",
    "cart_table": "A ready-made table of the cart lines (HTML table or aligned text).",
    "total": "The cart total, with currency.",
    "item_count": "How many items are in the cart.",
    "recovery_url": "The link that brings the shopper back to the cart.",
    "recovery_button": "A ready-made 'Return to your cart' button (the link as text in text bodies).",
    "unsubscribe_url": "The link that stops reminders.",
    "link_days": "For how many days the recovery link works.",
    "shop.name": "The shop's name.",
    "shop.storefront_url": "The shop's website.",
    "shop.logo_url": "The address of the shop's logo image.",
    "shop.address": "The shop's postal address.",
    "shop.support_email": "The shop's support email address.",
    "coupon": "The coupon, if this reminder has one: use {% if coupon %} … {% endif %}.",
    "coupon.code": "The coupon code.",
    "coupon.offer": "What the coupon gives, e.g. '10 % off'.",
    "coupon.expires_on": "The last day the coupon works.",
}
LINE_ATTRIBUTES = ("name", "quantity", "unit_price", "line_total")
FORLOOP_ATTRIBUTES = ("counter", "first", "last")
_TOP_LEVEL = frozenset(p for p in PLACEHOLDERS if not p.startswith(("line.", "forloop.")))
_ROOTS = frozenset(p.split(".")[0] for p in _TOP_LEVEL)
# Pre-built multi-line blocks make no sense on one line.
_NOT_ON_ONE_LINE = frozenset({"cart_table", "recovery_button"})
_CONTEXT_KEYS = (
    "shopper_name", "lines", "total", "item_count", "recovery_url", "unsubscribe_url", "link_days", "shop", "coupon",
)  # fmt: skip
REQUIRED_PARTS = ("recovery_url", "unsubscribe_url", "shop.address")

# Control characters other than tab and newline (C0, DEL, C1).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SINGLE_LINE_BREAKERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

register = Library()
for _name in ALLOWED_TAGS:
    if _name in defaulttags.register.tags:  # elif, else, empty, end… are parsed by their opening tag
        register.tag(_name, defaulttags.register.tags[_name])
for _name in ALLOWED_FILTERS:
    register.filter(_name, defaultfilters.register.filters[_name])


class TemplateProblem(Exception):
    """A staff template that cannot be used; ``message`` is meant for the person who wrote it."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field
        self.message = message


class _StaffEngine(Engine):
    # Engine always prepends Django's defaulttags, defaultfilters and loader_tags (include, extends, block) to
    # the builtins it is given; staff templates get this module's library only.
    default_builtins: ClassVar[list[str]] = []


@functools.cache
def _engine() -> Engine:
    return _StaffEngine(
        dirs=[], app_dirs=False, loaders=[], libraries={}, builtins=[__name__], context_processors=[],
        autoescape=True, debug=False, string_if_invalid="",
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class StaffTemplate:
    """A compiled staff template; render it as often as needed."""

    kind: Kind
    field: str
    references: frozenset[str]
    _template: Template = dataclasses.field(repr=False, compare=False)

    def render(self, context: dict[str, Any]) -> str:
        """Render with the placeholders from ``context`` (keys of ``sample_context()``); ``cart_table`` and
        ``recovery_button`` are built here for the kind. HTML is autoescaped; the other kinds are not, control
        characters are stripped, and subject and preheader come out as one line whatever the values hold."""
        data = _render_data(context, kind=self.kind)
        out = self._template.render(Context(data, autoescape=self.kind == "html"))
        if self.kind in ("subject", "preheader"):
            return " ".join(_SINGLE_LINE_BREAKERS.sub(" ", out).split())
        return _CONTROL.sub("", out.replace("\r\n", "\n").replace("\r", "\n"))


def compile_template(source: str, *, kind: Kind, field: str) -> StaffTemplate:
    """Compile a staff template, raising ``TemplateProblem`` (naming ``field``) for anything not allowed."""
    if kind in ("subject", "preheader"):
        if len(source) > MAX_LINE_CHARS:
            raise TemplateProblem(f"Too long: {len(source)} characters, at most {MAX_LINE_CHARS}.", field=field)
        if _SINGLE_LINE_BREAKERS.search(source):
            raise TemplateProblem("Must be one line: remove line breaks, tabs and control characters.", field=field)
    else:
        size = len(source.encode("utf-8", "surrogatepass"))
        if size > MAX_BODY_BYTES:
            raise TemplateProblem(f"Too long: {size} bytes, at most {MAX_BODY_BYTES} (100 KB).", field=field)
        source = source.replace("\r\n", "\n")  # admin textareas send CRLF
    try:
        template = Template(source, engine=_engine())
        found: set[str] = set()
        _walk(template.nodelist, kind=kind, loop_var=None, found=found, depth=0)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(_explain(exc), field=field) from None
    except _Refused as exc:
        raise TemplateProblem(str(exc), field=field) from None
    except RecursionError:
        raise TemplateProblem("The template is nested too deeply.", field=field) from None
    return StaffTemplate(kind=kind, field=field, references=frozenset(found), _template=template)


def references(template: StaffTemplate | str) -> frozenset[str]:
    """The placeholders a template mentions, as named in ``PLACEHOLDERS`` (loop attributes as ``line.…``)."""
    if isinstance(template, str):
        template = compile_template(template, kind="html", field="")
    return template.references


class _Refused(Exception):
    pass


def _line(node_or_exc) -> str:
    token = getattr(node_or_exc, "token", None)
    return f"Line {token.lineno}: " if token is not None else ""


def _explain(exc: TemplateSyntaxError) -> str:
    """Django's parser message, rephrased for staff."""
    text, where = str(exc), _line(exc)
    token = getattr(exc, "token", None)
    words = token.contents.split() if token is not None and token.token_type.name == "BLOCK" else []
    if words and words[0] not in ALLOWED_TAGS:
        return f"{where}Tag '{words[0]}' is not allowed. Allowed tags: {', '.join(ALLOWED_TAGS)}."
    if m := re.match(r"Invalid filter: '([^']*)'", text):
        return f"{where}Filter '{m[1]}' is not allowed. Allowed filters: {', '.join(ALLOWED_FILTERS)}."
    if m := re.match(r"Unclosed tag on line \d+: '([^']*)'. Looking for one of: (.*)\.$", text):
        return f"{where}unclosed tag '{m[1]}' (close it with {m[2].split(', ')[-1]})."
    if m := re.match(r"Variables and attributes may not begin with underscores: '([^']*)'", text):
        return f"{where}{_unknown(m[1], loop_var=None)}"
    if m := re.match(r"Invalid block tag on line \d+: '([^']*)', expected (.*)\. Did you", text):
        return f"{where}'{{% {m[1]} %}}' found where {m[2]} was expected."
    return where + re.sub(r" on line \d+", "", text)


def _unknown(name: str, *, loop_var: str | None) -> str:
    allowed = sorted(_TOP_LEVEL)
    if loop_var:
        allowed += [f"{loop_var}.{a}" for a in LINE_ATTRIBUTES] + [f"forloop.{a}" for a in FORLOOP_ATTRIBUTES]
    hint = ""
    if not loop_var and name.partition(".")[2] in LINE_ATTRIBUTES + FORLOOP_ATTRIBUTES:
        hint = " Line details work only inside {% for line in lines %} … {% endfor %}."
    return f"Unknown placeholder '{name}'. Use one of: {', '.join(allowed)}.{hint}"


def _walk(nodes, *, kind: Kind, loop_var: str | None, found: set[str], depth: int) -> None:
    for node in nodes:
        if depth > MAX_NESTING:
            raise _Refused(f"{_line(node)}tags are nested more than {MAX_NESTING} deep.")
        node_type = type(node)
        if node_type in (TextNode, CommentNode):
            continue
        if node_type is VariableNode:
            _check_expression(node.filter_expression, node=node, kind=kind, loop_var=loop_var, found=found)
        elif node_type is IfNode:
            for condition, nodelist in node.conditions_nodelists:
                if condition is not None:
                    _check_condition(condition, node=node, kind=kind, loop_var=loop_var, found=found, depth=0)
                _walk(nodelist, kind=kind, loop_var=loop_var, found=found, depth=depth + 1)
        elif node_type is ForNode:
            _check_loop(node, kind=kind, loop_var=loop_var, found=found)
            _walk(node.nodelist_loop, kind=kind, loop_var=node.loopvars[0], found=found, depth=depth + 1)
            _walk(node.nodelist_empty, kind=kind, loop_var=loop_var, found=found, depth=depth + 1)
        else:  # a node this walker does not know cannot be vouched for
            raise _Refused(f"{_line(node)}'{getattr(node, 'token', node)}' is not allowed.")


def _check_loop(node: ForNode, *, kind: Kind, loop_var: str | None, found: set[str]) -> None:
    where = _line(node)
    if loop_var is not None:
        raise _Refused(f"{where}a loop inside a loop is not allowed.")
    sequence = node.sequence.var
    if not isinstance(sequence, Variable) or sequence.var != "lines" or node.sequence.filters:
        raise _Refused(f"{where}only '{{% for line in lines %}}' can loop (found 'for … in {node.sequence.token}').")
    (name, *more) = node.loopvars
    if more or name in _ROOTS or name == "forloop" or not name.isidentifier():
        raise _Refused(f"{where}write the loop as '{{% for line in lines %}}' (one new name, such as line).")
    found.add("lines")


def _check_condition(condition, *, node: Node, kind: Kind, loop_var, found, depth: int) -> None:
    if depth > MAX_CONDITION_DEPTH:
        raise _Refused(f"{_line(node)}the condition is too complicated.")
    if type(condition) is TemplateLiteral:
        _check_expression(condition.value, node=node, kind=kind, loop_var=loop_var, found=found)
    elif isinstance(condition, TokenBase):
        for part in (condition.first, condition.second):
            if part is not None:
                _check_condition(part, node=node, kind=kind, loop_var=loop_var, found=found, depth=depth + 1)
    else:
        raise _Refused(f"{_line(node)}this condition is not allowed.")


def _check_expression(expression: FilterExpression, *, node: Node, kind: Kind, loop_var, found) -> None:
    variables = [expression.var] + [arg for _, args in expression.filters for lookup, arg in args if lookup]
    for variable in variables:
        if isinstance(variable, Variable) and variable.lookups is not None:
            name = ".".join(variable.lookups)
            canonical = _canonical(name, loop_var=loop_var)
            if canonical is None:
                raise _Refused(f"{_line(node)}{_unknown(name, loop_var=loop_var)}")
            if kind in ("subject", "preheader") and canonical in _NOT_ON_ONE_LINE:
                raise _Refused(f"{_line(node)}'{name}' cannot be used in the {kind}; it is for email bodies.")
            found.add(canonical)


def _canonical(name: str, *, loop_var: str | None) -> str | None:
    if name in _TOP_LEVEL:
        return name
    root, _, attribute = name.partition(".")
    if loop_var and root == loop_var and attribute in LINE_ATTRIBUTES:
        return f"line.{attribute}"
    if loop_var and root == "forloop" and attribute in FORLOOP_ATTRIBUTES:
        return name
    return None


def _plain(value: Any) -> Any:
    """A copy made of str, int, bool, None, lists and dicts only, so no template can reach a method."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return "".join((value,))  # a plain str: a caller's SafeString must not skip escaping
    if isinstance(value, Decimal | float):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(f"Only plain data may reach a staff template, not {type(value).__name__}.")


def _render_data(context: dict[str, Any], *, kind: Kind) -> dict[str, Any]:
    data = {key: _plain(context.get(key)) for key in _CONTEXT_KEYS}
    data["coupon"] = data["coupon"] or None  # an empty coupon is no coupon, so {% if coupon %} reads right
    lines, url = data["lines"] or [], data["recovery_url"] or ""
    data["lines"] = lines
    if kind == "html":
        data["cart_table"], data["recovery_button"] = lines_table_html(lines), recovery_button_html(url)
    else:
        data["cart_table"], data["recovery_button"] = lines_table_text(lines), f"Return to your cart: {url}"
    return data


def lines_table_html(lines: list[dict[str, Any]]) -> SafeString:
    """The cart lines as an HTML table; every value is escaped here."""
    cell = '<td style="padding:6px;text-align:right;">{}</td>'
    rows = format_html_join(
        "\n",
        '<tr style="border-bottom:1px solid #eee;"><td style="padding:6px;">{}</td>' + cell * 3 + "</tr>",
        ((line.get("name", ""), line.get("quantity", ""), line.get("unit_price", ""), line.get("line_total", ""))
         for line in lines),
    )  # fmt: skip
    head = "".join(f'<th style="padding:6px;text-align:{a};">{t}</th>' for t, a in _COLUMNS)
    return format_html(
        '<table role="presentation" cellpadding="0" cellspacing="0" style="border-collapse:collapse;width:100%;">'
        "<thead><tr>{}</tr></thead><tbody>\n{}\n</tbody></table>",
        SafeString(head),
        rows,
    )


_COLUMNS = (("Item", "left"), ("Qty", "right"), ("Price", "right"), ("Total", "right"))


def lines_table_text(lines: list[dict[str, Any]]) -> str:
    """The cart lines as aligned plain-text columns (each cell kept on one line)."""

    def one_line(value: Any) -> str:
        return " ".join(_SINGLE_LINE_BREAKERS.sub(" ", str(value)).split())

    rows = [[title for title, _ in _COLUMNS]] + [
        [one_line(line.get(key, "")) for key in ("name", "quantity", "unit_price", "line_total")] for line in lines
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def recovery_button_html(url: str) -> SafeString:
    """A 'Return to your cart' button linking ``url`` (escaped)."""
    return format_html(
        '<a href="{}" style="display:inline-block;background:#417690;color:#fff;padding:10px 18px;'
        'text-decoration:none;border-radius:4px;">Return to your cart</a>',
        url,
    )


def missing_parts(rendered: str, *, kind: Kind, context: dict[str, Any]) -> list[str]:
    """Which of ``REQUIRED_PARTS`` a rendered body does not show (a part with no value is never missing).
    The rendered text is checked, not the template, so a link hidden by {% if %} or cut by a filter counts as
    missing."""
    missing = []
    for part in REQUIRED_PARTS:
        value = _CONTROL.sub("", _value(context, part).replace("\r\n", "\n"))  # as render() would show it
        if value and (str(conditional_escape(value)) if kind == "html" else value) not in rendered:
            missing.append(part)
    return missing


def _value(context: dict[str, Any], path: str) -> str:
    value: Any = context
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def required_footer_html(context: dict[str, Any], *, parts: tuple[str, ...] = REQUIRED_PARTS) -> SafeString:
    """An HTML footer with the recovery link, the unsubscribe link and the postal address (those in ``parts``)."""
    pieces = []
    if "recovery_url" in parts and (url := _value(context, "recovery_url")):
        pieces.append(format_html('<p><a href="{}">Return to your cart</a></p>', url))
    if "unsubscribe_url" in parts and (url := _value(context, "unsubscribe_url")):
        pieces.append(format_html('<p><a href="{}">No more reminders</a></p>', url))
    if "shop.address" in parts and (address := _value(context, "shop.address")):
        lines = format_html_join(SafeString("<br>"), "{}", ((line,) for line in address.splitlines()))
        pieces.append(format_html("<p>{}</p>", lines))
    return format_html('<div style="font-size:12px;color:#666;margin-top:24px;">{}</div>', SafeString("".join(pieces)))


def required_footer_text(context: dict[str, Any], *, parts: tuple[str, ...] = REQUIRED_PARTS) -> str:
    """A plain-text footer with the recovery link, the unsubscribe link and the postal address (those in ``parts``)."""
    pieces = []
    if "recovery_url" in parts and (url := _value(context, "recovery_url")):
        pieces.append(f"Return to your cart: {url}")
    if "unsubscribe_url" in parts and (url := _value(context, "unsubscribe_url")):
        pieces.append(f"No more reminders: {url}")
    if "shop.address" in parts and (address := _value(context, "shop.address")):
        pieces.append(_CONTROL.sub("", address))
    return "\n\n-- \n" + "\n".join(pieces) + "\n"


def ensure_required_parts(rendered: str, *, kind: Literal["html", "text"], context: dict[str, Any]) -> str:
    """``rendered`` with a footer holding only the required parts it does not show (before ``</body>`` in HTML)."""
    missing = tuple(missing_parts(rendered, kind=kind, context=context))
    if not missing:
        return rendered
    if kind == "text":
        return rendered.rstrip("\n") + required_footer_text(context, parts=missing)
    footer = required_footer_html(context, parts=missing)
    end = rendered.lower().rfind("</body>")
    return rendered + footer if end < 0 else rendered[:end] + footer + rendered[end:]


def sample_context() -> dict[str, Any]:
    """A realistic context for admin previews when there is no real cart."""
    return {
        "shopper_name": "Alex Martin",
        "lines": [
            {"name": "Merino wool scarf", "quantity": 1, "unit_price": "EUR 39.00", "line_total": "EUR 39.00"},
            {"name": "Ceramic mug, blue", "quantity": 2, "unit_price": "EUR 12.50", "line_total": "EUR 25.00"},
        ],
        "total": "EUR 64.00",
        "item_count": 3,
        "recovery_url": "https://shop.example.com/recover/sample-token/",
        "unsubscribe_url": "https://shop.example.com/unsubscribe/sample-token/",
        "link_days": 7,
        "shop": {
            "name": "Example Shop",
            "storefront_url": "https://shop.example.com/",
            "logo_url": "https://shop.example.com/static/logo.png",
            "address": "Example Shop Ltd\n12 Market Street\n75001 Paris, France",
            "support_email": "help@shop.example.com",
        },
        "coupon": {"code": "COMEBACK10", "offer": "10 % off", "expires_on": "31 December 2025"},
    }
