import pytest
from tests.browser.conftest import PIN
pytestmark = pytest.mark.browser
def test_dbg(new_context, live_server):
    acc = live_server.returnee("Sahr")
    ctx = new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto("/activate")
    page.get_by_label("Activation code").fill(acc.activation_code)
    page.get_by_role("button", name="Next").click()
    page.wait_for_url("**/activate/returnee")
    print("URL", page.url)
    print(page.inner_text("main"))
    print(page.locator("main form").inner_html()[:3000])
