"""Elementary statistical tests with SPSS's and R's conventions.

Thin, documented wrappers of ``scipy.stats`` (and statsmodels for
multiplicity) used by the cohort tables. Every function returns a
:class:`TestResult` that names the test, and handles degenerate but legal
input (all values equal, too few values) with a NaN P value and a note
instead of an exception or a warning. What scipy cannot do in R's form
lives in :mod:`hepatostat.stats.exact` (exact rank-sum and signed-rank
distributions, Fisher's exact test for r x c tables).

=====================  ==========================================  =========================
function               computes with                                R equivalent
=====================  ==========================================  =========================
shapiro_wilk           scipy.stats.shapiro                         shapiro.test
student_t, welch_t     scipy.stats.ttest_ind                       t.test(var.equal = T/F)
anova, welch_anova     scipy.stats.f_oneway(equal_var=T/F)         oneway.test
mann_whitney           scipy.stats.mannwhitneyu / exact.py         wilcox.test
kruskal_wallis         scipy.stats.kruskal                         kruskal.test
signed_rank            scipy.stats.wilcoxon / exact.py             wilcox.test(paired = TRUE)
chi_square             scipy.stats.chi2_contingency                chisq.test(correct = FALSE)
fisher_exact           scipy.stats.fisher_exact (2x2) / exact.py   fisher.test
quantile               numpy.quantile(method=...)                  quantile(type = 1..9)
adjust_pvalues         statsmodels multipletests                   p.adjust
=====================  ==========================================  =========================
"""

from .base import TestResult, finite_array, float_or_none, format_p, p_text, tie_term
from .contingency import FISHER_MAX_NODES, chi_square, contingency_table, fisher_exact, min_expected
from .exact import fisher_rxc_exact, ranksum_counts, signrank_counts, two_sided_exact
from .multiplicity import ADJUST_METHODS, adjust_pvalues
from .normality import SW_MAX, SW_MIN, shapiro_wilk
from .parametric import anova, student_t, welch_anova, welch_t
from .quantiles import QUARTILE_NAMES, quantile, quartile_type
from .rank import EXACT_MAX_PAIRS, kruskal_wallis, mann_whitney, signed_rank
from .smd import standardized_difference, standardized_difference_categorical

__all__ = [
    "TestResult", "finite_array", "float_or_none", "format_p", "p_text", "tie_term",
    "chi_square", "contingency_table", "fisher_exact", "min_expected", "FISHER_MAX_NODES",
    "fisher_rxc_exact", "ranksum_counts", "signrank_counts", "two_sided_exact",
    "ADJUST_METHODS", "adjust_pvalues",
    "shapiro_wilk", "SW_MIN", "SW_MAX",
    "student_t", "welch_t", "anova", "welch_anova",
    "quantile", "quartile_type", "QUARTILE_NAMES",
    "mann_whitney", "kruskal_wallis", "signed_rank", "EXACT_MAX_PAIRS",
    "standardized_difference", "standardized_difference_categorical",
]
