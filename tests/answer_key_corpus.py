"""A corpus of derivatives a learner meets, for measuring how tidy the answers are.

Each entry is ``(expression, variables, data)``: textbook exercises (polynomials, products,
quotients, the chain rule, trigonometric and inverse trigonometric functions, exponentials and
logarithms, absolute values, roots), machine-learning activations and per-sample losses, and
losses summed over data. The catalogue's named losses are added by the test that reads it.
"""

from __future__ import annotations

POLYNOMIALS = [
    "4*x + 15", "3*x^2 - 11", "4*x^3 - x^2 + 3*x", "4*x^5 - 3*x^4 + 7*x^2 - 9*x + 12",
    "x^10", "-x^3 + 2*x", "(0.5*x + 3)^2", "(2*x - 1)^3", "(x^2 + 1)^2", "x^4 - 2*x^2 + 1",
    "(x - 1)*(x + 1)", "(x + 2)^2 - (x - 2)^2", "x^3/3 - x^2/2 + x", "7 - 2*x", "5*x^2*y - 3*y^2",
    "(a*x + b)^2", "a*x^2 + b*x + c", "(x - a)^3", "x^2*y^2 + x*y", "(x + y)^3", "1 - x^2",
    "(1 - x)^4", "3*(x^2 - 4*x + 4)", "x*(x - 1)*(x - 2)", "(x^2 - x)^2", "(2*x + 3*y)^2",
    "x^6 + x^3", "(3*x^2 + 10*x)^3", "4*x^2*y + 3*x + y", "-(x - 3)^2 + 9",
]

PRODUCTS = [
    "x*exp(x)", "x^2*sin(x)", "x*log(x)", "exp(x)*cos(x)", "sin(x)*cos(x)", "x^3*exp(-x)",
    "(x + 1)*exp(2*x)", "x*sqrt(x + 1)", "x^2*log(x)", "exp(x)*sin(x)", "x*atan(x)",
    "(x^2 + 1)*(x^3 - x)", "x*tanh(x)", "x*sigmoid(x)", "log(x)*sin(x)", "x*exp(-x^2)",
    "(1 - x)*exp(x)", "x^2*exp(3*x)", "sin(x)^2*cos(x)", "x*cos(x)^2", "t*exp(-t/2)",
    "x*(1 - x)^2", "x^2*sqrt(1 - x^2)", "exp(-x)*sin(2*x)", "x*abs(x)",
]

QUOTIENTS = [
    "sin(x)/(1 + cos(x))", "(x^2 - 1)/(x - 1)", "x/(x + 1)", "(x + 1)/(x - 1)", "1/x",
    "1/x^2", "x^2/(x^2 + 1)", "(2*x + 3)/(x^2 + 1)", "exp(x)/x", "log(x)/x", "sin(x)/x",
    "x/sqrt(x^2 + 1)", "1/(1 + exp(-x))", "(1 - x)/(1 + x)", "x/(1 - x)^2", "(x^3 + 1)/(x + 1)",
    "(x^2 - 4)/(x + 2)", "cos(x)/(1 - sin(x))", "1/(x^2 + 1)", "(x - 1)^2/x", "x^2/(x - 3)",
    "tan(x)/x", "exp(x)/(1 + exp(x))", "(exp(x) - exp(-x))/(exp(x) + exp(-x))", "sin(x)/cos(x)",
    "1/sqrt(x)", "x/(x^2 - 1)", "(2*x)/(1 + x^2)", "(x + a)/(x - a)", "(1 + x^2)/(1 - x^2)",
]

CHAIN = [
    "sin(3*x)", "cos(x^2)", "exp(2*x + 1)", "log(x^2 + 1)", "sqrt(1 - x^2)", "(1 + x^2)^(3/2)",
    "exp(-x^2/2)", "sin(x)^3", "cos(2*x)^2", "log(sin(x))", "log(cos(x))", "exp(sin(x))",
    "sqrt(x^2 + 9)", "(x^3 - 2*x)^5", "tan(2*x)", "atan(2*x)", "log(log(x))", "exp(exp(x))",
    "sin(cos(x))", "sqrt(sin(x))", "(1 - 2*x)^(-1)", "(x^2 + 1)^(-2)", "exp(-(x - a)^2/(2*s^2))/s",
    "log(1 + exp(x))", "sigmoid(2*x - 1)", "tanh(3*x + 1)", "sqrt(x + sqrt(x))", "cos(sqrt(x))",
    "exp(x)^2", "log(exp(x) + 1)",
]

TRIG = [
    "sin(x)", "cos(x)", "tan(x)", "sec(x)", "csc(x)", "cot(x)", "sin(x)^2 + cos(x)^2",
    "sin(x)^2", "cos(x)^2", "tan(x)^2", "sec(x)^2", "sin(2*x)", "sin(x)*cos(x)", "sin(x) - x*cos(x)",
    "x - sin(x)*cos(x)", "1/(1 + tan(x)^2)", "sin(x)^4", "cos(x)^3", "tan(x) - x", "sec(x)*tan(x)",
    "sinh(x)", "cosh(x)", "tanh(x)", "tanh(x)^2", "cosh(x)^2 - sinh(x)^2", "sinh(x)*cosh(x)",
    "tanh(2*x)", "log(cosh(x))", "1/cosh(x)", "sin(x + a)",
]

INVERSE_TRIG = [
    "asin(x)", "acos(x)", "atan(x)", "atan((1 + x)/(1 - x))", "asin(2*x)", "acos(x^2)",
    "atan(1/x)", "atan(x^2)", "asin(sqrt(x))", "x*asin(x)", "atan(exp(x))", "asin(x/a)",
    "atan(x/a)", "acos(1 - x)", "atan(sqrt(x))",
]

EXP_LOG = [
    "exp(x)", "exp(3*x)", "2^x", "10^x", "x^x", "log(x)", "log(3*x)", "log(x^2)", "log(1/x)",
    "log(x, 2)", "log(x, 10)", "exp(-x)", "exp(x^2)", "log(x)^2", "exp(x)*log(x)",
    "log((x + 1)/(x - 1))", "log(x*(x + 1))", "exp(x) - exp(-x)", "log(sqrt(x))", "x*exp(1/x)",
    "log(1 + x^2)/2", "exp(-lamda*x)", "lamda*exp(-lamda*x)", "log(1 - x)", "exp(a*x + b)",
    "log(a + b*x)", "(exp(x) + exp(-x))/2", "exp(2*log(x))", "log(exp(x))", "x^2*exp(-x)",
]

ABS_ROOTS = [
    "abs(x)", "abs(x)/x", "abs(x - 3)", "abs(2*x + 1)", "x*abs(x)", "abs(x)^3", "abs(sin(x))",
    "abs(x^2 - 1)", "abs(w) + w^2", "sqrt(abs(x))",
    "sqrt(x)", "x^(1/3)", "sqrt(x^2 + 1)", "sqrt(2*x + 1)", "1/sqrt(1 + x)", "x*sqrt(x)",
    "sqrt(x)/(1 + sqrt(x))", "(x + 1)^(1/2)", "sqrt(x^2 - a^2)", "x^(3/2) - x^(1/2)",
    "sqrt(1 + x)/sqrt(1 - x)", "sqrt(x*y)", "(x^2 + y^2)^(1/2)", "x^(2/3)", "sqrt(4 - x^2)",
]

ACTIVATIONS = [
    "sigmoid(x)", "tanh(x)", "softplus(x)", "max(0, x)", "max(x, x/100)", "max(x, 0.2*x)",
    "x*sigmoid(x)", "log(sigmoid(x))", "log(1 - sigmoid(x))", "sigmoid(x)*(1 - sigmoid(x))",
    "exp(x)/(exp(x) + 1)", "x*tanh(softplus(x))", "min(max(x, 0), 1)", "sigmoid(w*x + b)",
    "tanh(w*x + b)", "softplus(w*x + b)", "max(0, w*x + b)", "x*(1 + tanh(x))/2",
    "log(1 + exp(-x))", "exp(x)/(1 + exp(x))^2",
]

SAMPLE_LOSSES: list[tuple[str, tuple[str, ...]]] = [
    ("(y - (m*x + b))^2", ("m", "b")),
    ("(m*x + b - y)^2", ("m", "b")),
    ("(y - w*x)^2", ("w",)),
    ("-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))", ("w", "b")),
    ("-y*log(p) - (1 - y)*log(1 - p)", ("p",)),
    ("abs(y - (m*x + b))", ("m", "b")),
    ("max(0, 1 - y*(w*x + b))", ("w", "b")),
    ("max(q*(y - t), (q - 1)*(y - t))", ("t",)),
    ("(y - t)^2/2", ("t",)),
    ("log(cosh(t - y))", ("t",)),
    ("exp(w*x + b) - y*(w*x + b)", ("w", "b")),
    ("(y - (a*x^2 + b*x + c))^2", ("a", "b", "c")),
    ("(y - sigmoid(w*x + b))^2", ("w", "b")),
    ("(y - tanh(w*x + b))^2", ("w", "b")),
    ("softplus(-y*(w*x + b))", ("w", "b")),
    ("(y - (m*x + b))^2 + lamda*m^2", ("m", "b")),
    ("(y - (m*x + b))^2 + lamda*abs(m)", ("m",)),
    ("-log(sigmoid(y*(w*x + b)))", ("w", "b")),
    ("(y - w1*x1 - w2*x2 - b)^2", ("w1", "w2", "b")),
    ("(x - mu)^2/(2*s^2) + log(s)", ("mu", "s")),
    ("(y - exp(w*x))^2", ("w",)),
    ("(log(1 + y) - log(1 + p))^2", ("p",)),
    ("y*log(y/p)", ("p",)),
    ("(x - a)^2/s^2", ("s", "a")),
    ("-y*log(p) - (1 - y)*log(1 - p) + lamda*p^2", ("p",)),
]

DATA_LOSSES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("(y - (m*x + b))^2", ("m", "b"), ("x", "y")),
    ("-y*log(sigmoid(w*x + b)) - (1 - y)*log(1 - sigmoid(w*x + b))", ("w", "b"), ("x", "y")),
    ("abs(y - (m*x + b))", ("m", "b"), ("x", "y")),
    ("(y - w*x)^2", ("w",), ("x", "y")),
    ("(y - (a*x^2 + b*x + c))^2", ("a", "b", "c"), ("x", "y")),
    ("max(0, 1 - y*(w*x + b))", ("w", "b"), ("x", "y")),
    ("exp(w*x + b) - y*(w*x + b)", ("w", "b"), ("x", "y")),
    ("(y - sigmoid(w*x + b))^2", ("w", "b"), ("x", "y")),
    ("log(cosh(w*x + b - y))", ("w", "b"), ("x", "y")),
    ("(y - w1*x1 - w2*x2 - b)^2", ("w1", "w2", "b"), ("x1", "x2", "y")),
    ("softplus(-y*(w*x + b))", ("w", "b"), ("x", "y")),
    ("(y - exp(w*x))^2", ("w",), ("x", "y")),
]


def corpus() -> list[tuple[str, tuple[str, ...], tuple[str, ...] | None]]:
    """Every entry as ``(expression, variables, data)``: single-variable exercises by ``x``
    (or their one name), the losses by their parameters."""
    out: list[tuple[str, tuple[str, ...], tuple[str, ...] | None]] = []
    for group in (POLYNOMIALS, PRODUCTS, QUOTIENTS, CHAIN, TRIG, INVERSE_TRIG, EXP_LOG,
                  ABS_ROOTS, ACTIVATIONS):
        for text in group:
            out.append((text, _variable(text), None))
    out += [(text, wrt, None) for text, wrt in SAMPLE_LOSSES]
    out += [(text, wrt, data) for text, wrt, data in DATA_LOSSES]
    return out


def _variable(text: str) -> tuple[str, ...]:
    for name in ("x", "t", "w"):
        if name in text.replace("exp", "").replace("max", "").replace("tanh", ""):
            return (name,)
    raise ValueError(text)
