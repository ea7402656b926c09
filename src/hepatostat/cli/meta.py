"""``hepatostat meta …``: effect sizes and pooling from a study table."""

from __future__ import annotations

import click

from .. import meta as _meta
from .common import emit as _emit, format_option


def read_table(*args, **kwargs):
    """:func:`hepatostat.io.read_table`, imported when a command needs the full reader (the light
    CSV path of ``pool``, ``regress`` and ``analyse`` does not: start-up time)."""
    from ..io.read import read_table as read

    return read(*args, **kwargs)


def emit(fmt, *, obj=None, frame=None, text=None, excluded=None, every_format=False):
    """:func:`.common.emit`; with ``--format csv`` (or ``every_format``), studies the output leaves out are
    named on stderr (issue 14: a study dropped for a blank cell vanished from the CSV of effects, loo, ...).
    ``excluded``: those studies, when ``frame`` is not a bound ``to_frame`` of a result that knows them."""
    _emit(fmt, obj=obj, frame=frame, text=text)
    if fmt.lower() != "csv" and not every_format:
        return
    owner = getattr(frame, "__self__", None)  # the result whose to_frame made the CSV
    for part in (owner, *(getattr(owner, a, None) for a in ("effects", "full", "pooled", "overall", "fit"))):
        excluded = excluded or getattr(part, "excluded", None) or getattr(getattr(part, "effects", None), "excluded", None)
    from ..meta.data import exclusion_text

    line = exclusion_text(excluded) if excluded else None
    if line:
        click.echo(f"Excluded (not in the {fmt.upper() if fmt.lower() != 'table' else 'table'}): {line}", err=True)

MEASURE_CHOICE = click.Choice(list(_meta.MEASURES), case_sensitive=False)
METHOD_CHOICE = click.Choice(list(_meta.ALL_METHODS), case_sensitive=False)


def effect_options(f):
    """Options shared by commands that compute effect sizes."""
    opts = [
        click.option("--measure", required=True, type=MEASURE_CHOICE,
                     help="metafor measure code: SMD, MD (continuous); OR, RR, RD, PETO (binary); GEN (given yi and vi or sei)."),
        click.option("--correction", type=click.Choice(["exact", "approx", "none"]), default=None,
                     help="SMD bias correction: exact (metafor), approx (RevMan/Stata), none (Cohen's d). "
                          "Default: from --convention (metafor: exact)."),
        click.option("--vtype", type=click.Choice(["LS", "UB", "REVMAN"], case_sensitive=False), default=None,
                     help="SMD variance: LS (metafor), UB (unbiased), REVMAN (RevMan 5). Default: from --convention (metafor: LS)."),
        click.option("--add", type=float, default=0.5, show_default=True, help="Binary: value added to zero cells."),
        click.option("--to", "to", type=click.Choice(["only0", "all", "if0all", "none"]), default="only0", show_default=True,
                     help="Binary: which 2x2 tables get --add."),
        click.option("--drop00", is_flag=True, help="Binary: leave out studies with no events (or only events) in both arms."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _figure_path(ctx, param, value):
    """--plot: checked before any work (.png, .svg, .pdf or no suffix)."""
    if value is None:
        return None
    from ..meta.plots import check_figure_path
    from .common import check_output_path

    # the folder must be writable and no parent a file (issue 14: a path below a file was an internal error)
    return str(check_output_path(check_figure_path(value), option="--plot"))


CONVENTION_CHOICE = click.Choice(["metafor", "cochrane2025", "revman5", "stata"], case_sensitive=False)


def convention_option(f):
    """--convention: fills --method, --knha, --correction and --vtype when not given (innermost decorator)."""
    import functools

    @functools.wraps(f)
    def wrapper(*args, **kw):
        from ..meta.conventions import get_convention

        conv = get_convention(kw.get("convention") or "metafor")
        kw["convention"] = conv.name
        for key, val in (("method", conv.method), ("knha", conv.knha), ("correction", conv.smd_correction),
                         ("vtype", conv.smd_vtype)):
            if key in kw and kw[key] is None:
                kw[key] = val
        return f(*args, **kw)

    return click.option("--convention", type=CONVENTION_CHOICE, default="metafor", show_default=True,
                        help="Defaults of: metafor (REML, z); cochrane2025 (REML, Hartung-Knapp-Sidik-Jonkman, "
                             "prediction interval); revman5 (DL, z); stata (metan: DL, z). "
                             "Options given explicitly win.")(wrapper)


def _with_convention(obj, convention):
    """Add the convention to a JSON object (a dict or a function returning one)."""
    def make():
        d = obj() if callable(obj) else dict(obj)
        d.setdefault("convention", convention)
        return d
    return make


def _emit_result(fmt, out, kw, **extra):
    """Print a result object (``to_dict``/``to_frame``/``summary``) in the chosen format, with its convention."""
    emit(fmt, obj=_with_convention(out.to_dict, kw.get("convention", "metafor")), frame=out.to_frame,
         text=out.summary, **extra)


def _effect_kwargs(kw):
    return {
        "correction": kw.pop("correction"),
        "vtype": kw.pop("vtype"),
        "add": kw.pop("add"),
        "to": kw.pop("to"),
        "drop00": kw.pop("drop00"),
    }


@click.group(name="meta")
def meta_group():
    """Meta-analysis of study-level data (effect sizes, pooling).

    Input CSV columns: continuous study,m1,sd1,n1,m2,sd2,n2; binary
    study,e1,n1,e2,n2 (arm 1 = treatment); generic study,yi,vi (or sei).
    Extra columns are kept as moderators / grouping variables.
    """


@meta_group.command("effects")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@effect_options
@format_option
def effects_cmd(file, measure, fmt, **kw):
    """Per-study effect sizes (yi) and sampling variances (vi).

    \b
    Example:
      hepatostat meta effects trials.csv --measure SMD --format json
    """
    kw["correction"] = kw["correction"] or "exact"
    kw["vtype"] = kw["vtype"] or "LS"
    es = _meta.effects(read_table(file), measure, source=file, **_effect_kwargs(kw))
    emit(fmt, obj=es.to_dict, frame=es.to_frame, text=es.summary)


@meta_group.command("pool")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@effect_options
@click.option("--method", default=None, type=METHOD_CHOICE,
              help="Default: from --convention (metafor: REML). FE, MH, PETO (fixed effect); DL, REML, ML, PM, SJ, HE, EB (random effects); "
                   "auto: the review's rule (random effects when Q p < 0.10 or I² > 50%).")
@click.option("--knha/--no-knha", default=None, help="Knapp-Hartung adjustment (t tests with k-1 df); default from --convention.")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95, show_default=True,
              help="Confidence level.")
@click.option("--auto-random", type=click.Choice(list(_meta.RE_METHODS), case_sensitive=False), default="DL", show_default=True,
              help="tau² estimator that --method auto uses for random effects (DL as Stata's metan).")
@click.option("--per", "per", default=None, metavar="COL",
              help="Run one independent analysis per value of column COL (e.g. outcome or time point).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, callback=_figure_path,
              help="Write a forest plot (.png, .svg or .pdf; no suffix = PNG and SVG). Not with --per.")
@click.option("--title", default=None, help="Title of the forest plot.")
@format_option
@convention_option
def pool_cmd(file, measure, method, knha, level, auto_random, per, plot_path, title, fmt, **kw):
    """Pool the studies: fixed or random effects, heterogeneity, forest plot.

    \b
    Examples:
      hepatostat meta pool trials.csv --measure SMD --method REML
      hepatostat meta pool trials.csv --measure OR --method MH --format json
      hepatostat meta pool trials.csv --measure SMD --method auto --plot forest.png
      hepatostat meta pool long.csv --measure SMD --method REML --per timepoint --format csv
    """
    eopts = _effect_kwargs(kw)
    if per is None:
        # a plain CSV is read without pandas (start-up time, issue 12); anything unusual goes to read_table
        from ..meta._light import read_light

        data = read_light(file) or read_table(file)
    else:
        if not plot_path and _pool_per_light(file, per, measure, method, knha, level, auto_random, eopts, fmt,
                                             kw["convention"]):
            return
        data = read_table(file)
    if per is not None:
        if plot_path:
            raise click.UsageError("--plot draws one analysis; leave it out with --per")
        res = _meta.pool_per(data, per, measure, method, knha=knha, level=level, source=file,
                             effect_options=eopts, auto_random=auto_random, convention=kw["convention"])
        emit(fmt, obj=res.to_dict, frame=res.to_frame, text=res.summary)
        return
    es = _meta.effects(data, measure, source=file, **eopts)
    res = _meta.pool(es, method, knha=knha, level=level, auto_random=auto_random, convention=kw["convention"])
    if plot_path:
        res.plot(plot_path, title=title)
    emit(fmt, obj=res.to_dict, frame=lambda: _frame_with_excluded(res), text=res.summary)


def _pool_per_light(file, per, measure, method, knha, level, auto_random, eopts, fmt, convention) -> bool:
    """``meta pool --per`` on a plain CSV without pandas (issue 13: the 5,000 analyses spent most of their time
    importing and using pandas); prints what the full path prints and returns True, or returns False when the
    table or the method needs the full path (every message and exclusion stays that path's)."""
    import gc
    import sys

    from ..meta._light import PER_MAX_BYTES, per_csv, per_result, read_light, split_per

    # hundreds of thousands of cells and thousands of small results: the cyclic garbage collector would
    # walk them again and again while they are built (nothing here needs it)
    gc.disable()
    try:
        split = split_per(read_light(file, max_bytes=PER_MAX_BYTES), per, measure, eopts, file)
        if split is None:
            return False
        if fmt.lower() == "csv":
            text = per_csv(split, method, knha, level, auto_random, convention)
            if text is None:
                return False
            sys.stdout.write(text)
            return True
        res = per_result(split, method, knha, level, auto_random, convention)
        if res is None:
            return False
        emit(fmt, obj=res.to_dict, frame=res.to_frame, text=res.summary)
        return True
    finally:
        gc.enable()


def _frame_with_excluded(res):
    """The CSV of ``meta pool``: studies, the pooled row, then one row per study left out, with its row and
    reason in ``excluded`` (issue 14: a study dropped for a blank cell vanished from the CSV)."""
    import pandas as pd

    f = res.to_frame()
    if not res.excluded:
        return f
    gone = pd.DataFrame({"study": [e.study for e in res.excluded],
                         "excluded": [f"row {e.row}: {e.reason}" if e.row is not None else e.reason
                                      for e in res.excluded]})
    return pd.concat([f.assign(excluded=None), gone], ignore_index=True)


def _pooled(file, measure, method, knha, level, kw, auto_random="DL"):
    """Read, compute effects and pool: the first steps every analysis shares."""
    data = read_table(file)
    es = _meta.effects(data, measure, source=file, **_effect_kwargs(kw))
    return es, _meta.pool(es, method, knha=knha, level=level, auto_random=auto_random,
                          convention=kw.get("convention", "metafor"))


def model_options(f):
    """--method, --knha, --level for commands that refit a model."""
    f = click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
                     show_default=True, help="Confidence level.")(f)
    f = click.option("--knha/--no-knha", default=None, help="Knapp-Hartung adjustment (t tests); default from --convention.")(f)
    f = click.option("--method", default=None, type=METHOD_CHOICE,
                     help="FE, MH, PETO, or a tau² estimator (DL, REML, ML, PM, SJ, HE, EB); "
                          "default from --convention (metafor: REML).")(f)
    return f


@meta_group.command("bias")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@effect_options
@model_options
@click.option("--estimator", type=click.Choice(["L0", "R0"]), default="L0", show_default=True,
              help="Trim-and-fill estimator of the number of missing studies.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, callback=_figure_path,
              help="Write a contour-enhanced funnel plot (with trim-and-fill studies).")
@format_option
@convention_option
def bias_cmd(file, measure, method, knha, level, estimator, plot_path, fmt, **kw):
    """Publication bias: Egger's regression test, Begg's rank correlation test, trim-and-fill.

    A note warns when there are fewer than 10 studies (Sterne et al. 2011).

    \b
    Example:
      hepatostat meta bias trials.csv --measure SMD --method REML --plot funnel.png
    """
    from ..meta.bias import publication_bias

    _, res = _pooled(file, measure, method, knha, level, kw)
    out = publication_bias(res, estimator=estimator)
    if plot_path:
        out.plot(plot_path)
    _emit_result(fmt, out, kw)


@meta_group.command("loo")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@effect_options
@model_options
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, callback=_figure_path,
              help="Write a leave-one-out forest plot.")
@format_option
@convention_option
def loo_cmd(file, measure, method, knha, level, plot_path, fmt, **kw):
    """Leave-one-out sensitivity analysis: the model refitted without each study.

    Says in plain words when omitting one study brings I² to 50% or below,
    or changes the significance of the pooled effect.

    \b
    Example:
      hepatostat meta loo trials.csv --measure SMD --method REML --plot loo.png
    """
    from ..meta.sensitivity import leave_one_out

    _, res = _pooled(file, measure, method, knha, level, kw)
    out = leave_one_out(res)
    if plot_path:
        out.plot(plot_path)
    _emit_result(fmt, out, kw)


@meta_group.command("influence")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@effect_options
@model_options
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, callback=_figure_path, help="Write a Baujat plot.")
@format_option
@convention_option
def influence_cmd(file, measure, method, knha, level, plot_path, fmt, **kw):
    """Influence diagnostics: studentized residuals, DFFITS, Cook's distance, hat values, covariance ratios.

    \b
    Example:
      hepatostat meta influence trials.csv --measure OR --method REML --plot baujat.png
    """
    from ..meta.plots import baujat_plot
    from ..meta.sensitivity import baujat, influence

    _, res = _pooled(file, measure, method, knha, level, kw)
    out = influence(res)
    if plot_path:
        baujat_plot(baujat(res), plot_path)
    _emit_result(fmt, out, kw, excluded=res.excluded, every_format=True)  # influence's outputs do not list them


@meta_group.command("subgroup")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@effect_options
@model_options
@click.option("--by", required=True, metavar="COL", help="Subgroup column.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, callback=_figure_path, help="Write a subgroup forest plot.")
@format_option
@convention_option
def subgroup_cmd(file, measure, method, knha, level, by, plot_path, fmt, **kw):
    """Subgroup analysis: pooled estimate per subgroup (separate tau²) and the test for subgroup differences.

    The common-tau² alternative (meta-regression on the subgroup factor) is reported beside it.

    \b
    Example:
      hepatostat meta subgroup trials.csv --measure SMD --method REML --by disease
    """
    from ..meta.subgroup import subgroup_analysis

    data = read_table(file)
    es = _meta.effects(data, measure, source=file, **_effect_kwargs(kw))
    out = subgroup_analysis(es, by, method, knha=knha, level=level)
    if plot_path:
        out.plot(plot_path)
    _emit_result(fmt, out, kw)


@meta_group.command("regress")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@effect_options
@model_options
@click.option("--mods", required=True, metavar="A,B | '~ FORMULA'",
              help="Moderator columns, comma-separated, or an R-style formula such as "
                   "'~ ablat + factor(alloc)' or '~ ablat * factor(alloc)' (interactions).")
@click.option("--factors", default="", metavar="A,B", help="Numeric moderators to treat as categorical (column list only).")
@click.option("--predict", "predict", multiple=True, metavar="COL=V,COL=V",
              help="Predicted effect at these moderator values (repeat for more points).")
@click.option("--permutations", type=click.IntRange(min=0), default=0, show_default=True,
              help="Permutation test with this many iterations (0 = none).")
@click.option("--seed", type=int, default=None, help="Random seed for the permutation test (>= 0).")
@format_option
@convention_option
def regress_cmd(file, measure, method, knha, level, mods, factors, predict, permutations, seed, fmt, **kw):
    """Meta-regression on moderators: coefficients, QM, QE, R², tau² CI, predictions, permutation test.

    Text columns are dummy-coded (first level in sorted order as reference).

    \b
    Examples:
      hepatostat meta regress trials.csv --measure RR --method REML --mods ablat,year
      hepatostat meta regress trials.csv --measure RR --mods "~ ablat * factor(alloc)" --predict ablat=10,alloc=random
      hepatostat meta regress trials.csv --measure RR --mods ablat --knha --permutations 1000 --seed 1
    """
    from ..errors import InputError
    from ..meta.regression import meta_regression, permutation_test

    if seed is not None and seed < 0:
        raise InputError(f"the random seed (--seed) must be a whole number >= 0, got {seed}")
    # a plain CSV with numeric moderator columns is read without pandas (start-up time, issue 13 item 5);
    # anything else (and --predict) takes the full path, whose messages and exclusions stay as they were
    from ..meta._light import ColumnFrame, read_light, regression_design

    table = None if predict else read_light(file)
    data = table if table is not None else read_table(file)
    es = _meta.effects(data, measure, source=file, **_effect_kwargs(kw))
    if str(method).upper() in ("MH", "PETO", "AUTO"):
        raise click.UsageError("meta-regression needs FE or a tau² estimator (DL, REML, ML, PM, SJ, HE, EB)")
    if mods.strip().startswith("~"):
        if factors:
            raise click.UsageError("with a formula, write factor(col) in --mods instead of --factors")
        mod_spec = mods.strip()
    else:
        mod_spec = [m.strip() for m in mods.split(",") if m.strip()]
    fac_list = [m.strip() for m in factors.split(",") if m.strip()]
    design = regression_design(table, es, mod_spec, fac_list)
    out = meta_regression(es, mod_spec, method=method, knha=knha, level=level, categorical=fac_list, design=design)
    obj = out.to_dict()
    text = out.summary()
    frame = ColumnFrame(out._columns())
    if predict:
        import pandas as pd

        points = [_parse_point(p, data) for p in predict]
        pred = out.predict(pd.DataFrame(points))
        obj["predictions"] = pred.to_dict(orient="records")
        from ..io.format import table_text

        kinds = {"pred": "estimate", "se": "se", **{c: "ci" for c in ("ci_low", "ci_high", "pi_low", "pi_high")}}
        text += "\nPredictions:\n" + table_text(pred, kinds)
    if permutations:
        perm = permutation_test(out, iterations=permutations, seed=seed)
        obj["permutation"] = perm.to_dict()
        text += "\n" + perm.summary()
        frame = ColumnFrame(perm._columns())
    obj.setdefault("convention", kw.get("convention", "metafor"))
    emit(fmt, obj=obj, frame=frame, text=text, excluded=es.excluded)


def _parse_point(spec: str, data) -> dict:
    """'ablat=10,alloc=random' -> {'ablat': 10.0, 'alloc': 'random'} (numbers where the column is numeric)."""
    from ..errors import InputError

    point = {}
    for part in spec.split(","):
        if "=" not in part:
            raise InputError(f"--predict needs COL=VALUE pairs separated by commas, got {spec!r}", value=spec)
        col, val = (x.strip() for x in part.split("=", 1))
        if col not in data.columns:
            raise InputError(f"--predict names column '{col}', which the data lack; columns are "
                             f"{', '.join(map(str, data.columns))}", column=col)
        if data[col].dtype.kind in "if":
            try:
                point[col] = float(val)
            except ValueError:
                raise InputError(f"--predict: '{col}' is numeric, got {val!r}", column=col, value=val) from None
        else:
            point[col] = val
    return point


@meta_group.command("cumul")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@effect_options
@model_options
@click.option("--order", default=None, metavar="COL", help="Add studies in the order of this column (e.g. year).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None, callback=_figure_path,
              help="Write a cumulative forest plot.")
@format_option
@convention_option
def cumul_cmd(file, measure, method, knha, level, order, plot_path, fmt, **kw):
    """Cumulative meta-analysis: the pooled estimate as each study is added (metafor cumul()).

    \b
    Example:
      hepatostat meta cumul trials.csv --measure RR --method REML --order year --plot cumul.png
    """
    from ..meta.sensitivity import cumulative

    _, res = _pooled(file, measure, method, knha, level, kw)
    out = cumulative(res, order=order)
    if plot_path:
        out.plot(plot_path)
    _emit_result(fmt, out, kw)


@meta_group.command("analyse")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@effect_options
@model_options
@click.option("--by", "by", multiple=True, metavar="COL", help="Subgroup analysis by COL (repeat for more).")
@click.option("--mods", default=None, metavar="A,B | '~ FORMULA'", help="Meta-regression moderators.")
@click.option("--cumul", "cumul", default=None, metavar="COL|input",
              help="Cumulative meta-analysis, studies ordered by COL ('input' = file order).")
@click.option("--influence", is_flag=True, help="Also influence diagnostics.")
@click.option("--no-loo", is_flag=True, help="Leave out the leave-one-out analysis.")
@click.option("--no-bias", is_flag=True, help="Leave out the publication-bias tests.")
@format_option
@convention_option
def analyse_cmd(file, measure, method, knha, level, by, mods, cumul, influence, no_loo, no_bias, fmt, **kw):
    """Everything at once: pool, subgroups, leave-one-out, bias, regression (hepatostat.meta.analyse).

    A step that cannot be estimated is listed under 'skipped' with its reason; the others still run.

    \b
    Example:
      hepatostat meta analyse trials.csv --measure RR --by alloc --mods "~ ablat" --cumul year --format json
    """
    convention = kw.pop("convention")
    eopts = _effect_kwargs(kw)
    regression = None
    if mods:
        regression = mods.strip() if mods.strip().startswith("~") else tuple(m.strip() for m in mods.split(",") if m.strip())
    spec = _meta.AnalysisSpec(measure=measure, method=method, knha=knha, level=level, convention=convention,
                              subgroups=tuple(by), regression=regression, leave_one_out=not no_loo, bias=not no_bias,
                              influence=influence, cumulative=(True if cumul == "input" else cumul),
                              effect_options=tuple(eopts.items()))
    # a plain CSV is read without pandas (issue 13 item 5); a step that needs the table's other columns
    # (subgroups, moderators, an order) builds the pandas frame from the file then, as the full path reads it
    from ..meta._light import read_light

    table = read_light(file)
    out = _meta.analyse(table if table is not None else read_table(file), spec, source=file)
    emit(fmt, obj=out.to_dict, frame=out.pooled._column_frame if table is not None else out.pooled.to_frame,
         text=out.summary)


@meta_group.command("outcomes")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--measure", type=MEASURE_CHOICE, default=None,
              help="Measure for all rows (else a 'measure' column gives one per outcome).")
@click.option("--method", default="auto", show_default=True, type=METHOD_CHOICE,
              help="Pooling method; auto = the review's rule (random effects when Q p < 0.10 or I² > 50%).")
@click.option("--knha", is_flag=True, help="Knapp-Hartung adjustment.")
@click.option("--outcome-col", default="outcome", show_default=True, help="Column naming the outcome.")
@click.option("--time-col", default="timepoint", show_default=True, help="Column naming the time point.")
@click.option("--baseline", default=None, help="Baseline time-point label (default: baseline, W0, 0, pre).")
@click.option("--auto-random", type=click.Choice(list(_meta.RE_METHODS), case_sensitive=False), default="DL",
              show_default=True, help="tau² estimator used by --method auto.")
@format_option
def outcomes_cmd(file, measure, method, knha, outcome_col, time_col, baseline, auto_random, fmt):
    """Pool every outcome × time point of a long table, with the baseline check.

    Later time points of an outcome whose groups already differed at
    baseline are flagged "not comparable at baseline", as the review reasoned.

    \b
    Example:
      hepatostat meta outcomes extraction.csv --measure SMD --method auto
    """
    from ..meta.outcomes import outcome_table

    out = outcome_table(read_table(file), measure, method, outcome=outcome_col, timepoint=time_col,
                        baseline=baseline, knha=knha, auto_random=auto_random, source=file)
    emit(fmt, obj=out.to_dict, frame=out.to_frame, text=out.summary)


@meta_group.command("check-reported")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@format_option
def check_reported_cmd(file, fmt):
    """Check reported estimates, CIs and p-values for contradictions.

    Columns: label, measure (SMD, MD, RD, OR, RR, HR), estimate, ci_low,
    ci_high, and optionally p (e.g. 0.023, <0.001) and level. Flags an
    estimate outside its CI, a CI not symmetric on the analysis scale, and a
    p-value the CI cannot give, allowing for rounding.

    \b
    Example:
      hepatostat meta check-reported reported.csv
    """
    import pandas as pd

    from ..errors import InputError
    from ..meta.check import check_reported

    if str(file) != "-" and not str(file).lower().endswith((".csv", ".tsv", ".txt")):
        raise InputError("check-reported reads CSV/TSV (numbers are kept as printed)", file=file)
    sep = "\t" if str(file).lower().endswith((".tsv", ".txt")) else ","
    try:
        data = pd.read_csv(file if file != "-" else click.get_text_stream("stdin"), dtype=str, sep=sep)
    except FileNotFoundError:
        raise InputError("file not found", file=file) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty; expected a table with a header row", file=file) from None
    out = check_reported(data, source=file)
    emit(fmt, obj=out.to_dict, frame=out.to_frame, text=out.summary)


@meta_group.command("check-extraction")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--integer", "integer", default="", metavar="OUTCOME[,OUTCOME]",
              help="Outcomes whose patient values are whole numbers (e.g. MELD): GRIM and GRIMMER run on these.")
@format_option
def check_extraction_cmd(file, integer, fmt):
    """Check extracted numbers before pooling; one flag per problem found.

    FILE is the long extraction table of `meta outcomes` (study, outcome,
    timepoint, m1, sd1, n1, m2, sd2, n2) with optional med1, q1_1, q3_1,
    min1, max1 (and …2), p_reported and unit. Checks: grim, grimmer,
    sd_range, order, mean_range, p_recompute, se_as_sd, unit_scale,
    n_change, skew. Numbers are judged as printed (CSV/TSV cells are read as
    text, so 5.10 keeps its two decimals); row = spreadsheet row (header = 1).

    \b
    Examples:
      hepatostat meta check-extraction extraction.csv --integer MELD
      hepatostat meta check-extraction extraction.csv --integer MELD,CTP --format json
    """
    from ..meta.extraction_checks import check_extraction

    data = _read_as_printed(file)
    outcomes = [o.strip() for o in integer.split(",") if o.strip()]
    out = check_extraction(data, integer_outcomes=outcomes, source=file)
    emit(fmt, obj=out.to_dict, frame=out.to_frame, text=out.summary)


def _read_as_printed(file):
    """A CSV/TSV table with every cell as text (decimals kept as printed); other formats via read_table."""
    import pandas as pd

    from ..errors import InputError

    name = str(file).lower()
    if name != "-" and not name.endswith((".csv", ".tsv", ".txt")):
        return read_table(file)
    sep = "\t" if name.endswith((".tsv", ".txt")) else ","
    try:
        data = pd.read_csv(file if file != "-" else click.get_text_stream("stdin"), dtype=str, sep=sep,
                           skipinitialspace=True, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise InputError("file not found", file=file) from None
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty; expected a table with a header row", file=file) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot parse the file: {str(exc).splitlines()[0]}", file=file) from None
    data.columns = [str(c).strip() for c in data.columns]
    return data
