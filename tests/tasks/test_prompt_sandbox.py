"""Prompt templates are untrusted: they render in Jinja's immutable sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldwise.errors import UserError
from fieldwise.tasks import Example, load_task
from fieldwise.tasks.prompts import load_template, render_messages
from tests.cli.helpers import predict_cli

ISAF = load_task("isaf")
DOC = Example("e1", "Coalition forces detained two insurgents.")


def _template(tmp_path: Path, system: str) -> Path:
    path = tmp_path / "evil.jinja"
    path.write_text(
        "{% block system %}" + system + "{% endblock %}{% block user %}{{ text }}{% endblock %}"
    )
    return path


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "payload",
    [
        "{{ cycler.__init__.__globals__.os.popen('touch {flag}').read() }}",
        "{{ task.__class__.__init__.__globals__['os'].system('touch {flag}') }}",
        "{{ lipsum.__globals__['os'].popen('touch {flag}').read() }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ fields.append(1) }}{{ fields.clear() }}",
    ],
)
def test_a_template_cannot_reach_the_os(tmp_path: Path, payload: str) -> None:
    flag = tmp_path / "pwned"
    template = load_template(str(_template(tmp_path, payload.replace("{flag}", str(flag)))))
    with pytest.raises(UserError, match=r"prompt template .*evil.jinja: (unsafe|failed)") as info:
        render_messages(ISAF, DOC, template)
    assert "\n" not in str(info.value)
    assert not flag.exists()


def test_ordinary_templates_still_render(tmp_path: Path) -> None:
    path = _template(tmp_path, "Fields: {% for f in fields %}{{ f.name | upper }} {% endfor %}")
    messages = render_messages(ISAF, DOC, load_template(str(path)))
    assert messages[0]["content"].startswith("Fields: ")
    assert messages[-1]["content"] == DOC.text


@pytest.mark.timeout(30)
def test_the_cli_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flag = tmp_path / "pwned"
    payload = "{{ cycler.__init__.__globals__.os.popen('touch FLAG') }}"
    evil = _template(tmp_path, payload.replace("FLAG", str(flag)))
    code, _, err = predict_cli(
        capsys, tmp_path, options=(f"template={evil}", "base_url=http://127.0.0.1:9/v1"), rows=1
    )
    assert code == 2 and "unsafe" in err and "Traceback" not in err, err
    assert not flag.exists()
