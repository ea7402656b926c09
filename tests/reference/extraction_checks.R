# Reference p values of Student's and Welch's two-sample t tests from summary statistics, for
# hepatostat.meta.extraction_checks.p_range (the p_recompute check).
# Run: cd tests/reference && Rscript extraction_checks.R   (writes extraction_checks.json)
# The t statistics and the Welch-Satterthwaite df are the textbook formulas; p = 2 * pt(-|t|, df),
# which is what stats::t.test computes from raw data (checked below on simulated raw data).
library(jsonlite)
cases <- list(
  c(20.7, 4.1, 43, 23.0, 5.2, 48),
  c(21.92, 4.7, 30, 21.5, 5.0, 30),
  c(16.0, 5.3, 10, 17.9, 5.1, 12),
  c(30.3, 1.4, 8, 24.4, 5.2, 25),
  c(196.7, 88.9, 43, 151.3, 92.7, 48)
)
one <- function(x) {
  m1 <- x[1]; s1 <- x[2]; n1 <- x[3]; m2 <- x[4]; s2 <- x[5]; n2 <- x[6]
  sp <- sqrt(((n1 - 1) * s1^2 + (n2 - 1) * s2^2) / (n1 + n2 - 2))
  t_s <- (m1 - m2) / (sp * sqrt(1 / n1 + 1 / n2))
  u <- s1^2 / n1; v <- s2^2 / n2
  df_w <- (u + v)^2 / (u^2 / (n1 - 1) + v^2 / (n2 - 1))
  t_w <- (m1 - m2) / sqrt(u + v)
  list(m1 = m1, sd1 = s1, n1 = n1, m2 = m2, sd2 = s2, n2 = n2,
       student_p = 2 * pt(-abs(t_s), n1 + n2 - 2), welch_p = 2 * pt(-abs(t_w), df_w), welch_df = df_w)
}
# the formulas agree with t.test on raw data scaled to the exact summary statistics
set.seed(1)
z <- function(n, m, s) { y <- rnorm(n); m + s * (y - mean(y)) / sd(y) }
a <- z(43, 20.7, 4.1); b <- z(48, 23.0, 5.2)
stopifnot(abs(t.test(a, b, var.equal = TRUE)$p.value - one(cases[[1]])$student_p) < 1e-12)
stopifnot(abs(t.test(a, b)$p.value - one(cases[[1]])$welch_p) < 1e-12)
out <- list(
  provenance = list(R = R.version.string, jsonlite = as.character(packageVersion("jsonlite")),
                    generated = format(Sys.time(), tz = "UTC", usetz = TRUE),
                    call = "2 * pt(-abs(t), df); checked against t.test(a, b, var.equal = TRUE) and t.test(a, b)"),
  cases = lapply(cases, one)
)
# jsonlite caps numbers at 15 digits: write them pre-formatted with %.17g, verbatim
verbatim <- function(x) {
  if (is.list(x)) return(lapply(x, verbatim))
  if (is.numeric(x)) return(structure(sprintf("%.17g", x), class = "json"))
  x
}
writeLines(toJSON(verbatim(out), auto_unbox = TRUE, pretty = TRUE, json_verbatim = TRUE), "extraction_checks.json")
