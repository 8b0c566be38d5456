"""The story page in a real browser: headless Chromium (Debian's chromium + chromium-driver,
driven by Selenium; scripts/test.sh installs them where it can) fills the form, clicks Generate
and must see one image per sentence at the model's size; an empty sentence shows the API's
error. Where no Chromium is installed the test says so and skips."""
import os
import shutil

import pytest

from tests.serving_support import FRAMES, IMAGE_SIZE, STORY, live_server, shared_export, story_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# Set to keep the screenshot (docs/images/story_page.png is made this way).
SCREENSHOT_ENV = "STORYVIS_PAGE_SCREENSHOT"


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no headless Chromium: install Debian's chromium and chromium-driver "
                    "(scripts/test.sh does as root with apt-get)")
    os.environ["SE_OFFLINE"] = "true"   # Selenium Manager must not download a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1100,640"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def test_story_page_generates_one_frame_per_sentence(browser, tmp_path_factory, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    def wait_for_state(state):
        WebDriverWait(browser, 60).until(
            lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") == state)

    with live_server(story_app(shared_export(tmp_path_factory))) as url:
        browser.get(url + "/")
        wait_for_state("ready")
        examples = Select(browser.find_element(By.ID, "example"))
        assert len(examples.options) > 1   # the synthetic test split's stories
        sentences = browser.find_elements(By.CSS_SELECTOR, "textarea[name=sentence]")
        assert len(sentences) == FRAMES
        for field, sentence in zip(sentences, STORY):
            field.clear()
            field.send_keys(sentence)
        seed = browser.find_element(By.ID, "seed")
        seed.clear()
        seed.send_keys("3")
        browser.find_element(By.ID, "generate").click()
        wait_for_state("done")
        sizes = browser.execute_script(
            "return Array.from(document.querySelectorAll('.frame img'))"
            ".map(i => [i.naturalWidth, i.naturalHeight, i.src.slice(0, 22)]);")
        assert sizes == [[IMAGE_SIZE, IMAGE_SIZE, "data:image/png;base64,"]] * FRAMES
        assert browser.find_element(By.ID, "error").is_displayed() is False
        screenshot = os.environ.get(SCREENSHOT_ENV) or str(tmp_path / "story_page.png")
        assert browser.save_screenshot(screenshot)
        assert os.path.getsize(screenshot) > 0

        examples.select_by_index(1)
        assert sentences[0].get_attribute("value") != STORY[0]
        sentences[2].clear()
        browser.find_element(By.ID, "generate").click()
        wait_for_state("error")
        assert browser.find_element(By.ID, "error").text == (
            "sentence 3 of story 1 is empty (no words): every frame needs a sentence")
