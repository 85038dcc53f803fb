"""A FastAPI app on a real loopback socket (uvicorn in a thread), and Debian's headless Chromium
filling the seller's page on it (the page test and scripts/seller_page_screenshot.py)."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

# Debian's packages (make setup installs them): the browser test fails, not skips, without them
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@contextmanager
def live_server(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def headless_chromium(*flags: str):
    """Debian's chromium through its chromedriver (selenium), headless, in US English."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=en-US", *flags):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def price_on_the_page(browser, url: str, listing, photo: Path):
    """Load the page, upload `photo`, fill the form with the listing's text and fields (brand and
    condition when it has them), submit; returns the rendered price element."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(url)
    browser.find_element(By.ID, "photo").send_keys(str(photo))
    browser.find_element(By.ID, "title").send_keys(listing["title"])
    browser.find_element(By.ID, "description").send_keys(listing["description"] or "")
    Select(browser.find_element(By.ID, "category")).select_by_value(listing["category"])
    seller = browser.find_element(By.ID, "seller_id")
    seller.clear()
    seller.send_keys(str(listing["seller_id"]))
    if listing["brand"]:
        browser.find_element(By.ID, "brand").send_keys(listing["brand"])
    if listing["condition"]:
        Select(browser.find_element(By.ID, "condition")).select_by_value(listing["condition"])
    browser.find_element(By.ID, "suggest").click()
    return WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.ID, "suggested-price"))[0]
