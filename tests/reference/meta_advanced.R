## meta_advanced.R -- reference results for hepatostat's advanced
## meta-analysis code: meta-regression, permutation tests, subgroup
## analyses, leave-one-out, influence diagnostics, Baujat plot coordinates,
## small-study tests (Egger regression, rank correlation) and trim-and-fill.
##
## Run from this directory:   cd tests/reference && Rscript meta_advanced.R
## (after meta_core.R, which writes the base CSVs in data/).
##
## Writes
##   data/raudenbush1985_mods.csv     raudenbush1985 + weeks_c = pmin(weeks, 3)
##   data/normand1999_mods.csv        normand1999 + a constructed group `grp`
##   data/bangertdrowns2004_mods.csv  bangertdrowns2004 + its moderators
##   meta_advanced.json               metafor results
##
## Every analysis reads its data from the CSVs in data/. Each JSON entry
## carries a `call` string; evaluating it in R (from this directory, with
## metafor loaded) reproduces the entry. The script itself evaluates exactly
## that string.

suppressPackageStartupMessages({
  library(metafor)   # also attaches metadat (the dat.* data sets)
  library(jsonlite)
})
options(warn = 1, stringsAsFactors = FALSE)

t_start <- proc.time()

## ---------------------------------------------------------------------------
## Number formatting (same conventions as meta_core.R)
## ---------------------------------------------------------------------------

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

json_num <- function(x) ifelse(is.finite(x), sprintf("%.17g", x), "null")

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

num <- function(x) if (is.null(x)) NULL else as.numeric(x)
## character / logical vectors that must stay JSON arrays
chr <- function(x) I(as.character(x))
lgl <- function(x) I(as.logical(x))

## ---------------------------------------------------------------------------
## Additional input data sets (written once, read back and checked)
## ---------------------------------------------------------------------------

write_input <- function(df, name) {
  stopifnot(is.character(df$study), !anyDuplicated(df$study))
  out <- df
  dbl <- vapply(out, is.double, logical(1))
  out[dbl] <- lapply(out[dbl], shortest)
  chrcols <- which(vapply(df, is.character, logical(1)))
  path <- file.path("data", paste0(name, ".csv"))
  write.csv(out, path, row.names = FALSE, quote = chrcols, na = "")
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

rd <- function(name) read.csv(file.path("data", paste0(name, ".csv")),
                              stringsAsFactors = FALSE)

## raudenbush1985 with the capped moderator weeks_c = pmin(weeks, 3)
d <- rd("raudenbush1985")
d$weeks_c <- pmin(d$weeks, 3L)
invisible(write_input(d, "raudenbush1985_mods"))

## normand1999 with a constructed binary moderator (first 4 studies "a")
d <- rd("normand1999")
stopifnot(nrow(d) == 9)
d$grp <- c(rep("a", 4), rep("b", 5))
invisible(write_input(d, "normand1999_mods"))

## bangertdrowns2004 with the moderators from metadat (same row order)
d <- rd("bangertdrowns2004")
m <- dat.bangertdrowns2004
stopifnot(nrow(d) == nrow(m), all(d$yi == m$yi), all(d$vi == m$vi))
invisible(write_input(data.frame(d[c("study", "yi", "vi")],
                       m[c("grade", "length", "minutes", "wic", "feedback",
                           "info", "pers", "imag", "meta", "subject", "ni")]),
            "bangertdrowns2004_mods"))

kinds <- c(bcg = "binary", yusuf1985_t9 = "binary", li2007 = "binary",
           egger2001 = "binary", hine1989 = "binary",
           normand1999 = "continuous", normand1999_mods = "continuous",
           curtis1998 = "continuous",
           hackshaw1998 = "generic", raudenbush1985 = "generic",
           raudenbush1985_mods = "generic", bangertdrowns2004 = "generic",
           bangertdrowns2004_mods = "generic")

## ---------------------------------------------------------------------------
## Call strings and their evaluation
## ---------------------------------------------------------------------------

escalc_call <- function(name, measure) {
  kind <- kinds[[name]]
  dat <- sprintf('read.csv("data/%s.csv")', name)
  switch(kind,
    binary = sprintf('escalc(measure="%s", ai=e1, n1i=n1, ci=e2, n2i=n2, data=%s)',
                     measure, dat),
    continuous = sprintf(paste0('escalc(measure="%s", m1i=m1, sd1i=sd1, n1i=n1,',
                                ' m2i=m2, sd2i=sd2, n2i=n2, data=%s)'),
                         measure, dat),
    generic = sprintf('escalc(measure="GEN", yi=yi, vi=vi, data=%s)', dat))
}

## Evaluate a string of ';'-separated R statements in a fresh environment;
## returns that environment (objects created by the statements live there).
## Warnings are collected, errors caught.
run_call <- function(call) {
  env <- new.env(parent = globalenv())
  w <- character(0)
  err <- withCallingHandlers(
    tryCatch({
      for (e in parse(text = call)) eval(e, envir = env)
      NULL
    }, error = function(e) conditionMessage(e)),
    warning = function(c) {
      w <<- c(w, conditionMessage(c))
      invokeRestart("muffleWarning")
    })
  env$.warnings <- unique(w)
  env$.error <- err
  env
}

## metafor's defaults are loose; tight settings are used throughout. The
## later ones are tried only if a fit fails; the call that worked is recorded.
controls <- c(
  "control=list(threshold=1e-12, tol=1e-15, maxiter=1000)",
  "control=list(threshold=1e-12, tol=1e-15, maxiter=1000, stepadj=0.5)",
  "control=list(threshold=1e-12, tol=1e-15, maxiter=1000, tau2.max=1e6)")
ctrl1 <- controls[1]

## Fit `res <- rma(<args>, control=...)` after `prefix` (e.g. the escalc
## line), trying the control settings in turn. `post` is appended
## (e.g. "; l1o <- leave1out(res)").
fit_call <- function(prefix, args, post = "") {
  for (ctrl in controls) {
    call <- sprintf("%sres <- rma(%s, %s)%s", prefix, args, ctrl, post)
    env <- run_call(call)
    if (is.null(env$.error)) break
  }
  list(call = call, env = env)
}

es_prefix <- function(name, measure)
  sprintf("es <- %s; ", escalc_call(name, measure))

methods <- c("FE", "DL", "REML", "ML", "PM", "SJ", "HE", "EB")

## Levels/reference of every factor(x) term in a formula (treatment contrasts)
factor_info <- function(mods, data) {
  vars <- regmatches(mods, gregexpr("factor\\(([A-Za-z0-9_.]+)\\)", mods))[[1]]
  lapply(vars, function(v) {
    nm <- sub("factor\\((.*)\\)", "\\1", v)
    lev <- levels(factor(data[[nm]]))
    list(variable = nm, term_prefix = v, levels = chr(lev),
         reference = lev[1], contrasts = "contr.treatment",
         terms = chr(paste0(v, lev[-1])))
  })
}

## ---------------------------------------------------------------------------
## 1. Meta-regression
## ---------------------------------------------------------------------------

reg_specs <- list(
  list("bcg", "RR", "~ablat"),
  list("bcg", "RR", "~ablat + year"),
  list("bcg", "RR", "~factor(alloc)"),
  list("bcg", "RR", "~ablat + factor(alloc)"),
  list("raudenbush1985", "GEN", "~weeks"),
  list("raudenbush1985_mods", "GEN", "~weeks_c"),
  list("hackshaw1998", "GEN", "~factor(design)"),
  list("bangertdrowns2004_mods", "GEN",
       "~factor(grade) + length + wic + feedback + info + pers + imag + meta"))

coef_table <- function(res) list(
  term     = chr(rownames(res$beta)),
  estimate = arr(res$beta),
  se       = arr(res$se),
  zval     = arr(res$zval),
  pval     = arr(res$pval),
  ci_low   = arr(res$ci.lb),
  ci_high  = arr(res$ci.ub))

regression <- list()
for (s in reg_specs) {
  name <- s[[1]]; measure <- s[[2]]; mods <- s[[3]]
  for (method in methods) for (knha in c(FALSE, TRUE)) {
    test <- if (knha) "knha" else "z"
    f <- fit_call(es_prefix(name, measure),
                  sprintf('yi, vi, mods=%s, data=es, method="%s", test="%s"',
                          mods, method, test))
    entry <- list(dataset = name, measure = measure, method = method,
                  knha = knha, mods = mods, call = f$call)
    env <- f$env
    if (!is.null(env$.error)) {
      regression[[length(regression) + 1]] <- c(entry, list(
        error = env$.error, warnings = I(env$.warnings)))
      next
    }
    res <- env$res
    regression[[length(regression) + 1]] <- c(entry, list(
      k = res$k, p = res$p,
      k_all = res$k.all,                 # rows in the CSV (NA rows dropped)
      not_na = lgl(res$not.na),
      factors = factor_info(mods, env$es)),
      coef_table(res), list(
      tau2    = num(res$tau2),
      se_tau2 = num(res$se.tau2),
      I2      = num(res$I2),
      H2      = num(res$H2),
      R2      = num(res$R2),             # percent (FE: adjusted R2 of weighted lm)
      QM      = num(res$QM),             # F statistic under knha
      QM_df   = arr(res$QMdf),           # [m, null] (z) or [m, k-p] (knha)
      QMp     = num(res$QMp),
      QE      = num(res$QE),
      QE_df   = res$k - res$p,
      QEp     = num(res$QEp),
      ddf     = if (knha) num(res$ddf) else NULL,
      s2w     = num(res$s2w),            # Knapp-Hartung scale factor (1 for z)
      warnings = I(env$.warnings),
      error = NULL))
  }
}

## ---------------------------------------------------------------------------
## 2. Permutation tests
## ---------------------------------------------------------------------------

perm_specs <- list(
  list("bcg", "RR", "~ablat", FALSE, "set.seed(1234); pt <- permutest(res, iter=1000, progbar=FALSE)"),
  list("bcg", "RR", "~ablat", TRUE,  "set.seed(1234); pt <- permutest(res, iter=1000, progbar=FALSE)"),
  list("raudenbush1985", "GEN", "~weeks", FALSE, "set.seed(1234); pt <- permutest(res, iter=1000, progbar=FALSE)"),
  list("raudenbush1985", "GEN", "~weeks", TRUE,  "set.seed(1234); pt <- permutest(res, iter=1000, progbar=FALSE)"),
  list("normand1999_mods", "SMD", "~grp", FALSE, "pt <- permutest(res, exact=TRUE, progbar=FALSE)"),
  list("normand1999_mods", "SMD", "~grp", TRUE,  "pt <- permutest(res, exact=TRUE, progbar=FALSE)"),
  list("normand1999_mods", "SMD", "~grp", FALSE, "pt <- permutest(res, iter=1000, progbar=FALSE)"),
  list("hine1989", "OR", NULL, FALSE, "pt <- permutest(res, exact=TRUE, progbar=FALSE)"),
  list("hine1989", "OR", NULL, TRUE,  "pt <- permutest(res, exact=TRUE, progbar=FALSE)"))

permutation <- list()
for (s in perm_specs) {
  name <- s[[1]]; measure <- s[[2]]; mods <- s[[3]]; knha <- s[[4]]
  test <- if (knha) "knha" else "z"
  args <- if (is.null(mods))
    sprintf('yi, vi, data=es, method="REML", test="%s"', test)
  else
    sprintf('yi, vi, mods=%s, data=es, method="REML", test="%s"', mods, test)
  f <- fit_call(es_prefix(name, measure), args, paste0("; ", s[[5]]))
  entry <- list(dataset = name, measure = measure, method = "REML",
                knha = knha, mods = mods, call = f$call)
  env <- f$env
  if (!is.null(env$.error)) {
    permutation[[length(permutation) + 1]] <- c(entry, list(
      error = env$.error, warnings = I(env$.warnings)))
    next
  }
  res <- env$res; pt <- env$pt
  iter_req <- if (grepl("iter=1000", s[[5]])) 1000 else NULL
  exact <- grepl("exact=TRUE", s[[5]]) || pt$exact.iter <= 1000
  permutation[[length(permutation) + 1]] <- c(entry, list(
    iter = iter_req,
    exact = exact,                   # exact test (all permutations) used
    exact_iter = num(pt$exact.iter), # number of distinct permutations
    n_perm = if (exact) num(pt$exact.iter) else 1000,
    term = chr(rownames(res$beta)),
    estimate = arr(res$beta),
    zval = arr(res$zval),            # observed statistics (t under knha)
    pval_model = arr(res$pval),
    pval = arr(pt$pval),             # permutation p-values per coefficient
    QM = num(res$QM),
    QMp_model = num(res$QMp),
    QMp = num(pt$QMp),
    warnings = I(env$.warnings),
    error = NULL))
}

## ---------------------------------------------------------------------------
## 3. Subgroup analyses
## ---------------------------------------------------------------------------

sub_specs <- list(list("bcg", "RR", "alloc"),
                  list("hackshaw1998", "GEN", "design"),
                  list("normand1999_mods", "SMD", "grp"))

subgroups <- list()
for (s in sub_specs) {
  name <- s[[1]]; measure <- s[[2]]; g <- s[[3]]
  lev <- levels(factor(rd(name)[[g]]))
  for (method in c("FE", "DL", "REML")) {
    per <- list()
    for (l in lev) {
      f <- fit_call(es_prefix(name, measure),
                    sprintf('yi, vi, data=es, subset=(%s=="%s"), method="%s"',
                            g, l, method))
      if (!is.null(f$env$.error)) stop(f$call, ": ", f$env$.error)
      r <- f$env$res
      per[[length(per) + 1]] <- list(
        level = l, call = f$call, k = r$k,
        estimate = num(r$beta), se = num(r$se), zval = num(r$zval),
        pval = num(r$pval), ci_low = num(r$ci.lb), ci_high = num(r$ci.ub),
        tau2 = num(r$tau2), I2 = num(r$I2), H2 = num(r$H2),
        Q = num(r$QE), Q_df = r$k - 1, Q_pval = num(r$QEp),
        warnings = I(f$env$.warnings))
    }
    ## Test for subgroup differences with a separate tau2 per subgroup:
    ## FE meta-regression / FE Q of the subgroup estimates.
    sg_txt <- sprintf("sg <- data.frame(level=c(%s), estimate=c(%s), se=c(%s))",
      paste0('"', lev, '"', collapse = ", "),
      paste(sprintf("%.17g", sapply(per, `[[`, "estimate")), collapse = ", "),
      paste(sprintf("%.17g", sapply(per, `[[`, "se")), collapse = ", "))
    bcall <- paste0(sg_txt, "; ",
      'rb <- rma(estimate, sei=se, mods=~factor(level), data=sg, method="FE"); ',
      'rq <- rma(estimate, sei=se, data=sg, method="FE")')
    benv <- run_call(bcall)
    if (!is.null(benv$.error)) stop(bcall, ": ", benv$.error)
    ## Common tau2 across subgroups: one meta-regression on the factor
    f <- fit_call(es_prefix(name, measure),
                  sprintf('yi, vi, mods=~factor(%s), data=es, method="%s"',
                          g, method))
    if (!is.null(f$env$.error)) stop(f$call, ": ", f$env$.error)
    rc <- f$env$res
    subgroups[[length(subgroups) + 1]] <- list(
      dataset = name, measure = measure, method = method, group = g,
      levels = chr(lev),
      subgroup_calls_note = paste("each level: the call in levels_fit;",
        "separate tau2 per subgroup"),
      levels_fit = per,
      between_call = bcall,
      between_note = paste("sg holds the per-level estimate/se above",
        "(17 significant digits). QM of rb = Q of rq = Q_between."),
      QM = num(benv$rb$QM), QM_df = num(benv$rb$QMdf[1]), QMp = num(benv$rb$QMp),
      Q_between = num(benv$rq$QE), Q_between_df = benv$rq$k - 1,
      Q_between_pval = num(benv$rq$QEp),
      common_tau2 = list(
        call = f$call, tau2 = num(rc$tau2), QM = num(rc$QM),
        QM_df = num(rc$QMdf[1]), QMp = num(rc$QMp), QE = num(rc$QE),
        QE_df = rc$k - rc$p, QEp = num(rc$QEp),
        term = chr(rownames(rc$beta)), estimate = arr(rc$beta),
        se = arr(rc$se), warnings = I(f$env$.warnings)),
      error = NULL)
  }
}

## ---------------------------------------------------------------------------
## 4. Leave-one-out
## ---------------------------------------------------------------------------

l1o_entry <- function(entry, call, study) {
  env <- run_call(call)
  if (!is.null(env$.error))
    return(c(entry, list(call = call, error = env$.error)))
  l <- env$l1o
  stat <- if (!is.null(l$tval)) l$tval else l$zval
  c(entry, list(call = call,
    k = length(l$estimate),
    omitted = chr(study),
    estimate = arr(l$estimate), se = arr(l$se),
    zval = arr(stat),               # t values when knha
    pval = arr(l$pval), ci_low = arr(l$ci.lb), ci_high = arr(l$ci.ub),
    Q = arr(l$Q), Qp = arr(l$Qp),
    tau2 = if (is.null(l$tau2)) NULL else arr(l$tau2),   # absent for FE/MH/Peto
    I2 = arr(l$I2), H2 = arr(l$H2),
    warnings = I(env$.warnings), error = NULL))
}

leave1out_list <- list()
l1o_specs <- list(list("bcg", "RR", "FE", FALSE), list("bcg", "RR", "DL", FALSE),
                  list("bcg", "RR", "REML", FALSE),
                  list("normand1999", "SMD", "REML", FALSE),
                  list("hackshaw1998", "GEN", "REML", FALSE),
                  list("hackshaw1998", "GEN", "REML", TRUE))
for (s in l1o_specs) {
  name <- s[[1]]; measure <- s[[2]]; method <- s[[3]]; knha <- s[[4]]
  f <- fit_call(es_prefix(name, measure),
                sprintf('yi, vi, data=es, method="%s", test="%s"', method,
                        if (knha) "knha" else "z"),
                "; l1o <- leave1out(res)")
  leave1out_list[[length(leave1out_list) + 1]] <- l1o_entry(
    list(dataset = name, measure = measure, method = method, knha = knha),
    f$call, rd(name)$study)
}
leave1out_list[[length(leave1out_list) + 1]] <- l1o_entry(
  list(dataset = "bcg", measure = "OR", method = "MH", knha = FALSE),
  paste0('res <- rma.mh(ai=e1, n1i=n1, ci=e2, n2i=n2, measure="OR", ',
         'data=read.csv("data/bcg.csv")); l1o <- leave1out(res)'),
  rd("bcg")$study)
leave1out_list[[length(leave1out_list) + 1]] <- l1o_entry(
  list(dataset = "bcg", measure = "PETO", method = "PETO", knha = FALSE),
  paste0('res <- rma.peto(ai=e1, n1i=n1, ci=e2, n2i=n2, ',
         'data=read.csv("data/bcg.csv")); l1o <- leave1out(res)'),
  rd("bcg")$study)

## ---------------------------------------------------------------------------
## 5. Influence diagnostics
## ---------------------------------------------------------------------------

influence_list <- list()
for (s in list(list("bcg", "RR", "REML"), list("normand1999", "SMD", "DL"),
               list("hackshaw1998", "GEN", "FE"))) {
  name <- s[[1]]; measure <- s[[2]]; method <- s[[3]]
  f <- fit_call(es_prefix(name, measure),
                sprintf('yi, vi, data=es, method="%s"', method),
                "; inf <- influence(res); rs <- rstudent(res)")
  entry <- list(dataset = name, measure = measure, method = method,
                knha = FALSE, call = f$call)
  env <- f$env
  if (!is.null(env$.error)) {
    influence_list[[length(influence_list) + 1]] <- c(entry, list(error = env$.error))
    next
  }
  inf <- env$inf; rs <- env$rs; res <- env$res
  influence_list[[length(influence_list) + 1]] <- c(entry, list(
    k = res$k, p = res$p, tau2 = num(res$tau2), QE = num(res$QE),
    study = chr(rd(name)$study),
    rstudent = arr(inf$inf$rstudent), dffits = arr(inf$inf$dffits),
    cook_d = arr(inf$inf$cook.d), cov_r = arr(inf$inf$cov.r),
    tau2_del = arr(inf$inf$tau2.del), QE_del = arr(inf$inf$QE.del),
    hat = arr(inf$inf$hat), weight = arr(inf$inf$weight),   # weight in percent
    dfbs = arr(inf$dfbs$intrcpt),
    inf = lgl(inf$inf$inf == "*"),
    rstudent_resid = arr(rs$resid), rstudent_se = arr(rs$se),
    rstudent_z = arr(rs$z),
    warnings = I(env$.warnings), error = NULL))
}

## ---------------------------------------------------------------------------
## 6. Baujat plot coordinates
## ---------------------------------------------------------------------------

baujat_list <- list()
for (s in list(list("bcg", "RR", "REML"), list("normand1999", "SMD", "FE"))) {
  name <- s[[1]]; measure <- s[[2]]; method <- s[[3]]
  f <- fit_call(es_prefix(name, measure),
                sprintf('yi, vi, data=es, method="%s"', method),
                "; pdf(NULL); b <- baujat(res); invisible(dev.off())")
  env <- f$env
  entry <- list(dataset = name, measure = measure, method = method,
                knha = FALSE, call = f$call)
  if (!is.null(env$.error)) {
    baujat_list[[length(baujat_list) + 1]] <- c(entry, list(error = env$.error))
    next
  }
  baujat_list[[length(baujat_list) + 1]] <- c(entry, list(
    study = chr(rd(name)$study), x = arr(env$b$x), y = arr(env$b$y),
    warnings = I(env$.warnings), error = NULL))
}

## ---------------------------------------------------------------------------
## 7./8. Small-study tests: regtest, ranktest
## ---------------------------------------------------------------------------

sst_sets <- list(list("hackshaw1998", "GEN"), list("bcg", "RR"),
                 list("egger2001", "OR"), list("li2007", "OR"),
                 list("bangertdrowns2004", "GEN"),
                 list("raudenbush1985", "GEN"), list("normand1999", "SMD"))

lm_row <- function(fit, row) {
  cf <- coef(summary(fit))
  list(estimate = num(cf[row, 1]), se = num(cf[row, 2]),
       tval = num(cf[row, 3]), pval = num(cf[row, 4]))
}

regtest_list <- list()
ranktest_list <- list()
for (s in sst_sets) {
  name <- s[[1]]; measure <- s[[2]]
  pre <- es_prefix(name, measure)

  ## classical Egger test: weighted lm(yi ~ sei, weights = 1/vi)
  f <- fit_call(pre, 'yi, vi, data=es, method="FE"',
    paste0('; rt <- regtest(res, model="lm"); sei <- sqrt(es$vi); ',
           'fit_w <- lm(es$yi ~ sei, weights=1/es$vi); ',
           'fit_e <- lm(I(es$yi/sei) ~ I(1/sei))'))
  env <- f$env
  if (!is.null(env$.error)) stop(f$call, ": ", env$.error)
  rt <- env$rt
  regtest_list[[length(regtest_list) + 1]] <- list(
    dataset = name, measure = measure, method = "FE", knha = FALSE,
    model = "lm", predictor = "sei", call = f$call,
    k = env$res$k,
    zval = num(rt$zval),          # a t statistic (df = dfs)
    pval = num(rt$pval), dfs = num(rt$dfs),
    est = num(rt$est), ci_low = num(rt$ci.lb), ci_high = num(rt$ci.ub),
    lm_weighted = list(
      formula = "lm(yi ~ sei, weights=1/vi)",
      intercept = lm_row(env$fit_w, 1),   # = limit estimate (rt$est)
      slope_sei = lm_row(env$fit_w, 2),   # = Egger bias coefficient
      sigma = num(summary(env$fit_w)$sigma), df = env$fit_w$df.residual),
    lm_textbook = list(
      formula = "lm(I(yi/sei) ~ I(1/sei))",
      intercept = lm_row(env$fit_e, 1),   # = Egger bias coefficient
      slope = lm_row(env$fit_e, 2),       # = limit estimate
      sigma = num(summary(env$fit_e)$sigma), df = env$fit_e$df.residual),
    warnings = I(env$.warnings), error = NULL)

  ## default regtest (model="rma", predictor="sei") for FE and REML fits
  for (v in list(list("FE", FALSE), list("REML", FALSE), list("REML", TRUE))) {
    method <- v[[1]]; knha <- v[[2]]
    f <- fit_call(pre, sprintf('yi, vi, data=es, method="%s", test="%s"',
                               method, if (knha) "knha" else "z"),
                  "; rt <- regtest(res)")
    env <- f$env
    entry <- list(dataset = name, measure = measure, method = method,
                  knha = knha, model = "rma", predictor = "sei",
                  call = f$call)
    if (!is.null(env$.error)) {
      regtest_list[[length(regtest_list) + 1]] <- c(entry, list(error = env$.error))
      next
    }
    rt <- env$rt
    regtest_list[[length(regtest_list) + 1]] <- c(entry, list(
      k = env$res$k,
      zval = num(rt$zval), pval = num(rt$pval),
      dfs = num(rt$dfs),            # null under test="z"
      est = num(rt$est), ci_low = num(rt$ci.lb), ci_high = num(rt$ci.ub),
      slope = num(rt$fit$beta[2]), slope_se = num(rt$fit$se[2]),
      tau2 = num(rt$fit$tau2),      # tau2 of the model with sei as moderator
      warnings = I(env$.warnings), error = NULL))
  }

  ## rank correlation test; also the underlying cor.test, spelled out
  f <- fit_call(pre, 'yi, vi, data=es, method="REML"',
    paste0('; rk <- ranktest(res); ',
           'theta <- weighted.mean(es$yi, 1/es$vi); vstar <- es$vi - 1/sum(1/es$vi); ',
           'ystar <- (es$yi - theta)/sqrt(vstar); ',
           'ct <- cor.test(ystar, es$vi, method="kendall", exact=TRUE)'))
  env <- f$env
  if (!is.null(env$.error)) stop(f$call, ": ", env$.error)
  k <- length(env$es$yi)
  ties_y <- length(unique(env$ystar)) < k
  ties_v <- length(unique(env$es$vi)) < k
  exact_used <- !(ties_y || ties_v)
  ranktest_list[[length(ranktest_list) + 1]] <- list(
    dataset = name, measure = measure, method = "REML", call = f$call,
    k = k,
    tau = num(env$rk$tau), pval = num(env$rk$pval),
    ties_yistar = ties_y, ties_vi = ties_v,
    exact = exact_used,
    statistic_name = names(env$ct$statistic),   # "T" (exact) or "z"
    statistic = num(env$ct$statistic),
    note = paste("ranktest() calls cor.test(yi.star, vi, method=\"kendall\",",
                 "exact=TRUE) with yi.star = (yi - theta_FE)/sqrt(vi - 1/sum(1/vi));",
                 "the result does not depend on the model's method. Exact",
                 "p-value (pKendall) if neither variable has ties, otherwise",
                 "the tie-corrected normal approximation without continuity",
                 "correction (with the warning 'Cannot compute exact p-value",
                 "with ties')."),
    warnings = I(env$.warnings), error = NULL)
}

## ---------------------------------------------------------------------------
## 9. Trim and fill
## ---------------------------------------------------------------------------

tf_sets <- list(list("hackshaw1998", "GEN"), list("bcg", "RR"),
                list("egger2001", "OR"), list("raudenbush1985", "GEN"),
                list("bangertdrowns2004", "GEN"), list("normand1999", "SMD"),
                list("li2007", "OR"))

tf_entry <- function(name, measure, method, tf_args) {
  f <- fit_call(es_prefix(name, measure),
                sprintf('yi, vi, data=es, method="%s"', method),
                sprintf("; tf <- trimfill(res%s, %s)", tf_args, ctrl1))
  env <- f$env
  entry <- list(dataset = name, measure = measure, method = method,
                call = f$call)
  if (!is.null(env$.error))
    return(c(entry, list(error = env$.error, warnings = I(env$.warnings))))
  tf <- env$tf
  c(entry, list(
    k_orig = env$res$k, k = tf$k,
    estimator = tf$k0.est, side = tf$side,
    side_forced = grepl("side=", tf_args),
    k0 = num(tf$k0), se_k0 = num(tf$se.k0),
    p_k0 = num(tf$p.k0),            # R0 only
    estimate = num(tf$beta), se = num(tf$se), zval = num(tf$zval),
    pval = num(tf$pval), ci_low = num(tf$ci.lb), ci_high = num(tf$ci.ub),
    tau2 = num(tf$tau2), I2 = num(tf$I2), H2 = num(tf$H2),
    Q = num(tf$QE), Q_pval = num(tf$QEp),
    fill_yi = arr(tf$yi[tf$fill]), fill_vi = arr(tf$vi[tf$fill]),
    yi = arr(tf$yi), vi = arr(tf$vi), fill = lgl(tf$fill),
    warnings = I(env$.warnings), error = NULL))
}

trimfill_list <- list()
for (s in tf_sets) for (method in c("FE", "REML")) for (est in c("L0", "R0")) {
  trimfill_list[[length(trimfill_list) + 1]] <-
    tf_entry(s[[1]], s[[2]], method,
             if (est == "L0") "" else ', estimator="R0"')
}
for (side in c("left", "right")) for (est in c("L0", "R0")) {
  trimfill_list[[length(trimfill_list) + 1]] <-
    tf_entry("hackshaw1998", "GEN", "FE",
             sprintf(', side="%s"%s', side,
                     if (est == "L0") "" else ', estimator="R0"'))
}

## ---------------------------------------------------------------------------
## Sanity checks against metafor's documented examples
## ---------------------------------------------------------------------------

## dat.bcg, log RR, REML, mods = ablat: slope -0.0291, tau2 0.0764 (metafor docs,
## default control; 0.07635 there, 0.076348 with the tight settings)
ex <- Filter(function(e) e$dataset == "bcg" && e$mods == "~ablat" &&
               e$method == "REML" && !e$knha, regression)[[1]]
stopifnot(round(ex$estimate[2], 4) == -0.0291, abs(ex$tau2 - 0.0764) < 1e-4)
## every regtest(model="lm") matches the explicit weighted lm
for (e in Filter(function(e) e$model == "lm", regtest_list)) {
  stopifnot(isTRUE(all.equal(e$zval, e$lm_weighted$slope_sei$tval)),
            isTRUE(all.equal(e$zval, e$lm_textbook$intercept$tval)),
            isTRUE(all.equal(e$est, e$lm_weighted$intercept$estimate)))
}
## subgroup Q_between by both routes
for (e in subgroups) stopifnot(isTRUE(all.equal(e$QM, e$Q_between)))

## ---------------------------------------------------------------------------
## Write JSON
## ---------------------------------------------------------------------------

count_err <- function(l) sum(vapply(l, function(e) !is.null(e$error), logical(1)))

out <- list(
  provenance = list(
    R = R.version.string,
    metafor = as.character(packageVersion("metafor")),
    metadat = as.character(packageVersion("metadat")),
    jsonlite = as.character(packageVersion("jsonlite")),
    script = "meta_advanced.R",
    generated = format(Sys.Date()),
    notes = paste("Numbers have 17 significant digits; null = NA/NaN/Inf or",
                  "not applicable. I2, H2 as in metafor; I2, R2 and weights",
                  "are in percent. zval holds the t statistic when knha is",
                  "true. Per-study arrays are in CSV row order. Each call",
                  "string is evaluated verbatim from tests/reference/.")),
  regression = regression,
  permutation = permutation,
  subgroups = subgroups,
  leave1out = leave1out_list,
  influence = influence_list,
  baujat = baujat_list,
  regtest = regtest_list,
  ranktest = ranktest_list,
  trimfill = trimfill_list)

write_json_file(out, "meta_advanced.json")
for (s in setdiff(names(out), "provenance"))
  cat(sprintf("%-12s %4d entries, %d errors\n", s, length(out[[s]]),
              count_err(out[[s]])))
cat(sprintf("elapsed %.1f s\n", (proc.time() - t_start)[["elapsed"]]))
