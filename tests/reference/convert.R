# Reference values for hepatostat.meta.convert, computed with R metafor.
#
# metafor's conv.fivenum() (median/quartiles/range -> mean/SD; Hozo 2005,
# Wan 2014, Bland 2015, Luo 2016/2018, Shi 2020 estimators) and conv.wald()
# (CI or P value -> sampling variance) are independent implementations by
# W. Viechtbauer. conv.fivenum() with per-estimator method names
# ("hozo2005", "wan2014", "luo2016", "shi2020") needs metafor >= 4.0; the
# Debian package r-cran-metafor 3.8-1 does not have it. The values in
# convert.json were made with a newer metafor (the version and source are
# recorded in the JSON's provenance) and with estmeansd::qe.mean.sd() (by
# the authors of the quantile estimation method of McGrath et al. 2020),
# both available from CRAN; point HEPATOSTAT_R_LIB at a library that holds
# them to regenerate.
#
# Run from the repository root; writes tests/reference/convert.json. Numbers
# are written with 17 significant digits (sprintf("%.17g")).

lib <- Sys.getenv("HEPATOSTAT_R_LIB")
if (nzchar(lib)) .libPaths(c(lib, .libPaths()))

suppressPackageStartupMessages(library(metafor))
suppressPackageStartupMessages(library(estmeansd))
library(jsonlite)

if (packageVersion("metafor") < "4.0")
   stop("metafor >= 4.0 is needed for conv.fivenum(); found ", packageVersion("metafor"))

num <- function(x) structure(if (is.na(x)) "null" else sprintf("%.17g", x), class = "json")
nums <- function(x) lapply(x, num)

# --------------------------------------------------------------------------
# mean_sd_from_median  <->  conv.fivenum(..., test=FALSE)
# --------------------------------------------------------------------------

# metafor drops studies with n < 5, so every n here is >= 5. The sample sizes
# straddle the cut-offs of Hozo's rules (15/16, 25/26, 70/71).
s1 <- data.frame(min    = c(2, 10, 10, 10, 0.5, 0.5, -3.5, -3.5, 120, 5, 12.3),
                 median = c(6, 25, 25, 25, 1.2, 1.2,  0.4,  0.4, 138, 5, 30.1),
                 max    = c(14, 60, 60, 60, 4.8, 4.8,  2.1,  2.1, 170, 5, 88.9),
                 n      = c(20,  5, 15, 16,  25,  26,   70,   71, 150, 12, 48))
s2 <- data.frame(min    = c(2, 10, 0.5, -3.5, 120, 3),
                 q1     = c(4, 18, 0.9, -1.0, 131, 8),
                 median = c(6, 25, 1.2,  0.4, 138, 11),
                 q3     = c(10, 33, 2.3, 1.2, 150, 15),
                 max    = c(14, 60, 4.8, 2.1, 170, 40),
                 n      = c(20,  5,  26,  71, 150, 17))
s3 <- data.frame(q1     = c(4, 22, 1.1, -2.0, 100, 7),
                 median = c(6, 30, 1.6,  0.5, 130, 7),
                 q3     = c(10, 41, 2.9, 1.0, 190, 9),
                 n      = c(20,  5,  12,  33, 250, 9))

# hepatostat method -> metafor method (mean estimator, SD estimator)
methods <- list(
   wan     = c("wan2014", "wan2014"),
   luo     = c("luo2016", "wan2014"),
   luo_shi = c("luo/wan/shi", "luo/wan/shi"),
   hozo    = c("hozo2005", "hozo2005")
)

median_cases <- list()
run_fivenum <- function(method, scenario, d) {
   m <- methods[[method]]
   na <- rep(NA_real_, nrow(d))
   cols <- list(min = na, q1 = na, median = na, q3 = na, max = na)
   for (k in names(d)) if (k != "n") cols[[k]] <- d[[k]]
   call <- sprintf('conv.fivenum(min=min, q1=q1, median=median, q3=q3, max=max, n=n, method=c("%s", "%s"), test=FALSE)',
                   m[1], m[2])
   res <- conv.fivenum(min = cols$min, q1 = cols$q1, median = cols$median, q3 = cols$q3,
                       max = cols$max, n = d$n, method = m, test = FALSE)
   out <- list()
   for (i in seq_len(nrow(d))) {
      row <- list(method = method, scenario = scenario, n = num(d$n[i]))
      for (k in setdiff(names(d), "n")) row[[k]] <- num(d[[k]][i])
      row$mean <- num(res$mean[i])
      row$sd <- num(res$sd[i])
      row$call <- call
      out[[i]] <- row
   }
   out
}
for (method in names(methods)) {
   median_cases <- c(median_cases, run_fivenum(method, "S1", s1))
   if (method != "hozo") {
      median_cases <- c(median_cases, run_fivenum(method, "S2", s2))
      median_cases <- c(median_cases, run_fivenum(method, "S3", s3))
   }
}

# --------------------------------------------------------------------------
# se_from_ci / se_from_p  <->  conv.wald()
# --------------------------------------------------------------------------

# first two rows: the odds ratios of the conv.wald() help-page example;
# rows 3-4: the BCG (dat.bcg) studies with a reported CI in that example
ci <- data.frame(out   = c(1.37, 1.89, 0.23, 0.62, 3.8, -2.4, 0.5, 2.5),
                 low   = c(1.03, 1.60, 0.18, 0.39, 1.1, -4.9, 0.1, 1.6),
                 high  = c(1.82, 2.23, 0.31, 1.00, 6.5,  0.1, 0.9, 3.9),
                 level = c(95, 95, 95, 95, 95, 90, 99, 80),
                 log   = c(TRUE, TRUE, TRUE, TRUE, FALSE, FALSE, FALSE, TRUE))
ci_cases <- list()
for (i in seq_len(nrow(ci))) {
   if (ci$log[i]) {
      call <- sprintf("conv.wald(out=%s, ci.lb=%s, ci.ub=%s, level=%s, transf=log)",
                      ci$out[i], ci$low[i], ci$high[i], ci$level[i])
      res <- conv.wald(out = ci$out[i], ci.lb = ci$low[i], ci.ub = ci$high[i],
                       level = ci$level[i], transf = log, check = FALSE)
   } else {
      call <- sprintf("conv.wald(out=%s, ci.lb=%s, ci.ub=%s, level=%s)",
                      ci$out[i], ci$low[i], ci$high[i], ci$level[i])
      res <- conv.wald(out = ci$out[i], ci.lb = ci$low[i], ci.ub = ci$high[i],
                       level = ci$level[i], check = FALSE)
   }
   ci_cases[[i]] <- list(low = num(ci$low[i]), high = num(ci$high[i]),
                         confidence_level = num(ci$level[i] / 100), log = ci$log[i],
                         se = num(sqrt(res$vi)), call = paste0("sqrt(", call, "$vi)"))
}

# first two rows: Aronson 1948 and Comstock & Webster 1969 in the conv.wald()
# help-page example (odds ratio with a P value only)
pv <- data.frame(estimate = c(log(0.39), log(1.56), 3.8, -1.2, 0.7, 25),
                 p        = c(0.12, 0.54, 0.008, 0.0001, 0.5, 0.049))
p_cases <- list()
for (i in seq_len(nrow(pv))) {
   res <- conv.wald(out = pv$estimate[i], pval = pv$p[i])
   p_cases[[i]] <- list(estimate = num(pv$estimate[i]), p = num(pv$p[i]),
                        se = num(sqrt(res$vi)),
                        call = sprintf("sqrt(conv.wald(out=%s, pval=%s)$vi)",
                                       sprintf("%.17g", pv$estimate[i]), pv$p[i]))
}


# --------------------------------------------------------------------------
# mcgrath_qe  <->  estmeansd::qe.mean.sd()
# --------------------------------------------------------------------------

# Values below 100 so that estmeansd's box constraints (gamma rate and
# Weibull scale in [1e-3, 100]) do not bind. estmeansd calls the quartile
# scenario "S2" and the five-number one "S3"; the JSON uses hepatostat's
# names (S1 range, S2 five numbers, S3 quartiles).
qe_in <- list(
   list(scenario = "S1", min = 2,    median = 6,   max = 14,  n = 20),
   list(scenario = "S1", min = 10,   median = 25,  max = 60,  n = 50),
   list(scenario = "S1", min = 0.5,  median = 1.2, max = 4.8, n = 26),
   list(scenario = "S1", min = -3.5, median = 0.4, max = 2.1, n = 70),
   list(scenario = "S1", min = 5,    median = 18,  max = 30,  n = 15),
   list(scenario = "S1", min = 0.05, median = 0.3, max = 0.8, n = 40),
   list(scenario = "S3", q1 = 4,    median = 6,    q3 = 10,  n = 20),
   list(scenario = "S3", q1 = 22,   median = 30,   q3 = 41,  n = 35),
   list(scenario = "S3", q1 = 1.1,  median = 1.6,  q3 = 2.9, n = 12),
   list(scenario = "S3", q1 = -2,   median = 0.5,  q3 = 1,   n = 33),
   list(scenario = "S3", q1 = 0.2,  median = 0.35, q3 = 0.5, n = 60),
   list(scenario = "S2", min = 2,    q1 = 4,   median = 6,   q3 = 10,  max = 14,  n = 20),
   list(scenario = "S2", min = 10,   q1 = 18,  median = 25,  q3 = 33,  max = 60,  n = 50),
   list(scenario = "S2", min = 0.5,  q1 = 0.9, median = 1.2, q3 = 2.3, max = 4.8, n = 26),
   list(scenario = "S2", min = -3.5, q1 = -1,  median = 0.4, q3 = 1.2, max = 2.1, n = 71),
   list(scenario = "S2", min = 3,    q1 = 8,   median = 11,  q3 = 15,  max = 40,  n = 17),
   list(scenario = "S2", min = 0.1,  q1 = 0.3, median = 0.4, q3 = 0.55, max = 0.9, n = 30)
)
arg_of <- c(min = "min.val", q1 = "q1.val", median = "med.val", q3 = "q3.val", max = "max.val", n = "n")
qe_cases <- list()
for (i in seq_along(qe_in)) {
   d <- qe_in[[i]]
   keys <- setdiff(names(d), "scenario")
   args <- setNames(lapply(keys, function(k) d[[k]]), arg_of[keys])
   res <- suppressMessages(do.call(qe.mean.sd, args))
   row <- list(scenario = d$scenario)
   for (k in keys) row[[k]] <- num(d[[k]])
   row$mean <- num(res$est.mean)
   row$sd <- num(res$est.sd)
   row$distribution <- res$selected.dist
   row$call <- sprintf("qe.mean.sd(%s)", paste(sprintf("%s=%s", arg_of[keys], unlist(d[keys])), collapse = ", "))
   qe_cases[[i]] <- row
}

# --------------------------------------------------------------------------

out <- list(
   provenance = list(
      script = "tests/reference/convert.R",
      r_version = R.version.string,
      metafor_version = as.character(packageVersion("metafor")),
      metafor_source = Sys.getenv("HEPATOSTAT_METAFOR_SOURCE", "unknown"),
      estmeansd_version = as.character(packageVersion("estmeansd")),
      estmeansd_source = Sys.getenv("HEPATOSTAT_ESTMEANSD_SOURCE", "unknown"),
      metaBLUE_version = as.character(packageVersion("metaBLUE")),
      jsonlite_version = as.character(packageVersion("jsonlite")),
      created = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
      number_format = "sprintf('%.17g')",
      method_map = lapply(methods, function(m) paste(m, collapse = " / "))
   ),
   mean_sd_from_median = median_cases,
   se_from_ci = ci_cases,
   se_from_p = p_cases,
   mcgrath_qe = qe_cases
)

writeLines(toJSON(out, auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE),
           "tests/reference/convert.json")
cat("wrote tests/reference/convert.json:", length(median_cases), "median cases,",
    length(ci_cases), "CI cases,", length(p_cases), "P-value cases,", length(qe_cases), "QE cases\n")
