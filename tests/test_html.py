"""The HTML renderer: MathML Core only, everything escaped, and real rendering in Chromium.

The Chromium test loads a handout's HTML in headless Chromium with every host name mapped to
nowhere, measures the laid-out ``<math>`` elements from a copy of the page with a measuring
script added (the page itself has no script), takes a screenshot, and reads Chromium's network
log: no request may come from the page. It is skipped only when Chromium is not installed.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from xml.dom.minidom import Document

import pytest
import sympy

import calculus_ml as cm
from calculus_ml.functions import dot, sigmoid
from calculus_ml.losses import get
from calculus_ml.render import html
from calculus_ml.render.walk import entries, upper_first

MATHML_CORE = {
    "math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "ms", "mfrac", "msqrt", "mroot", "msub",
    "msup", "msubsup", "munder", "mover", "munderover", "mmultiscripts", "mprescripts", "mtable",
    "mtr", "mtd", "mstyle", "mpadded", "mphantom", "merror", "semantics", "annotation",
    "annotation-xml",
}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
x, y, m, b = sympy.symbols("x y m b", real=True)


def tags(markup: str) -> set[str]:
    return set(re.findall(r"<([a-z][a-z0-9-]*)", markup))


def parse(markup: str) -> ET.Element:
    """The MathML as XML: well formed, every ``&`` escaped."""
    return ET.fromstring(markup)


@pytest.mark.parametrize("expr", [
    (3 * x**2 + 10 * x) ** 3,
    sympy.Derivative(x**2 * y, x),
    sympy.Sum(sympy.IndexedBase("x")[sympy.Symbol("i")] ** 2, (sympy.Symbol("i"), 1, sympy.Symbol("n"))),
    sigmoid(m * x + b),
    dot(sympy.Symbol("w"), x),
    sympy.Piecewise((x, x > 0), (0, True)),
    sympy.Abs(x - 1) + sympy.sign(m) + sympy.sqrt(x) + sympy.exp(-x) + sympy.log(x),
    sympy.Float(1.25) * x,
    sympy.Matrix([[1, x], [y, 2]]),
    sympy.conjugate(sympy.Symbol("z")),
])
def test_mathml_is_core_and_well_formed(expr):
    markup = html.mathml(expr, display=True)
    assert tags(markup) <= MATHML_CORE, tags(markup) - MATHML_CORE
    root = parse(markup)
    assert root.tag == "math" and root.get("display") == "block"
    assert "mfenced" not in markup and "menclose" not in markup


def test_floats_and_ml_functions_print():
    assert "<mn>1.25</mn>" in html.mathml(sympy.Float(1.25) * x)
    assert "σ" in html.mathml(sigmoid(x)) and "sigmoid" not in html.mathml(sigmoid(x))
    assert "·" in html.mathml(dot(sympy.Symbol("w"), x))
    assert "<mtable>" in html.mathml(sympy.Piecewise((x, x > 0), (0, True)))


def test_derivatives_are_bracketed_like_latex():
    markup = html.mathml(sympy.Derivative(x**2, x))
    assert "<mo>[</mo>" in markup and "<mo>]</mo>" in markup
    assert "∂" in html.mathml(sympy.Derivative(x * y, x))


def test_text_and_symbol_names_are_escaped():
    weird = sympy.Symbol("a<b&c")
    markup = html.mathml(weird)
    assert "a&lt;b&amp;c" in markup and "<b&" not in markup
    parse(markup)
    page = html.page("<script>alert(1)</script> & co", "<p>body</p>\n")
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_entities_are_decoded_then_escaped():
    """SymPy's printer writes raw entities (``&InvisibleTimes;``, ``&#x1D7D9`` without ``;``)."""
    markup = html.mathml(2 * x) + html.mathml(sympy.OneMatrix(2, 1))
    assert "&InvisibleTimes;" not in markup and "\u2062" in markup
    assert "&#x" not in markup and "𝟙" in markup


def test_mfenced_and_menclose_are_rewritten():
    dom = Document()
    fenced = dom.createElement("mfenced")
    fenced.setAttribute("open", "[")
    fenced.setAttribute("close", "]")
    for name in "ab":
        mi = dom.createElement("mi")
        mi.appendChild(dom.createTextNode(name))
        fenced.appendChild(mi)
    out: list[str] = []
    html._serialise(fenced, out)
    assert "".join(out) == "<mrow><mo>[</mo><mi>a</mi><mo>,</mo><mi>b</mi><mo>]</mo></mrow>"


def test_derivation_to_html_and_mimebundle():
    d = cm.derive("(3*x^2 + 10*x)^3", "x", detail="full")
    fragment = d.to_html()
    assert fragment.count('<div class="step"') == len(
        [v for v in __import__("calculus_ml.render.base", fromlist=["views"]).views(d["x"])])
    assert "Chain rule" in fragment and "<script" not in fragment
    assert tags(fragment) - {"section", "p", "h3", "div", "strong", "style", "details",
                             "summary"} <= MATHML_CORE
    assert d._repr_mimebundle_()["text/html"] == fragment


def test_long_equations_are_rows_that_rebuild_the_equation():
    poly = sum(k * x**k for k in range(1, 15))
    markup = html.equation((sympy.Derivative(poly, x), poly.diff(x)))
    parse(markup)
    assert markup.count("<mtr>") >= 3 and tags(markup) <= MATHML_CORE
    assert html.equation((x, x + 1)).count("<mtr>") == 0  # a short one stays one row


def test_steps_fold_and_a_long_derivation_opens_to_its_result():
    short = cm.derive("(3*x^2 + 10*x)^3", "x").to_html()
    long = cm.derive(" + ".join(f"x^{k}" for k in range(2, 15)), "x", verify=False).to_html()
    assert '<details class="steps" open>' in short
    assert '<details class="steps">' in long and '<details class="steps" open>' not in long
    assert long.index("<details") < long.index('class="result"')  # the result is outside
    for fragment in (short, long):
        assert fragment.count("<details") == fragment.count("</details>")
        assert fragment.count("<summary>") == fragment.count("<details")
        assert "@media print" in fragment and "details-content" in fragment


class _StepDepth(HTMLParser):
    """The deepest nesting of ``<div class="step">`` elements."""

    def __init__(self):
        super().__init__()
        self.open: list[bool] = []  # per open div: is it a step
        self.deepest = 0

    def handle_starttag(self, tag, attrs):
        if tag == "div":
            self.open.append("step" in (dict(attrs).get("class") or "").split())
            self.deepest = max(self.deepest, sum(self.open))

    def handle_endtag(self, tag):
        if tag == "div":
            self.open.pop()


def test_nested_steps_are_nested_elements():
    d = cm.derive("(3*x^2 + 10*x)^3", "x", detail="full")
    reader = _StepDepth()
    reader.feed(d.to_html())
    assert not reader.open
    assert reader.deepest == 1 + max(depth for _, depth in reading_order(d["x"]))


def reading_order(step, depth=0):
    yield step, depth
    for sub in step.substeps:
        yield from reading_order(sub, depth + (0 if step.rule == "simplify" else 1))


def test_loss_derivation_and_matrix_form():
    fragment = get("mse").derive().to_html()
    assert "∑" in fragment and "<msub>" in fragment
    matrix = html.mathml(get("logistic", vector=True).matrix_gradient["w"])
    assert "<mo>T</mo>" in matrix and "σ" in matrix


@pytest.mark.slow
def test_closed_form_renders():
    out = html.render_solution(get("mse").closed_form())
    assert out.startswith("<h3>Closed form for mse</h3>") and "<math" in out


# -- in a real browser -----------------------------------------------------------------------

MEASURE = """<script>
window.addEventListener('load', () => {
  const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height, r.top, r.bottom]; };
  const maths = [...document.querySelectorAll('math')];
  const result = {
    mathml: maths.every(e => e instanceof MathMLElement),
    sizes: maths.map(box),
    fracs: [...document.querySelectorAll('mfrac')].map(f => [box(f.children[0])[3], box(f.children[1])[2]]),
    images: [...document.images].map(i => [i.complete, i.naturalWidth]),
  };
  const pre = document.createElement('pre');
  pre.id = 'cml-measure';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>"""


def chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND",
               *extra, page.as_uri()]
    return subprocess.run(command, capture_output=True, timeout=90, stdin=subprocess.DEVNULL)


def page_requests(netlog: Path) -> list[str]:
    """URLs of network requests the page made (Chromium's own traffic has no origin)."""
    log = json.loads(netlog.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"]
            if e["type"] == start and "url" in e.get("params", {})
            and e["params"].get("initiator") != "not an origin"]


@pytest.fixture(scope="module")
def handout_html(tmp_path_factory) -> Path:
    from calculus_ml import handout

    out = tmp_path_factory.mktemp("html")
    handout.write(handout.build("07-gradient-descent"), out, "html")
    return out / "07-gradient-descent.html"


@pytest.mark.slow
def test_handout_html_links_nothing_remote(handout_html):
    text = handout_html.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", text, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?\s*(https?:|//)", text, re.I)
    assert "<script" not in text and "<link" not in text


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_handout_renders_mathml_in_chromium_offline(handout_html, tmp_path):
    measured = handout_html.with_name("measured.html")
    measured.write_text(handout_html.read_text().replace("</body>", MEASURE + "</body>"))
    netlog = tmp_path / "net.json"
    run = chromium(measured, tmp_path / "profile", f"--log-net-log={netlog}",
                   "--virtual-time-budget=5000", "--dump-dom")
    found = re.search(r'<pre id="cml-measure">(.*?)</pre>', run.stdout.decode(), re.S)
    assert found, run.stderr.decode()[-2000:]
    result = json.loads(htmllib.unescape(found.group(1)))
    assert result["mathml"] and len(result["sizes"]) > 20
    assert all(w > 0 and h > 0 for w, h, _, _ in result["sizes"])
    # laid out as MathML: every numerator sits above its denominator
    assert result["fracs"] and all(top <= bottom + 0.5 for top, bottom in result["fracs"])
    assert result["images"] and all(done and width > 0 for done, width in result["images"])
    assert page_requests(netlog) == []

    shot = tmp_path / "page.png"
    chromium(handout_html, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1000,2000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


WIDTH = """<script>
window.addEventListener('load', () => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const pre = document.createElement('pre');
  pre.id = 'cml-width';
  const right = Math.max(...[...document.querySelectorAll('math, math *')].map(
    e => e.getBoundingClientRect().right));
  pre.textContent = JSON.stringify([document.documentElement.scrollWidth,
                                    document.documentElement.clientWidth, right]);
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("name", ["logistic", "mse", "ridge"])
def test_an_open_derivation_never_scrolls_sideways_at_800px(name, tmp_path):
    derivation = get(name).derive()
    derivation.detail = "full"
    page = tmp_path / "page.html"
    page.write_text(html.page(name, derivation.to_html()).replace("</body>", WIDTH + "</body>"))
    run = chromium(page, tmp_path / "profile", "--window-size=800,1000",
                   "--virtual-time-budget=5000", "--dump-dom")
    found = re.search(r'<pre id="cml-width">(.*?)</pre>', run.stdout.decode(), re.S)
    assert found, run.stderr.decode()[-2000:]
    scroll, client, right = json.loads(found.group(1))
    assert 0 < client <= 800 and scroll <= client and 0 < right <= client


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None or shutil.which("pdftotext") is None,
                    reason="needs Chromium and pdftotext (poppler-utils)")
def test_a_folded_derivation_prints_open_and_unclipped(tmp_path):
    derivation = get("logistic").derive()
    markup = derivation.to_html()
    assert '<details class="steps">' in markup  # folded on screen
    page, pdf = tmp_path / "page.html", tmp_path / "page.pdf"
    page.write_text(html.page("logistic", markup))
    chromium(page, tmp_path / "profile", "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    words = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout
    printed = " ".join(re.sub(r"<[^>]+>", " ", words).split())
    titles = [upper_first(e.title) for _, root in derivation for e in entries(root, "standard")]
    assert printed.count("rule") + printed.count("data.") + printed.count("Simplify") >= len(titles)
    assert "Sigmoid rule" in printed and "steps)" not in printed  # every step, no summary line
    width = float(re.search(r'<page width="([\d.]+)"', words).group(1))
    assert max(float(v) for v in re.findall(r'xMax="([\d.]+)"', words)) < width
    assert min(float(v) for v in re.findall(r'xMin="([\d.]+)"', words)) > 0


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_the_network_check_sees_a_remote_request(tmp_path):
    """The control: a page with a remote image is caught (and its request goes nowhere)."""
    page = tmp_path / "remote.html"
    page.write_text('<!DOCTYPE html><html><body><img src="https://example.com/x.png"></body></html>')
    netlog = tmp_path / "net.json"
    chromium(page, tmp_path / "profile", f"--log-net-log={netlog}", "--virtual-time-budget=2000",
             "--dump-dom")
    assert page_requests(netlog) == ["https://example.com/x.png"]
