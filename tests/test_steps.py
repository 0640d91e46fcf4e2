"""The step engine: rule choice, tree shape, shared sub-derivations, and the verifier."""

from __future__ import annotations

import pytest
import sympy

from calculus_ml import derive
from calculus_ml.errors import BudgetError, ExpressionError, VerificationError
from calculus_ml.functions import sigmoid, softplus
from calculus_ml.parsing import parse_expression
from calculus_ml.steps import rules as r
from calculus_ml.steps.engine import build_steps
from calculus_ml.steps.verify import (
    check_step,
    concretize_sums,
    equal_numerically,
    real_value,
    verify_tree,
)
from conftest import assert_every_step_true, distinct_steps, numeric_agreement

x, y, u, m, c = sympy.symbols("x y u m c", real=True)
i, n = sympy.symbols("i n", integer=True, positive=True)
X, Y = sympy.IndexedBase("x", real=True), sympy.IndexedBase("y", real=True)

BROAD = [
    # polynomials
    "7", "x", "4*x + 15", "3*x**2 - 11", "4*x**3 - x**2 + 3*x", "3*x**5", "x**-2 + 1/x",
    "(x + 1)*(x - 2)*(x + 3)", "(0.5*x + 3)**2", "(3*x**2 + 10*x)**3", "4*x**2*y + 3*x + y",
    # products and quotients
    "x**2*sin(x)", "x*exp(x)*log(x)", "x/(x + 1)", "sin(x)/x", "exp(x)/x**2",
    "(x**2 + 1)/(x - 1)**2", "x**2/(x**2 + 1)**3", "x*y*sin(x*y)",
    # nested chains
    "sin(cos(tan(x)))", "exp(sin(x**2))", "log(1 + exp(-2*x))", "sqrt(1 + sqrt(x))",
    "(1 + (1 + x**2)**3)**2",
    # exp / log
    "exp(x)", "exp(-x**2/2)", "2**x", "3**(x**2)", "log(x)", "log(x**2 + 1)", "log(x, 2)",
    "log10(x)", "ln(x - 1)",
    # trig, inverse trig, hyperbolic
    "sin(x)", "cos(3*x)", "tan(x)**2", "sec(x)", "csc(x)", "cot(x)", "asin(x/2)", "acos(x)",
    "atan(x**2)",
    "sinh(x)*cosh(x)", "tanh(x**2)", "asinh(x)", "acosh(2*x)", "atanh(x/2)",
    # roots
    "sqrt(x)", "cbrt(x)", "x**(2/3)", "1/sqrt(x)", "sqrt(1 - x**2)",
    # kinks
    "abs(x)", "abs(x**2 - 1)", "abs(log(x))", "max(x, 0)", "relu(3*x - 1)", "max(x, x**2)",
    "min(x, 2*x + 1)", "max(x, y, 0)", "sign(x)*x", "abs(sin(x))*x",
    # general power
    "x**x", "x**sin(x)", "(x**2 + 1)**x", "x**(2**x)",
    # machine-learning functions
    "sigmoid(x)", "softplus(2*x)", "log(sigmoid(3*x + 1))", "sigmoid(x)**2 * softplus(-x)",
]  # fmt: skip


def steps_of(text: str, var: sympy.Symbol = x) -> r.Step:
    return build_steps(parse_expression(text), var)


@pytest.mark.parametrize("text", BROAD)
def test_every_node_is_true(text):
    root = steps_of(text)
    assert_every_step_true(root)
    assert verify_tree(root, symbolic=True)  # the verifier agrees, node by node
    if not root.expr.has(sympy.Abs, sympy.Max, sympy.Min, sympy.sign):
        assert sympy.simplify(root.result - sympy.diff(root.expr, x)) == 0


@pytest.mark.parametrize("text", BROAD)
def test_every_node_speaks_plainly(text):
    for step in distinct_steps(steps_of(text)):
        assert step.rule in {rule.rule for rule in r.RULES}
        sentence = step.explanation
        assert sentence.endswith(".") and "\n" not in sentence and sentence[0].isupper()
        assert step.formula.startswith("d/d")


@pytest.mark.parametrize(
    "text, rule",
    [
        ("7", "constant"),
        ("y", "constant"),
        ("x", "variable"),
        ("5*x", "constant_multiple"),
        ("x + 1", "sum"),
        ("x**5", "power"),
        ("1/x", "power"),
        ("x*sin(x)", "product"),
        ("sin(x)/x", "quotient"),
        ("sin(2*x)", "chain"),
        ("exp(x)", "exp"),
        ("2**x", "exp"),
        ("log(x)", "log"),
        ("tan(x)", "trig"),
        ("atan(x)", "inverse_trig"),
        ("tanh(x)", "hyperbolic"),
        ("abs(x)", "abs"),
        ("sigmoid(x)", "sigmoid"),
        ("softplus(x)", "softplus"),
        ("x**x", "general_power"),
        ("sqrt(x)", "rewrite"),
        ("max(x, 0)", "rewrite"),
        ("sign(x)", "rewrite"),
    ],
)
def test_rule_chosen(text, rule):
    assert steps_of(text).rule == rule


def test_kinks_are_pieces_under_a_rewrite():
    for text in ("max(x, 0)", "min(x, y)", "relu(x)", "sign(x)"):
        root = steps_of(text)
        assert isinstance(root, r.RewriteRule) and isinstance(root.substep, r.PiecewiseRule)
        assert root.rewritten.has(sympy.Piecewise)


def test_unknown_only_outside_the_vocabulary():
    names = [
        "exp", "log", "ln", "log2", "log10", "sqrt", "cbrt", "sin", "cos", "tan", "sec", "csc",
        "cot",
        "asin", "acos", "atan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "asinh",
        "acosh", "atanh", "abs", "sign", "relu", "sigmoid", "softplus",
    ]  # fmt: skip
    for name in names:
        rules = {s.rule for s in steps_of(f"{name}(2*x + 1)").walk()}
        assert "unknown" not in rules, name
    for name in ("max", "min"):
        assert "unknown" not in {s.rule for s in steps_of(f"{name}(x, 2*x + 1)").walk()}
    outside = build_steps(sympy.gamma(x**2), x)
    assert [s.rule for s in outside.walk()] == ["chain", "unknown", "power"]
    assert_every_step_true(outside)


def test_every_rule_id_exists():
    ids = {rule.rule for rule in r.RULES}
    assert ids >= {
        "constant", "variable", "constant_multiple", "sum", "power", "product", "quotient", "chain",
        "exp", "log", "trig", "inverse_trig", "hyperbolic", "abs", "piecewise", "general_power",
        "rewrite", "sum_over_data", "simplify", "unknown", "sigmoid", "softplus",
    }  # fmt: skip
    assert len(ids) == len(r.RULES)


def test_chain_rule_shows_u_outer_inner_and_product():
    root = steps_of("(0.5*x + 3)**2")
    assert isinstance(root, r.ChainRule)
    assert root.inner == x / 2 + 3
    assert root.u not in root.expr.free_symbols
    assert root.outer.var == root.u and root.outer.expr == root.u**2 and root.outer.rule == "power"
    assert root.inner_step.expr == root.inner and root.inner_step.var == x
    assert root.outer_at_inner.has(root.inner)  # 2 (x/2 + 3): f'(u) at u = inner, unexpanded
    assert sympy.expand(root.outer_at_inner - 2 * root.inner) == 0
    assert root.result == root.outer_at_inner * root.inner_step.result
    assert sympy.expand(root.result - sympy.diff(root.expr, x)) == 0
    assert f"{root.u}" in root.explanation


def test_chain_symbol_avoids_the_expressions_names():
    root = build_steps(sympy.sin(u * x**2), x)
    chain = next(s for s in root.walk() if isinstance(s, r.ChainRule))
    assert chain.u.name != "u"
    nested = steps_of("sin(cos(tan(x**2)))")
    names = [s.u.name for s in nested.walk() if isinstance(s, r.ChainRule)]
    assert len(names) == len(set(names)) == 3  # nested chains each get their own letter


def test_identical_sub_derivations_are_shared():
    root = steps_of("sin(x**2) + cos(x**2)")
    chains = [t for t in root.terms]
    assert all(isinstance(c, r.ChainRule) for c in chains)
    assert chains[0].inner_step is chains[1].inner_step  # x**2 derived once
    squares = [s for s in root.walk() if s.expr == x**2]
    assert len(squares) == 2 and len({id(s) for s in squares}) == 1
    assert_every_step_true(root)


def test_partial_derivative_explains_what_is_held_constant():
    expr = parse_expression("4*x**2*y + 3*x + y")
    for var, other in ((x, "y"), (y, "x")):
        sentences = [s.explanation for s in build_steps(expr, var).walk()]
        assert any(f"{other} is held constant" in s for s in sentences), sentences
    assert all("held constant" not in s.explanation for s in steps_of("x**2 + 1").walk())


def test_constant_multiple_keeps_the_factor():
    root = steps_of("4*x**2*y")
    assert isinstance(root, r.ConstantMultipleRule)
    assert root.constant == 4 * y and root.other == x**2 and root.substep.rule == "power"


@pytest.mark.parametrize("text", ["log(lam)", "sigmoid(lam)", "softplus(lam)"])
def test_a_table_rule_names_its_variable_as_every_sentence_does(text):
    step = derive(text, "lam")["lam"]
    assert "λ" in step.explanation and "lam" not in step.explanation, step.explanation


def test_sum_over_data_step():
    total = sympy.Sum((Y[i] - (m * X[i] + c)) ** 2, (i, 1, n))
    root = build_steps(total / n, c)
    assert [s.rule for s in root.walk()][:3] == ["constant_multiple", "sum_over_data", "chain"]
    assert root.constant == 1 / n
    assert "c is" not in root.explanation  # the data and m are held constant, c is not
    assert "m, " in root.explanation and "xᵢ" in root.explanation
    assert_every_step_true(root)


# -- the verifier ------------------------------------------------------------------------------


def test_check_step_catches_a_wrong_rule():
    wrong = r.PowerRule(x**3, x, exponent=sympy.Integer(2))  # 2x, not 3x**2
    with pytest.raises(VerificationError, match="power step"):
        check_step(wrong)
    with pytest.raises(VerificationError):
        check_step(wrong, symbolic=True)


def test_a_proved_claim_does_not_vouch_for_another_result():
    right = r.PowerRule(x**3, x, exponent=sympy.Integer(3))
    assert check_step(right) == "symbolic"
    assert check_step(r.PowerRule(x**3, x, exponent=sympy.Integer(3))) == "symbolic"
    wrong = r.PowerRule(x**3, x, exponent=sympy.Integer(2))  # the same expression and variable
    with pytest.raises(VerificationError, match="power step"):
        check_step(wrong)


def test_check_step_catches_a_wrong_kinked_step():
    right = r.AbsRule(sympy.Abs(x), x)
    assert check_step(right) == "symbolic"
    wrong = r.SimplifyRule(sympy.Abs(x), x, simplified=-sympy.sign(x), substep=right)
    with pytest.raises(VerificationError, match="disagrees"):
        check_step(wrong)
    relu = steps_of("max(x, 0)")
    assert check_step(relu) == "numeric"  # Piecewise against Heaviside: equal off the kink


def test_check_step_catches_a_wrong_sum_over_data():
    total = sympy.Sum(m * X[i] ** 2, (i, 1, n))
    short = sympy.Sum(X[i] ** 2, (i, 1, n - 1))
    wrong = r.SimplifyRule(total, m, simplified=short, substep=build_steps(total, m))
    with pytest.raises(VerificationError):
        check_step(wrong)
    assert check_step(build_steps(total, m), symbolic=True) == "symbolic"


def test_check_step_proves_sigmoid_identities_symbolically():
    for text in ("sigmoid(x)", "softplus(x)", "log(sigmoid(2*x + 1))", "log(1 - sigmoid(x*y))"):
        for step in distinct_steps(steps_of(text)):
            assert check_step(step, symbolic=True) == "symbolic"


def test_verify_tree_counts_each_shared_node_once():
    root = steps_of("sin(x**2) + cos(x**2)")
    counts = verify_tree(root)
    assert sum(counts.values()) == len(list(distinct_steps(root))) < len(list(root.walk()))


def test_concretize_sums_agrees_with_doit():
    expr = 2 * sympy.Sum(X[i] * (m * X[i] - Y[i]), (i, 1, n)) / n + m**2
    for k in (1, 3, 5):
        assert sympy.expand(concretize_sums(expr, k) - expr.subs(n, k).doit()) == 0


def test_numeric_equality_is_real_valued():
    assert equal_numerically(sympy.sin(x) ** 2 + sympy.cos(x) ** 2, sympy.Integer(1))
    assert not equal_numerically(sympy.sin(x), sympy.cos(x))
    assert equal_numerically(sympy.log(x - 1), sympy.log(x - 1))  # real only for x > 1
    assert real_value(sympy.log(x), {x: -1.0}) is None
    assert real_value(sympy.sqrt(x), {x: -4.0}) is None
    assert real_value(sympy.Max(x, y) + sympy.Abs(x), {x: -2.0, y: 1.0}) == 3.0
    assert real_value(sympy.Piecewise((x, x > 0), (-x, True)), {x: -2.0}) == 2.0
    assert real_value(1 / x, {x: 0.0}) is None
    assert real_value(sympy.I * x, {x: 1.0}) is None
    assert real_value((sympy.log(2) + sympy.I * sympy.pi) * sympy.Heaviside(x), {x: -1.0}) == 0.0


def test_a_step_sympy_cannot_differentiate_is_not_passed():
    root = steps_of("sign(1/x)")  # SymPy leaves d/dx sign(1/x) unevaluated
    assert root.result == 0
    with pytest.raises(VerificationError, match="no oracle"):
        check_step(root)


def test_numeric_oracle_of_the_tests_catches_errors():
    wrong = r.PowerRule(x**3, x, exponent=sympy.Integer(2))
    with pytest.raises(AssertionError, match="differ"):
        numeric_agreement(wrong)


def test_ml_functions_are_derived_by_their_own_rules():
    root = build_steps(sigmoid(x) * softplus(x), x)
    assert {s.rule for s in root.walk()} == {"product", "sigmoid", "softplus"}
    assert_every_step_true(root)


def test_size_estimates_bound_the_expansion_without_doing_it():
    from calculus_ml.symbolic import MAX_TERMS, expanded_size, within_terms

    for text in ("(x + y + 1)**7", "(x + 1)**3*(y - 2)**4 + (x - y)**5", "1/(x + y)**4 + x"):
        expr = parse_expression(text)
        assert len(sympy.Add.make_args(sympy.expand(expr))) <= expanded_size(expr)
    assert expanded_size(parse_expression("(a+b+c+d+e1+f+g+h+x)**100")) > 10**11
    assert within_terms(parse_expression("(y - (m*x + b))**2"))
    assert not within_terms(parse_expression("(x + y + 1)**100")) and MAX_TERMS < 5151


def test_a_zero_test_too_large_to_try_proves_nothing():
    from calculus_ml.steps.zero import vanishes

    assert vanishes(parse_expression("(x + a)**2 - x**2 - 2*a*x - a**2"))
    assert vanishes(parse_expression("(x+a+b+c+d+f+g)**100 - (x+a+b+c+d+f)**100")) is None


def test_a_max_of_many_arguments_is_over_budget():
    with pytest.raises(BudgetError, match="at most 5 arguments"):
        build_steps(parse_expression("max(x, a, b, c, d, f)"), x)


def test_the_sign_of_a_non_real_value_is_an_expression_error():
    with pytest.raises(ExpressionError, match="not real"):
        build_steps(parse_expression("sign(log(min(tan(3), tan(x))))"), x)


@pytest.mark.slow
def test_pieces_whose_regions_multiply_over_the_data_are_over_budget():
    from calculus_ml.symbolic import over_data

    p = sympy.Symbol("p", real=True)
    one = over_data(parse_expression("max(p*x, a, b, c) + max(p*x, d, f, g)"), [x])
    assert_every_step_true(build_steps(one, p))
    two = over_data(parse_expression("max(p*x, a, b, c, d) + max(p*x, f, g, h, k)"), [x])
    with pytest.raises(BudgetError, match="regions multiply"):
        build_steps(two, p)
