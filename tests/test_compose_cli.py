"""The compose files through the real Docker Compose v2 CLI (no engine needed for `config`), and the
documented production steps: step 1 of docs/production.md, run as written, gives an .env with which the
merged production configuration validates and the app's settings pass `check --deploy`.

The CLI is built once into .stack/tools/ (`make test` builds it while the test stack starts)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure import compose_check

REPO = Path(__file__).resolve().parent.parent
INFRA = REPO / "infrastructure"
SITE = "rag.example.com"


@pytest.fixture(scope="module")
def compose_cli() -> Path:
    try:
        compose_check.build()
    except compose_check.CheckError as error:
        pytest.fail(f"the Compose CLI cannot be built: {error}", pytrace=False)
    return compose_check.BINARY


def test_compose_check_validates_base_dev_and_prod(compose_cli):
    report = compose_check.check(compose_cli)
    assert [line.split(":")[0] for line in report] == ["base", "base+dev", "base+prod"]
    version = subprocess.run([str(compose_cli), "version", "--short"], capture_output=True, text=True, timeout=60)
    assert version.stdout.strip().lstrip("v") == compose_check.COMPOSE_VERSION.lstrip("v")


def test_compose_check_reports_a_broken_file_in_one_line(compose_cli, tmp_path, monkeypatch):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text((INFRA / "docker-compose.yml").read_text().replace("    image: neo4j:", "    imagee: neo4j:"))
    monkeypatch.setattr(compose_check, "BASE", broken)
    with pytest.raises(compose_check.CheckError) as caught:
        compose_check.check(compose_cli)
    message = str(caught.value)
    assert message.startswith("base: docker compose config failed: ") and "\n" not in message
    assert "imagee" in message


def test_a_floating_image_tag_fails_the_check():
    project = {"services": {"neo4j": {"image": "neo4j:5.26-community"}, "app": {"image": "rag-data-app:local"}}}
    assert compose_check.verify("base", project) == [
        "neo4j: image 'neo4j:5.26-community' is not an exact version (x.y.z or a MinIO RELEASE tag)"]


def test_an_api_token_handed_to_a_production_service_fails_the_check():
    project = {"services": {"app": {"image": "rag-data-app:local", "environment": {"DJANGO_ENV": "production",
                                                                                 "API_TOKEN": ""}},
                            "worker": {"image": "rag-data-app:local", "environment": {"DJANGO_ENV": "local",
                                                                                    "API_TOKEN": ""}}}}
    assert compose_check.verify("base", project) == [
        "app: passes API_TOKEN, which production refuses (local mode only)"]


def test_the_documented_steps_make_an_api_key_with_the_command_not_an_api_token():
    text = (REPO / "docs" / "production.md").read_text()
    steps = re.search(r"<!-- compose-steps:end -->\n\n```bash\n(.*?)```", text, re.S).group(1)
    assert "KEY=$($COMPOSE exec -T app python manage.py api_key create app --scopes search,feedback,documents)" in steps
    assert '-H "Authorization: Bearer $KEY"' in steps
    assert "API_TOKEN" not in documented_step_one() + steps


def documented_step_one() -> str:
    text = (REPO / "docs" / "production.md").read_text()
    block = re.search(r"<!-- compose-steps:start -->\n```bash\n(.*?)```\n<!-- compose-steps:end -->", text, re.S)
    assert block, "docs/production.md lost its marked step 1"
    return block.group(1)


def test_the_documented_steps_give_a_production_configuration_that_passes_the_deploy_check(compose_cli, tmp_path):
    (tmp_path / "infrastructure").mkdir()
    shutil.copy(INFRA / ".env.example", tmp_path / "infrastructure" / ".env.example")
    step = subprocess.run(["bash", "-euo", "pipefail", "-c", documented_step_one()], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert step.returncode == 0, step.stderr
    env_file = tmp_path / "infrastructure" / ".env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"

    project = compose_check.merged("base+prod", env_file, compose_cli)  # every ${X:?} is set, or this fails
    app = project["services"]["app"]["environment"]
    assert "API_TOKEN" not in app, "production takes per-client keys only (the settings refuse an API_TOKEN)"
    assert project["services"]["proxy"]["environment"]["SITE_ADDRESS"] == SITE
    assert app["DJANGO_ALLOWED_HOSTS"] == f"{SITE},127.0.0.1" and app["DJANGO_CSRF_TRUSTED_ORIGINS"] == f"https://{SITE}"

    # The app's environment exactly as compose hands it over: production settings accept it.
    environment = {k: str(v) for k, v in app.items() if v is not None}
    environment.update(PATH=os.environ["PATH"], DJANGO_SETTINGS_MODULE="config.settings",
                       DJANGO_STATIC_ROOT=str(tmp_path / "static"))
    (tmp_path / "static").mkdir()  # what the image's collectstatic leaves (rag_data.W001 looks for it)
    (tmp_path / "static" / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    check = subprocess.run([sys.executable, "-W", "ignore", "manage.py", "check", "--deploy", "--fail-level",
                            "WARNING"], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
