"""The production-like run, as a person meets it: gunicorn (two workers) behind nginx terminating TLS on loopback,
DEBUG off, static files from WhiteNoise; a real headless Chromium logs into the admin over HTTPS, reviews
feedback (filter, open, mark reviewed) and exports it as CSV, and renders the API docs page with no network but
this machine's; /health/, /api/search and /metrics answer.

Screenshots: $STACK_DIR/artifacts/browser/ (under `make test`: .stack/test/artifacts/browser/). Needs Debian's
chromium, chromium-driver and nginx, which `make test` installs when missing (`make browser-deps`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.servers import REPO, TOOLS, Servers, missing_tools
from tests.fixtures import MILVUS_SERVER_URI, drop_test_collection

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ARTIFACTS = Path(os.environ.get("STACK_DIR") or REPO / ".stack") / "artifacts" / "browser"
HEADER_COLOUR = "rgba(65, 118, 144, 1)"  # the admin's --header-bg (#417690): proof that base.css loaded
RATED_COLOUR = "rgba(255, 243, 205, 1)"  # rag_data.admin.results.RATED_STYLE
QUESTION = "how does reciprocal rank fusion weigh the legs"
DOCUMENTS = {
    "fusion.md": "# Rank fusion\n\nReciprocal rank fusion weighs each leg's ranking: a chunk ranked r by a leg adds "
                 "weight / (60 + r) to its score, so the legs agree on what rises.\n",
    "graph.md": "# Graph expansion\n\nThe graph leg expands from the concepts of the top hits to related documents, "
                "and its weight in the fusion is small by default.\n",
    "keyword.md": "# Keyword search\n\nThe keyword leg ranks chunks by PostgreSQL full text search over a stored "
                  "tsvector column with a GIN index.\n",
}


@pytest.fixture
def browser_tools():
    missing = missing_tools()
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make browser-deps` (a prerequisite of `make test`), which "
                    "installs Debian's chromium, chromium-driver and nginx", pytrace=False)


@pytest.fixture
def app_environment(settings, tmp_path, neo4j_store):
    """The variables of the gunicorn processes: this test's database, collection and namespace, DEBUG off, behind
    a TLS proxy. DJANGO_ENV stays local only because the test stack's passwords are the published local defaults,
    which production refuses; every production switch of the web tier is turned on by its own variable."""
    from vectorstore import client

    db = settings.DATABASES["default"]
    settings.MILVUS_URI = MILVUS_SERVER_URI
    settings.MILVUS_COLLECTION = f"test_e2e_{uuid.uuid4().hex[:10]}"
    client.connection().close()
    token = secrets.token_hex(24)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "PROMETHEUS"))}
    environment.update(
        DJANGO_SETTINGS_MODULE="config.settings", DJANGO_ENV="local", DJANGO_DEBUG="false",
        DJANGO_BEHIND_TLS_PROXY="true", DJANGO_SSL_REDIRECT="true", DJANGO_ALLOWED_HOSTS="localhost,127.0.0.1",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"), LOG_FORMAT="json", API_TOKEN=token,
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        MILVUS_URI=MILVUS_SERVER_URI, MILVUS_COLLECTION=settings.MILVUS_COLLECTION,
        RAG_NAMESPACE=settings.RAG_NAMESPACE, NEO4J_URI=settings.NEO4J_URI, EMBEDDER=settings.EMBEDDER,
        EMBEDDING_DIM=str(settings.EMBEDDING_DIM), METRICS_ALLOWED_IPS="127.0.0.1/32",
    )
    yield environment
    drop_test_collection(settings)


@pytest.fixture
def servers(app_environment, tmp_path):
    running = Servers(tmp_path, app_environment)
    running.environment["DJANGO_CSRF_TRUSTED_ORIGINS"] = running.origin
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = TOOLS["chromium"]
    # No network but this machine: every host name except localhost fails to resolve (a CDN asset cannot load).
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost"):
        options.add_argument(argument)
    options.accept_insecure_certs = True  # the test's own self-signed certificate
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=TOOLS["chromedriver"]))
    driver.set_page_load_timeout(60)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def css(driver, selector: str, prop: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector).value_of_css_property(prop)


def api(servers: Servers, path: str, body: dict) -> tuple[int, dict]:
    status, _, content = servers.get(
        f"{servers.origin}{path}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {servers.environment['API_TOKEN']}"})
    return status, json.loads(content)


def metric(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{re.escape(name)}{{{re.escape(wanted)}}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.mark.django_db(transaction=True)
def test_admin_review_flow_in_a_real_browser_over_https(browser_tools, servers, browser, tmp_path, django_user_model):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    from ingestion.services import ingest_paths
    from rag_data.models import Feedback
    from stores.services import initialise

    # --- data: three documents, searches and feedback through the API over HTTPS ---------------------------
    initialise(echo=lambda *_: None)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text)
    assert ingest_paths([corpus]).counts()["created"] == len(DOCUMENTS)
    origin = servers.origin
    status, health_body = servers.get(f"{origin}/health/", headers={"Accept": "application/json"})[::2]
    assert status == 200 and json.loads(health_body)["status"] == "pass", health_body
    status, found = api(servers, "/api/search", {"query": QUESTION, "k": 3})
    assert status == 200 and len(found["results"]) == 3, found
    rated = found["results"][1]  # the reviewer must see which one was rated
    comment = f"the fusion page should be first {uuid.uuid4().hex[:6]}"
    status, created = api(servers, "/api/feedback", {"query_id": found["query_id"], "rating": -1,
                                                      "chunk_id": rated["chunk_id"], "comment": comment})
    assert status == 201, created
    status, other = api(servers, "/api/search", {"query": "keyword leg tsvector", "k": 3})
    assert status == 200
    assert api(servers, "/api/feedback", {"query_id": other["query_id"], "rating": 1})[0] == 201

    # /metrics: refused through the proxy, served to loopback by either worker with every worker's searches.
    assert servers.get(f"{origin}/metrics")[0] == 403
    before = servers.get(f"http://127.0.0.1:{servers.app_port}/metrics")[2].decode()
    for n in range(6):
        assert api(servers, "/api/search", {"query": f"rank fusion {n}"})[0] == 200
    after = servers.get(f"http://127.0.0.1:{servers.app_port}/metrics")[2].decode()
    grew = (metric(after, "rag_search_stage_duration_seconds_count", stage="total")
            - metric(before, "rag_search_stage_duration_seconds_count", stage="total"))
    assert grew == 6, "every worker's searches are counted, whichever worker answers the scrape"

    # --- the browser ----------------------------------------------------------------------------------------
    password = secrets.token_urlsafe(16)
    django_user_model.objects.create_superuser("reviewer", "reviewer@example.com", password)
    wait = WebDriverWait(browser, 30)
    browser.get(f"{origin}/admin/")
    wait.until(ready.presence_of_element_located((By.ID, "id_username")))
    assert browser.current_url.startswith(f"{origin}/admin/login/")
    assert css(browser, "#header", "background-color") == HEADER_COLOUR, "the admin's CSS did not load"
    stylesheet = browser.find_element(By.CSS_SELECTOR, "link[href*='admin/css/base']").get_attribute("href")
    assert re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css$", stylesheet), stylesheet  # hashed: WhiteNoise
    shot(browser, "01-login")
    browser.find_element(By.ID, "id_username").send_keys("reviewer")
    browser.find_element(By.ID, "id_password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(ready.title_contains("Site administration"))
    shot(browser, "02-admin-index")

    browser.get(f"{origin}/admin/rag_data/feedback/")
    wait.until(ready.presence_of_element_located((By.ID, "result_list")))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")) == 2
    browser.find_element(By.LINK_TEXT, "thumbs down").click()  # the rating filter
    wait.until(ready.url_contains("rating__exact=-1"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1 and comment in rows[0].text, "the list shows the comment"
    shot(browser, "03-feedback-filtered")

    rows[0].find_element(By.CSS_SELECTOR, "th a").click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "table.rag-results")))
    results = browser.find_elements(By.CSS_SELECTOR, "table.rag-results tbody tr")
    assert len(results) == 3
    page = browser.find_element(By.CSS_SELECTOR, "table.rag-results").text
    assert any(title in page for title in ("Rank fusion", "Graph expansion", "Keyword search")), "document titles"
    marked = {mark.text.lower() for mark in browser.find_elements(By.CSS_SELECTOR, "table.rag-results mark")}
    assert marked & {"fusion", "reciprocal", "rank", "legs", "leg"}, f"query words marked: {marked}"
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "table.rag-results td a")]
    assert any("/admin/rag_data/chunk/" in link for link in links), links
    rated_row = browser.find_element(By.CSS_SELECTOR, "table.rag-results tr.rag-rated")
    assert rated["chunk_id"] in rated_row.text and "rated: thumbs down" in rated_row.text
    assert rated_row.value_of_css_property("background-color") == RATED_COLOUR, "the rated chunk stands out"
    shot(browser, "04-feedback-detail")

    Select(browser.find_element(By.ID, "id_review_state")).select_by_value("reviewed")
    browser.find_element(By.NAME, "_save").click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li.success")))
    shot(browser, "05-marked-reviewed")
    feedback = Feedback.objects.get(comment=comment)
    assert feedback.review_state == "reviewed" and feedback.reviewed_by.username == "reviewer"

    browser.get(f"{origin}/admin/rag_data/feedback/")
    wait.until(ready.presence_of_element_located((By.ID, "action-toggle"))).click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("export_csv")
    browser.find_element(By.NAME, "index").click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(browser.downloads.glob("feedback-*.csv")):
        time.sleep(0.2)
    exported = list(browser.downloads.glob("feedback-*.csv"))
    assert exported, "the CSV export did not download"
    rows = list(csv.reader(io.StringIO(exported[0].read_text())))
    assert len(rows) == 3 and any(comment in cell for row in rows for cell in row), rows
    shot(browser, "06-after-export")

    # The API docs page renders from the app's own files, with every other host unreachable.
    browser.get(f"{origin}/api/docs")
    WebDriverWait(browser, 60).until(ready.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path")))
    paths = {element.text.strip() for element in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/api/search", "/api/feedback"} <= paths, paths
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(origin) for url in loaded), f"assets from elsewhere: {loaded}"
    shot(browser, "07-api-docs")
