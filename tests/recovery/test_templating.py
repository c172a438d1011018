"""Staff-edited reminder templates: what is refused at compile time, and what rendering guarantees."""

from decimal import Decimal

import pytest
from django.utils.html import escape
from django.utils.safestring import mark_safe

from recovery.templating import (
    MAX_BODY_BYTES,
    MAX_LINE_CHARS,
    PLACEHOLDERS,
    TemplateProblem,
    compile_template,
    ensure_required_parts,
    lines_table_text,
    references,
    sample_context,
)


def _problem(source: str, *, kind: str = "html", field: str = "body_html") -> TemplateProblem:
    with pytest.raises(TemplateProblem) as caught:
        compile_template(source, kind=kind, field=field)
    return caught.value


def _context(**changes) -> dict:
    context = sample_context()
    context.update(changes)
    return context


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("{% load static %}", "Tag 'load' is not allowed"),
        ("{% include 'admin/base.html' %}", "Tag 'include' is not allowed"),
        ("{% extends 'admin/base.html' %}", "Tag 'extends' is not allowed"),
        ("{% debug %}", "Tag 'debug' is not allowed"),
        ("{% url 'admin:index' %}", "Tag 'url' is not allowed"),
        ("{% csrf_token %}", "Tag 'csrf_token' is not allowed"),
        ("{% now 'Y' %}", "Tag 'now' is not allowed"),
        ("{% templatetag openblock %}", "Tag 'templatetag' is not allowed"),
        ("{% autoescape off %}{{ shopper_name }}{% endautoescape %}", "Tag 'autoescape' is not allowed"),
        ("{% with secret=settings %}{% endwith %}", "Tag 'with' is not allowed"),
        ("{% if total %}{% load static %}{% endif %}", "Tag 'load' is not allowed"),
        ("{{ shopper_name|safe }}", "Filter 'safe' is not allowed"),
        ("{{ lines|safeseq }}", "Filter 'safeseq' is not allowed"),
        ("{{ shopper_name|force_escape }}", "Filter 'force_escape' is not allowed"),
        ("{% if shopper_name|safe %}{% endif %}", "Filter 'safe' is not allowed"),
        ("{{ settings.SECRET_KEY }}", "Unknown placeholder 'settings.SECRET_KEY'"),
        ("{{ shop.name.__class__ }}", "Unknown placeholder 'shop.name.__class__'"),
        ("{{ lines.0.delete }}", "Unknown placeholder 'lines.0.delete'"),
        ("{{ request }}", "Unknown placeholder 'request'"),
        ("{{ shop }}", "Unknown placeholder 'shop'"),
        ("{% if request.user.is_staff %}hi{% endif %}", "Unknown placeholder 'request.user.is_staff'"),
        ("{% if total and not settings.DEBUG %}hi{% endif %}", "Unknown placeholder 'settings.DEBUG'"),
        ("{{ shopper_name|default:request.user }}", "Unknown placeholder 'request.user'"),
        ("{% for key in settings %}{% endfor %}", "only '{% for line in lines %}' can loop"),
        ("{% for line in lines %}{{ forloop.parentloop }}{% endfor %}", "Unknown placeholder 'forloop.parentloop'"),
        ("{% for line in lines %}{% for again in lines %}{% endfor %}{% endfor %}", "a loop inside a loop"),
        ("{% for shop in lines %}{% endfor %}", "write the loop as"),
    ],
)
def test_a_construct_outside_the_allow_list_is_refused_by_name(source, named):
    # given a body using something staff templates may not use; when it is compiled
    problem = _problem(source)
    # then the problem names it and the field it came from
    assert named in problem.message
    assert problem.field == "body_html"


def test_an_unknown_placeholder_lists_the_ones_that_exist():
    problem = _problem("Hi {{ name }}")
    assert "Use one of:" in problem.message
    assert "shopper_name" in problem.message


def test_an_unclosed_tag_names_the_tag_and_its_line():
    problem = _problem("Hello,\n\n{% if coupon %}Use {{ coupon.code }}.\n")
    assert problem.message.startswith("Line 3: unclosed tag 'if'")


def test_a_line_placeholder_is_unknown_outside_the_loop():
    # given the loop variable used before the loop, after it, and in its {% empty %} branch
    for source in (
        "{{ line.name }}{% for line in lines %}{% endfor %}",
        "{% for line in lines %}{{ line.name }}{% endfor %}{{ line.name }}",
        "{% for line in lines %}{% empty %}{{ line.name }}{% endfor %}",
    ):
        # then each is an unknown placeholder with a hint about the loop
        problem = _problem(source)
        assert "Unknown placeholder 'line.name'" in problem.message
        assert "{% for line in lines %}" in problem.message


def test_the_loop_variable_may_have_any_new_name():
    template = compile_template(
        "{% for item in lines %}{{ forloop.counter }}. {{ item.name }}\n{% endfor %}", kind="text", field="body_text"
    )
    lines = sample_context()["lines"]
    expected = "".join(f"{n}. {line['name']}\n" for n, line in enumerate(lines, start=1))
    assert template.render(sample_context()) == expected


@pytest.mark.parametrize("placeholder", sorted(PLACEHOLDERS))
def test_every_documented_placeholder_compiles_and_renders_in_a_body(placeholder):
    # given each name the admin help text offers, used where it is documented to work
    if placeholder.startswith(("line.", "forloop.")):
        source = f"{{% for line in lines %}}{{{{ {placeholder} }}}}{{% endfor %}}"
    else:
        source = f"{{% if {placeholder} %}}{{{{ {placeholder} }}}}{{% endif %}}"
    # when compiled and rendered with the sample context, then it is referenced and produces text
    template = compile_template(source, kind="html", field="body_html")
    assert placeholder in template.references
    assert template.render(sample_context()) != ""


def test_an_html_body_escapes_the_shopper_name_and_line_names():
    # given a shopper and an item whose names hold markup
    markup = "<img src=x onerror=alert(1)>"
    lines = [{"name": markup, "quantity": 1, "unit_price": "1.00 EUR", "line_total": "1.00 EUR"}]
    context = _context(shopper_name="<script>alert(1)</script>", lines=lines)
    template = compile_template(
        "<p>Hi {{ shopper_name|title }}</p>{% for line in lines %}{{ line.name }}{% endfor %}{{ cart_table }}",
        kind="html",
        field="body_html",
    )
    # when rendered
    html = template.render(context)
    # then no markup from the data survives, in the loop or in the ready-made table
    assert "<script>" not in html
    assert "<img" not in html
    assert html.count(escape(lines[0]["name"])) == 2
    assert "<table" in html  # the table itself is markup the module built


def test_a_value_marked_safe_by_the_caller_is_still_escaped():
    template = compile_template("{{ shopper_name }}", kind="html", field="body_html")
    assert template.render(_context(shopper_name=mark_safe("<b>Al</b>"))) == escape("<b>Al</b>")


def test_a_text_body_is_not_html_escaped_and_loses_control_characters():
    template = compile_template("Hi {{ shopper_name }}\n{{ cart_table }}", kind="text", field="body_text")
    text = template.render(_context(shopper_name="Tom & <Jerry>\x00\x1b"))
    assert text.startswith("Hi Tom & <Jerry>\n")
    assert "&amp;" not in text
    assert sample_context()["lines"][0]["name"] in text


def test_the_text_cart_table_lines_up_its_columns():
    lines = [
        {"name": "Scarf", "quantity": 1, "unit_price": "9.00 EUR", "line_total": "9.00 EUR"},
        {"name": "A much longer\nitem name", "quantity": 12, "unit_price": "120.00 EUR", "line_total": "1440.00 EUR"},
    ]
    rows = lines_table_text(lines).split("\n")
    assert len(rows) == 3  # header + one row per line: a newline in a name does not break a row
    assert len({len(row) for row in rows}) == 1  # totals are right-aligned to one column


@pytest.mark.parametrize("name", ["Alex\nBcc: victim@example.com", "Alex\r\nBcc: x", "Alex\u2028Bcc: x", "Alex\tB"])
def test_the_subject_stays_one_line_whatever_the_shopper_name_holds(name):
    template = compile_template("{{ shopper_name }}, your cart misses you", kind="subject", field="subject")
    subject = template.render(_context(shopper_name=name))
    assert subject.isprintable()
    assert subject.startswith("Alex ")


@pytest.mark.parametrize("kind", ["subject", "preheader"])
def test_a_subject_or_preheader_source_must_be_one_short_line(kind):
    assert "one line" in _problem("Hello\nBcc: x", kind=kind, field=kind).message
    assert "one line" in _problem("Hello\tthere", kind=kind, field=kind).message
    assert "Too long" in _problem("x" * (MAX_LINE_CHARS + 1), kind=kind, field=kind).message
    compile_template("x" * MAX_LINE_CHARS, kind=kind, field=kind)


def test_ready_made_blocks_are_refused_in_the_subject():
    assert "cannot be used in the subject" in _problem("{{ cart_table }}", kind="subject").message


@pytest.mark.parametrize("kind", ["html", "text"])
def test_a_body_may_be_100_kb_and_not_one_byte_more(kind):
    compile_template("x" * MAX_BODY_BYTES, kind=kind, field="body")
    assert "Too long" in _problem("x" * (MAX_BODY_BYTES + 1), kind=kind).message
    # bytes, not characters: "é" is two bytes in UTF-8
    assert "Too long" in _problem("é" * (MAX_BODY_BYTES // 2 + 1), kind=kind).message


def test_deeply_nested_tags_are_refused():
    assert "nested" in _problem("{% if total %}" * 25 + "{% endif %}" * 25).message
    assert _problem("{% if " + "not " * 2000 + "total %}{% endif %}").message


def test_an_absent_or_empty_coupon_makes_if_coupon_false():
    source = "{% if coupon %}Code {{ coupon.code }}{% else %}No code{% endif %}"
    template = compile_template(source, kind="text", field="t")
    assert template.render(_context(coupon=None)) == "No code"
    assert template.render(_context(coupon={})) == "No code"
    assert template.render(sample_context()) == f"Code {sample_context()['coupon']['code']}"


def test_only_plain_data_reaches_a_template():
    template = compile_template("{{ total }}", kind="text", field="t")
    assert template.render(_context(total=Decimal("12.50"))) == "12.50"
    with pytest.raises(TypeError, match="plain data"):
        template.render(_context(shop=object()))


def test_compiling_once_and_rendering_many_times_gives_the_same_result():
    source = "{% for line in lines %}{{ forloop.counter }}{{ line.name }}{% if forloop.last %}.{% endif %}{% endfor %}"
    template = compile_template(source, kind="html", field="body_html")
    first = template.render(sample_context())
    assert [template.render(sample_context()) for _ in range(5)] == [first] * 5
    assert template.render(_context(lines=[])) == ""  # and nothing is carried over between renders
    assert template.render(sample_context()) == first


def test_references_name_the_placeholders_a_body_mentions():
    found = references("{{ recovery_button }}{% for l in lines %}{{ l.name }}{% endfor %}{{ shop.address }}")
    assert found == {"recovery_button", "lines", "line.name", "shop.address"}


REQUIRED = ("recovery_url", "unsubscribe_url", "shop.address")


@pytest.mark.parametrize("kind", ["html", "text"])
@pytest.mark.parametrize("present", [(), ("recovery_url",), ("unsubscribe_url", "shop.address"), REQUIRED])
def test_the_footer_adds_only_the_required_parts_a_body_leaves_out(kind, present):
    # given a body that shows some of the recovery link, the unsubscribe link and the postal address
    context = sample_context()
    values = {"recovery_url": context["recovery_url"], "unsubscribe_url": context["unsubscribe_url"]}
    values["shop.address"] = context["shop"]["address"]
    body = "<body>Hello" + "".join(f" {{{{ {part} }}}}" for part in present) + "</body>"
    rendered = compile_template(body, kind=kind, field="body").render(context)
    # when the required parts are ensured
    final = ensure_required_parts(rendered, kind=kind, context=context)
    # then each appears exactly once (the address line by line: HTML footers break it with <br>): the ones
    # present are not repeated, the missing ones are added
    for part, value in values.items():
        for line in value.splitlines():
            assert final.count(escape(line) if kind == "html" else line) == 1, part
    assert final == rendered or set(present) != set(REQUIRED)
    if kind == "html":
        assert final.endswith("</body>")


def test_a_link_hidden_behind_a_false_condition_counts_as_missing():
    context = _context(coupon=None)
    body = "{% if coupon %}{{ unsubscribe_url }}{% endif %}{{ recovery_button }}{{ shop.address }}"
    rendered = compile_template(body, kind="text", field="body_text").render(context)
    final = ensure_required_parts(rendered, kind="text", context=context)
    assert final.startswith(rendered.rstrip("\n"))
    assert final.count(context["unsubscribe_url"]) == 1
    assert final.count(context["recovery_url"]) == 1


def test_a_shop_without_an_address_gets_no_address_in_the_footer():
    context = sample_context()
    context["shop"]["address"] = ""
    rendered = compile_template("{{ recovery_url }} {{ unsubscribe_url }}", kind="text", field="t").render(context)
    assert ensure_required_parts(rendered, kind="text", context=context) == rendered
