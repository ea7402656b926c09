## meta_core.R -- reference results for hepatostat's core meta-analysis code.
##
## Run from this directory:   cd tests/reference && Rscript meta_core.R
##
## Writes
##   data/<name>.csv     input data in hepatostat's CSV formats
##   meta_core.json      metafor results (effect sizes, rma() fits,
##                       Mantel-Haenszel and Peto fits)
##
## Every analysis is run on the CSV *as read back from disk*, so the
## reference numbers belong to exactly the bytes a test will load.
## Each JSON entry carries a `call` string that reproduces it in R.

suppressPackageStartupMessages({
  library(metafor)   # also attaches metadat (the dat.* data sets)
  library(jsonlite)
})
options(warn = 1, stringsAsFactors = FALSE)

dir.create("data", showWarnings = FALSE)

## ---------------------------------------------------------------------------
## Number formatting
## ---------------------------------------------------------------------------

## Shortest decimal string (15-17 significant digits) that reads back as the
## same double. Used for the input CSVs so that they stay readable.
shortest <- function(x) {
  vapply(x, function(v) {
    if (is.na(v)) return("")
    for (d in 15:17) {
      s <- sprintf("%.*g", d, v)
      if (as.numeric(s) == v) return(s)
    }
    s
  }, character(1), USE.NAMES = FALSE)
}

## JSON numbers: always 17 significant digits (exact for any correctly
## rounding parser). jsonlite caps its own output at 15 digits, so numbers
## are pre-formatted and inserted verbatim (json_verbatim = TRUE).
## Non-finite values (NA, NaN, +-Inf) become null.
json_num <- function(x) {
  ifelse(is.finite(x), sprintf("%.17g", x), "null")
}

## Recursively turn numeric vectors into verbatim JSON. Length-1 numerics
## become scalars, unless wrapped in arr() which forces a JSON array.
arr <- function(x) structure(as.numeric(x), json_array = TRUE)

to_verbatim <- function(x) {
  if (is.list(x)) return(lapply(x, to_verbatim))
  if (is.numeric(x) || is.logical(x) && all(is.na(x))) {
    force_array <- isTRUE(attr(x, "json_array"))
    x <- as.numeric(x)
    s <- json_num(x)
    out <- if (length(x) == 1 && !force_array) s
           else paste0("[", paste(s, collapse = ","), "]")
    return(structure(out, class = "json"))
  }
  x
}

write_json_file <- function(x, path) {
  txt <- toJSON(to_verbatim(x), auto_unbox = TRUE, null = "null",
                na = "null", json_verbatim = TRUE, pretty = TRUE)
  writeLines(txt, path)
}

## Plain numbers without R attributes; NULL stays NULL.
num <- function(x) if (is.null(x)) NULL else as.numeric(x)

## ---------------------------------------------------------------------------
## Input data sets
## ---------------------------------------------------------------------------

## "Author, Year" labels; repeated labels get a, b, ... appended.
make_labels <- function(author, year) {
  lab <- paste0(author, ", ", year)
  for (l in unique(lab[duplicated(lab)])) {
    idx <- which(lab == l)
    lab[idx] <- paste0(l, letters[seq_along(idx)])
  }
  lab
}

## Write a data frame as CSV (numbers at full precision, only character
## columns quoted), read it back and check the round trip is exact.
write_input <- function(df, name) {
  stopifnot(is.character(df$study), !anyDuplicated(df$study))
  out <- df
  dbl <- vapply(out, is.double, logical(1))
  out[dbl] <- lapply(out[dbl], shortest)
  chr <- which(vapply(df, is.character, logical(1)))
  path <- file.path("data", paste0(name, ".csv"))
  write.csv(out, path, row.names = FALSE, quote = chr, na = "")
  back <- read.csv(path, stringsAsFactors = FALSE)
  stopifnot(identical(names(back), names(df)), nrow(back) == nrow(df))
  for (j in names(df)) {
    a <- df[[j]]; b <- back[[j]]
    ok <- if (is.character(a)) identical(a, b)
          else identical(is.na(a), is.na(b)) &&
               all(as.numeric(a) == as.numeric(b), na.rm = TRUE)
    if (!ok) stop("CSV round trip failed for ", name, "$", j)
  }
  back
}

datasets <- list()   # metadata for the JSON
inputs   <- list()   # data frames as read back from the CSVs

add_dataset <- function(name, kind, df, source, citation, note = NULL) {
  inputs[[name]] <<- write_input(df, name)
  datasets[[name]] <<- list(source = source, citation = citation,
                            kind = kind,
                            csv = file.path("data", paste0(name, ".csv")),
                            k = nrow(df), note = note)
}

## --- binary: study,e1,n1,e2,n2 (arm 1 = treatment) -------------------------

d <- dat.bcg
add_dataset("bcg", "binary",
  data.frame(study = make_labels(d$author, d$year),
             e1 = d$tpos, n1 = d$tpos + d$tneg,
             e2 = d$cpos, n2 = d$cpos + d$cneg,
             ablat = d$ablat, year = d$year, alloc = d$alloc),
  "metadat dat.bcg",
  paste("Colditz, G. A., Brewer, T. F., Berkey, C. S., Wilson, M. E.,",
        "Burdick, E., Fineberg, H. V., & Mosteller, F. (1994). Efficacy of",
        "BCG vaccine in the prevention of tuberculosis: Meta-analysis of the",
        "published literature. Journal of the American Medical Association,",
        "271(9), 698-702. https://doi.org/10.1001/jama.1994.03510330076038"),
  "e1 = tpos, n1 = tpos + tneg, e2 = cpos, n2 = cpos + cneg")

d <- subset(dat.yusuf1985, table == "9" & !is.na(ai))
add_dataset("yusuf1985_t9", "binary",
  data.frame(study = d$trial, e1 = d$ai, n1 = d$n1i, e2 = d$ci, n2 = d$n2i),
  "metadat dat.yusuf1985, table 9",
  paste("Yusuf, S., Peto, R., Lewis, J., Collins, R., & Sleight, P. (1985).",
        "Beta blockade during and after myocardial infarction: An overview",
        "of the randomized trials. Progress in Cardiovascular Disease, 27(5),",
        "335-371. https://doi.org/10.1016/s0033-0620(85)80003-7"),
  paste("Table 9 (total mortality at one week, trials with an initial IV",
        "dose); the two trials without data (Ayerst, ISIS) are dropped.",
        "Contains double-zero and single-zero studies."))

d <- dat.li2007
add_dataset("li2007", "binary",
  data.frame(study = make_labels(d$study, d$year),
             e1 = d$ai, n1 = d$n1i, e2 = d$ci, n2 = d$n2i),
  "metadat dat.li2007",
  paste("Li, J., Zhang, Q., Zhang, M., & Egger, M. (2007). Intravenous",
        "magnesium for acute myocardial infarction. Cochrane Database of",
        "Systematic Reviews, 2, CD002755.",
        "https://doi.org/10.1002/14651858.CD002755.pub2"),
  "Single-zero studies (one arm with zero events).")

d <- dat.egger2001
add_dataset("egger2001", "binary",
  data.frame(study = make_labels(d$study, d$year),
             e1 = d$ai, n1 = d$n1i, e2 = d$ci, n2 = d$n2i),
  "metadat dat.egger2001",
  paste("Egger, M., Davey Smith, G., & Altman, D. G. (Eds.) (2001).",
        "Systematic reviews in health care: Meta-analysis in context",
        "(2nd ed.). London: BMJ Books."),
  "One single-zero study (Bertschat, 1989).")

d <- dat.hine1989
add_dataset("hine1989", "binary",
  data.frame(study = d$source, e1 = d$ai, n1 = d$n1i, e2 = d$ci, n2 = d$n2i),
  "metadat dat.hine1989",
  paste("Normand, S. T. (1999). Meta-analysis: Formulating, evaluating,",
        "combining, and reporting. Statistics in Medicine, 18(3), 321-359.",
        "https://doi.org/10.1002/(sici)1097-0258(19990215)18:3<321::aid-sim28>3.0.co;2-p"))

## --- continuous: study,m1,sd1,n1,m2,sd2,n2 ----------------------------------

d <- dat.normand1999
add_dataset("normand1999", "continuous",
  data.frame(study = d$source, m1 = d$m1i, sd1 = d$sd1i, n1 = d$n1i,
             m2 = d$m2i, sd2 = d$sd2i, n2 = d$n2i),
  "metadat dat.normand1999",
  paste("Normand, S. T. (1999). Meta-analysis: Formulating, evaluating,",
        "combining, and reporting. Statistics in Medicine, 18(3), 321-359.",
        "https://doi.org/10.1002/(sici)1097-0258(19990215)18:3<321::aid-sim28>3.0.co;2-p"))

d <- dat.curtis1998
add_dataset("curtis1998", "continuous",
  data.frame(study = sprintf("%s %s (paper %d, id %d)",
                             d$genus, d$species, d$paper, d$id),
             m1 = d$m1i, sd1 = d$sd1i, n1 = d$n1i,
             m2 = d$m2i, sd2 = d$sd2i, n2 = d$n2i, paper = d$paper),
  "metadat dat.curtis1998",
  paste("Hedges, L. V., Gurevitch, J., & Curtis, P. S. (1999). The",
        "meta-analysis of response ratios in experimental ecology. Ecology,",
        "80(4), 1150-1156.",
        "https://doi.org/10.1890/0012-9658(1999)080[1150:TMAORR]2.0.CO;2",
        "(data from Ecological Archives, E080-008-S1)"),
  "Arm 1 = elevated CO2, arm 2 = ambient. Labels built from genus, species, paper and id.")

## --- generic: study,yi,vi --------------------------------------------------

d <- dat.hackshaw1998
add_dataset("hackshaw1998", "generic",
  data.frame(study = make_labels(d$author, d$year),
             yi = as.numeric(d$yi), vi = as.numeric(d$vi),
             design = d$design),
  "metadat dat.hackshaw1998",
  paste("Hackshaw, A. K., Law, M. R., & Wald, N. J. (1997). The accumulated",
        "evidence on lung cancer and environmental tobacco smoke. British",
        "Medical Journal, 315(7114), 980-988.",
        "https://doi.org/10.1136/bmj.315.7114.980;",
        "Hackshaw, A. K. (1998). Lung cancer and passive smoking. Statistical",
        "Methods in Medical Research, 7(2), 119-136.",
        "https://doi.org/10.1177/096228029800700203"),
  "yi = log odds ratio.")

d <- dat.raudenbush1985
add_dataset("raudenbush1985", "generic",
  data.frame(study = make_labels(d$author, d$year),
             yi = as.numeric(d$yi), vi = as.numeric(d$vi), weeks = d$weeks),
  "metadat dat.raudenbush1985",
  paste("Raudenbush, S. W. (1984). Magnitude of teacher expectancy effects",
        "on pupil IQ as a function of the credibility of expectancy",
        "induction: A synthesis of findings from 18 experiments. Journal of",
        "Educational Psychology, 76(1), 85-97.",
        "https://doi.org/10.1037/0022-0663.76.1.85;",
        "Raudenbush, S. W., & Bryk, A. S. (1985). Empirical Bayes",
        "meta-analysis. Journal of Educational Statistics, 10(2), 75-98.",
        "https://doi.org/10.3102/10769986010002075"),
  "yi = standardized mean difference.")

d <- dat.bangertdrowns2004
add_dataset("bangertdrowns2004", "generic",
  data.frame(study = make_labels(d$author, d$year),
             yi = as.numeric(d$yi), vi = as.numeric(d$vi)),
  "metadat dat.bangertdrowns2004",
  paste("Bangert-Drowns, R. L., Hurley, M. M., & Wilkinson, B. (2004). The",
        "effects of school-based writing-to-learn interventions on academic",
        "achievement: A meta-analysis. Review of Educational Research, 74(1),",
        "29-58. https://doi.org/10.3102/00346543074001029"),
  "yi = standardized mean difference.")

## ---------------------------------------------------------------------------
## Effect sizes (escalc with metafor's defaults)
## ---------------------------------------------------------------------------

measures <- list(binary = c("OR", "RR", "RD"),
                 continuous = c("SMD", "MD"),
                 generic = "GEN")

## The escalc call as a string (data = the CSV read back with read.csv).
escalc_call <- function(name, kind, measure, extra = "") {
  dat <- sprintf('read.csv("data/%s.csv")', name)
  switch(kind,
    binary = sprintf('escalc(measure="%s", ai=e1, n1i=n1, ci=e2, n2i=n2%s, data=%s)',
                     measure, extra, dat),
    continuous = sprintf(paste0('escalc(measure="%s", m1i=m1, sd1i=sd1, n1i=n1,',
                                ' m2i=m2, sd2i=sd2, n2i=n2%s, data=%s)'),
                         measure, extra, dat),
    generic = sprintf('escalc(measure="GEN", yi=yi, vi=vi%s, data=%s)', extra, dat))
}

## Evaluate a call string (it reads the CSV itself, exactly as printed).
eval_call <- function(call) eval(parse(text = call)[[1]], envir = globalenv())

effects <- list()
es_by <- list()   # escalc results, keyed "dataset/measure"

for (name in names(inputs)) {
  kind <- datasets[[name]]$kind
  for (m in measures[[kind]]) {
    call <- escalc_call(name, kind, m)
    es <- eval_call(call)
    es_by[[paste(name, m, sep = "/")]] <- es
    effects[[length(effects) + 1]] <- list(
      dataset = name, measure = m, call = call,
      study = I(inputs[[name]]$study),
      yi = arr(es$yi), vi = arr(es$vi))
  }
}

## ---------------------------------------------------------------------------
## rma() fits
## ---------------------------------------------------------------------------

methods <- c("FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB")

## Run expr, collecting warning messages instead of printing them.
with_warnings <- function(expr) {
  w <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e) e),
    warning = function(c) {
      w <<- c(w, conditionMessage(c))
      invokeRestart("muffleWarning")
    })
  list(value = val, warnings = w)
}

## Q-profile CIs (confint's default type) for the heterogeneity parameters.
## confint() finds the bounds with uniroot(); its default tolerance
## (.Machine$double.eps^0.25) is tightened so the bounds are accurate to
## about 1e-12.
## By default confint() searches tau2 only up to
## tau2.max = max(100, 10 * tau2) and returns tau2.max itself as a bound
## that lies beyond it; the "wide" variant lifts that cap.
confint_calls <- c(
  default = "confint(res, control=list(tol=1e-15))",
  wide    = "confint(res, control=list(tol=1e-15, tau2.max=1e6))")

het_ci <- function(res, variant) {
  if (res$method == "FE") return(list(ci = NULL, warnings = character(0)))
  out <- with_warnings(eval(parse(text = confint_calls[[variant]])[[1]]))
  if (inherits(out$value, "error"))
    return(list(ci = NULL, warnings = c(out$warnings, conditionMessage(out$value))))
  list(ci = out$value$random, warnings = out$warnings)
}

## metafor's default convergence criteria are loose (REML/ML/EB/SJ stop when
## tau2 changes by < 1e-5; PM uses uniroot with tol ~1.2e-4), so the
## reference fits are run with tight settings. Further settings are tried in
## turn only if a fit fails; the call that produced the numbers is recorded.
controls <- c(
  "control=list(threshold=1e-12, tol=1e-15, maxiter=1000)",
  "control=list(threshold=1e-12, tol=1e-15, maxiter=1000, stepadj=0.5)",
  "control=list(threshold=1e-12, tol=1e-15, maxiter=1000, tau2.max=1e6)")

fit_entry <- function(name, measure, method, knha) {
  es_call <- escalc_call(name, datasets[[name]]$kind, measure)
  test <- if (knha) "knha" else "z"
  base <- sprintf('rma(yi, vi, data=es, method="%s", test="%s"', method, test)
  entry <- list(dataset = name, measure = measure, method = method,
                knha = knha)
  es <- es_by[[paste(name, measure, sep = "/")]]

  for (ctrl in controls) {
    call <- paste0(base, ", ", ctrl, ")")
    fit <- with_warnings(eval(parse(text = call)[[1]]))
    if (!inherits(fit$value, "error")) break
  }
  entry$call <- paste0("es <- ", es_call, "; res <- ", call)
  if (inherits(fit$value, "error")) {
    return(c(entry, list(error = conditionMessage(fit$value),
                         warnings = I(fit$warnings))))
  }
  res <- fit$value

  ## Same model with metafor's default control settings, for comparison.
  dflt <- with_warnings(eval(parse(text = paste0(base, ")"))[[1]]))
  default_control <- if (inherits(dflt$value, "error"))
    list(call = paste0(base, ")"), error = conditionMessage(dflt$value))
  else
    list(call = paste0(base, ")"), estimate = num(coef(dflt$value)),
         tau2 = num(dflt$value$tau2), error = NULL)

  pr <- predict(res)
  ## predict() gives no pi.lb/pi.ub for FE models: the PI equals the CI.
  pi_lb <- if (is.null(pr$pi.lb)) pr$ci.lb else pr$pi.lb
  pi_ub <- if (is.null(pr$pi.ub)) pr$ci.ub else pr$pi.ub
  hc <- het_ci(res, "default")
  hw <- het_ci(res, "wide")
  ci_row <- function(h, row) if (is.null(h$ci)) NULL
                             else arr(h$ci[row, c("ci.lb", "ci.ub")])

  c(entry, list(
    k        = res$k,
    estimate = num(coef(res)),
    se       = num(res$se),
    zval     = num(res$zval),          # t statistic when knha
    ci_low   = num(res$ci.lb),
    ci_high  = num(res$ci.ub),
    pval     = num(res$pval),
    tau2     = num(res$tau2),
    se_tau2  = num(res$se.tau2),
    I2       = num(res$I2),            # percent
    H2       = num(res$H2),
    Q        = num(res$QE),
    Q_df     = res$k - res$p,
    Q_pval   = num(res$QEp),
    pi_low   = num(pi_lb),
    pi_high  = num(pi_ub),
    weights  = arr(weights(res)),      # percent, input order
    confint_call = if (method == "FE") NULL else confint_calls[["default"]],
    tau2_ci  = ci_row(hc, "tau^2"),
    tau_ci   = ci_row(hc, "tau"),
    I2_ci    = ci_row(hc, "I^2(%)"),
    H2_ci    = ci_row(hc, "H^2"),
    confint_wide_call = if (method == "FE") NULL else confint_calls[["wide"]],
    tau2_ci_wide = ci_row(hw, "tau^2"),
    I2_ci_wide   = ci_row(hw, "I^2(%)"),
    H2_ci_wide   = ci_row(hw, "H^2"),
    ddf      = if (knha) num(res$ddf) else NULL,
    default_control = default_control,
    warnings = I(fit$warnings),
    confint_warnings = I(unique(c(hc$warnings, hw$warnings))),
    error    = NULL))
}

fits <- list()
for (name in names(inputs)) {
  for (m in measures[[datasets[[name]]$kind]]) {
    for (method in methods) {
      for (knha in c(FALSE, TRUE)) {
        fits[[length(fits) + 1]] <- fit_entry(name, m, method, knha)
      }
    }
  }
}

## ---------------------------------------------------------------------------
## Mantel-Haenszel and Peto (binary data sets)
## ---------------------------------------------------------------------------

mh <- list()
peto <- list()

for (name in names(inputs)) {
  if (datasets[[name]]$kind != "binary") next
  dat_txt <- sprintf('read.csv("data/%s.csv")', name)

  for (m in c("OR", "RR", "RD")) {
    call <- sprintf('rma.mh(ai=e1, n1i=n1, ci=e2, n2i=n2, measure="%s", data=%s)',
                    m, dat_txt)
    fit <- with_warnings(eval(parse(text = call)[[1]]))
    entry <- list(dataset = name, measure = m, call = call)
    if (inherits(fit$value, "error")) {
      mh[[length(mh) + 1]] <- c(entry, list(error = conditionMessage(fit$value)))
      next
    }
    res <- fit$value
    ## yi/vi rma.mh uses for Q/I2/H2: escalc with drop00=TRUE (NA = dropped)
    q_call <- escalc_call(name, "binary", m, ", drop00=TRUE")
    es_q <- eval(parse(text = q_call)[[1]])
    entry <- c(entry, list(
      k        = res$k,
      k_yi     = res$k.yi,             # studies with a finite yi, used in Q
      k_pos    = num(res$k.pos),       # OR only: tables used in BD/Tarone
      estimate = num(coef(res)),       # log scale for OR/RR
      estimate_exp = if (m != "RD") exp(num(coef(res))) else NULL,
      se       = num(res$se),
      zval     = num(res$zval),
      ci_low   = num(res$ci.lb),
      ci_high  = num(res$ci.ub),
      pval     = num(res$pval),
      Q        = num(res$QE),
      Q_df     = res$k.yi - 1,
      Q_pval   = num(res$QEp),
      I2       = num(res$I2),
      H2       = num(res$H2),
      CMH      = if (m == "OR") num(res$MH) else NULL,   # Cochran-Mantel-Haenszel
      CMH_pval = if (m == "OR") num(res$MHp) else NULL,
      CO       = if (m == "OR") num(res$CO) else NULL,   # Cochran's test (N_i denominators)
      CO_pval  = if (m == "OR") num(res$COp) else NULL,
      BD       = if (m == "OR") num(res$BD) else NULL,   # Breslow-Day
      BD_pval  = if (m == "OR") num(res$BDp) else NULL,
      TA       = if (m == "OR") num(res$TA) else NULL,   # Tarone
      TA_pval  = if (m == "OR") num(res$TAp) else NULL,
      weights  = arr(weights(res)),
      yi_call  = q_call,
      study    = I(inputs[[name]]$study),
      yi       = arr(es_q$yi),
      vi       = arr(es_q$vi),
      warnings = I(fit$warnings),
      error    = NULL))
    mh[[length(mh) + 1]] <- entry
  }

  call <- sprintf('rma.peto(ai=e1, n1i=n1, ci=e2, n2i=n2, data=%s)', dat_txt)
  fit <- with_warnings(eval(parse(text = call)[[1]]))
  entry <- list(dataset = name, measure = "PETO", call = call)
  if (inherits(fit$value, "error")) {
    peto[[length(peto) + 1]] <- c(entry, list(error = conditionMessage(fit$value)))
    next
  }
  res <- fit$value
  es_call <- escalc_call(name, "binary", "PETO")
  es_p <- eval(parse(text = es_call)[[1]])
  es_q_call <- escalc_call(name, "binary", "PETO", ", drop00=TRUE")
  es_q <- eval(parse(text = es_q_call)[[1]])
  peto[[length(peto) + 1]] <- c(entry, list(
    k        = res$k,
    k_yi     = res$k.yi,
    k_pos    = num(res$k.pos),   # tables with non-zero hypergeometric variance
    estimate = num(coef(res)),
    estimate_exp = exp(num(coef(res))),
    se       = num(res$se),
    zval     = num(res$zval),
    ci_low   = num(res$ci.lb),
    ci_high  = num(res$ci.ub),
    pval     = num(res$pval),
    Q        = num(res$QE),
    Q_df     = res$k.yi - 1,
    Q_pval   = num(res$QEp),
    I2       = num(res$I2),
    H2       = num(res$H2),
    weights  = arr(weights(res)),
    escalc_call = es_call,       # per-study Peto log ORs, escalc defaults
    study    = I(inputs[[name]]$study),
    yi       = arr(es_p$yi),
    vi       = arr(es_p$vi),
    yi_drop00_call = es_q_call,  # what rma.peto itself stores (drop00=TRUE)
    yi_drop00 = arr(es_q$yi),
    vi_drop00 = arr(es_q$vi),
    warnings = I(fit$warnings),
    error    = NULL))
}

## ---------------------------------------------------------------------------
## Sanity check: worked example from metafor's documentation
## (dat.bcg, log risk ratio, REML: estimate -0.7145, tau^2 0.3132)
## ---------------------------------------------------------------------------

ex <- Filter(function(f) f$dataset == "bcg" && f$measure == "RR" &&
               f$method == "REML" && !f$knha, fits)[[1]]
stopifnot(round(ex$estimate, 4) == -0.7145, round(ex$tau2, 4) == 0.3132)

## ---------------------------------------------------------------------------
## Write JSON
## ---------------------------------------------------------------------------

out <- list(
  provenance = list(
    R = R.version.string,
    metafor = as.character(packageVersion("metafor")),
    metadat = as.character(packageVersion("metadat")),
    jsonlite = as.character(packageVersion("jsonlite")),
    script = "meta_core.R",
    generated = format(Sys.Date()),
    notes = paste("Numbers have 17 significant digits; null = NA/NaN/Inf or",
                  "not applicable. I2 and weights are in percent.",
                  "zval holds the t statistic when knha is true.")),
  datasets = datasets,
  effects = effects,
  fits = fits,
  mh = mh,
  peto = peto)

write_json_file(out, "meta_core.json")
n_err <- sum(vapply(fits, function(f) !is.null(f$error), logical(1)))
cat(sprintf("wrote meta_core.json: %d effects, %d fits (%d errors), %d mh, %d peto\n",
            length(effects), length(fits), n_err, length(mh), length(peto)))
