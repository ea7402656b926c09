## meta_next.R -- reference results for what metafor users reach for next (issue 13, item 3):
## formula moderators with factors and interactions, predictions at new moderator values,
## the Q-profile CI of tau² in meta-regression, Egger's test as regtest(model = "rma"),
## and cumulative meta-analysis.
##
## Run from this directory:   cd tests/reference && Rscript meta_next.R
## Reads data/bcg.csv (written by meta_core.R); writes meta_next.json (%.17g, each entry with its call).

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
options(warn = 1, stringsAsFactors = FALSE)

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)
json_num <- function(x) ifelse(is.finite(x), sprintf("%.17g", x), "null")
arr <- function(x) structure(as.numeric(x), json_array = TRUE)
to_verbatim <- function(x) {
  if (is.list(x)) return(lapply(x, to_verbatim))
  if (is.numeric(x) || (is.logical(x) && all(is.na(x)))) {
    force_array <- isTRUE(attr(x, "json_array"))
    x <- as.numeric(x)
    s <- json_num(x)
    out <- if (length(x) == 1 && !force_array) s else paste0("[", paste(s, collapse = ","), "]")
    return(structure(out, class = "json"))
  }
  x
}

dat <- read.csv("data/bcg.csv")
es <- escalc(measure = "RR", ai = e1, n1i = n1, ci = e2, n2i = n2, data = dat)

## --- formula meta-regression, tau² CI, predictions --------------------------------
specs <- list(
  list(f = "~ ablat + factor(alloc)", method = "REML", knha = FALSE,
       new = list(list(ablat = 10, alloc = "random"), list(ablat = 50, alloc = "systematic")),
       newmods = rbind(c(10, 1, 0), c(50, 0, 1))),
  list(f = "~ ablat + factor(alloc)", method = "REML", knha = TRUE,
       new = list(list(ablat = 10, alloc = "random")), newmods = rbind(c(10, 1, 0))),
  list(f = "~ ablat * factor(alloc)", method = "REML", knha = FALSE,
       new = list(list(ablat = 30, alloc = "systematic")), newmods = rbind(c(30, 0, 1, 0, 30))),
  list(f = "~ ablat + year", method = "DL", knha = FALSE,
       new = list(list(ablat = 20, year = 1960)), newmods = rbind(c(20, 1960))),
  list(f = "~ alloc", method = "ML", knha = FALSE,
       new = list(list(alloc = "random")), newmods = rbind(c(1, 0))),
  list(f = "~ ablat + I(ablat^2)", method = "REML", knha = FALSE,
       new = list(list(ablat = 40)), newmods = rbind(c(40, 1600)))
)
regression <- list()
for (s in specs) {
  r <- rma(yi, vi, mods = as.formula(s$f), data = es, method = s$method, test = if (s$knha) "knha" else "z",
           control = list(threshold = 1e-12, stepadj = 0.5, maxiter = 10000))
  ci <- confint(r, control = list(tol = 1e-12))$random
  p <- predict(r, newmods = s$newmods)
  regression[[length(regression) + 1]] <- list(
    formula = s$f, method = s$method, knha = s$knha,
    call = sprintf('rma(yi, vi, mods = %s, data = es, method = "%s", test = "%s", control = list(threshold = 1e-12, stepadj = 0.5, maxiter = 10000)); confint(control = list(tol = 1e-12)); predict(newmods = ...)',
                   s$f, s$method, if (s$knha) "knha" else "z"),
    terms = rownames(r$beta), estimate = arr(r$beta), se = arr(r$se), pval = arr(r$pval),
    ci_low = arr(r$ci.lb), ci_high = arr(r$ci.ub), tau2 = num(r$tau2), QM = num(r$QM), QMp = num(r$QMp),
    QE = num(r$QE), QEp = num(r$QEp), R2 = num(r$R2),
    tau2_ci = arr(c(ci["tau^2", "ci.lb"], ci["tau^2", "ci.ub"])),
    new = s$new, pred = arr(p$pred), pred_se = arr(p$se), pred_ci_low = arr(p$ci.lb), pred_ci_high = arr(p$ci.ub),
    pi_low = arr(if (is.null(p$pi.lb)) p$cr.lb else p$pi.lb), pi_high = arr(if (is.null(p$pi.ub)) p$cr.ub else p$pi.ub))
}

## --- Egger's test: regtest() with model = "rma" (metafor's default) and "lm" -------
egger <- list()
for (m in c("REML", "DL", "FE")) for (kn in c(FALSE, TRUE)) {
  if (m == "FE" && kn) next
  fit <- rma(yi, vi, data = es, method = m, test = if (kn) "knha" else "z")
  t <- regtest(fit)
  egger[[length(egger) + 1]] <- list(
    method = m, knha = kn, call = sprintf('regtest(rma(yi, vi, data = es, method = "%s", test = "%s"))', m, if (kn) "knha" else "z"),
    stat = num(t$zval), pval = num(t$pval), df = num(t$dfs), slope = num(t$fit$beta[2]), slope_se = num(t$fit$se[2]),
    limit_estimate = num(t$est), limit_ci_low = num(t$ci.lb), limit_ci_high = num(t$ci.ub))
}

## --- cumulative meta-analysis -----------------------------------------------------
cumulative <- list()
for (m in c("REML", "DL", "FE")) for (ord in c("input", "year")) {
  fit <- rma(yi, vi, data = es, method = m, control = list(threshold = 1e-12, stepadj = 0.5, maxiter = 10000))
  cm <- if (ord == "input") cumul(fit) else cumul(fit, order = es$year)
  cumulative[[length(cumulative) + 1]] <- list(
    method = m, order = ord, call = sprintf('cumul(rma(yi, vi, data = es, method = "%s", control = list(threshold = 1e-12, stepadj = 0.5, maxiter = 10000))%s)', m, if (ord == "year") ", order = es$year" else ""),
    study = as.character(dat$study[if (ord == "year") order(es$year) else seq_len(nrow(es))]),
    estimate = arr(cm$estimate), se = arr(cm$se), pval = arr(cm$pval), ci_low = arr(cm$ci.lb), ci_high = arr(cm$ci.ub),
    Q = arr(cm$Q), Qp = arr(cm$Qp), tau2 = arr(if (is.null(cm$tau2)) rep(0, length(cm$estimate)) else cm$tau2),
    I2 = arr(cm$I2), H2 = arr(cm$H2))
}

out <- list(versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
            data = "data/bcg.csv", effects = 'escalc(measure = "RR", ai = e1, n1i = n1, ci = e2, n2i = n2, data = dat)',
            regression = regression, egger = egger, cumulative = cumulative)
txt <- toJSON(to_verbatim(out), auto_unbox = TRUE, null = "null", na = "null", json_verbatim = TRUE, pretty = TRUE)
writeLines(txt, "meta_next.json")
