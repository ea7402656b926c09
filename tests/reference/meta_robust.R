## meta_robust.R -- reference results for the kernel's hard cases (issue 13 items 1-2, issue 14).
##
## Run from this directory:   cd tests/reference && Rscript meta_robust.R
##
## Writes
##   data/meta_robust_hard.csv   hard analyses (k = 2-3, tau² at or near 0, variance
##                               ratios of 1e6, identical effects, huge heterogeneity)
##   meta_robust.json            metafor results: rma() on every hard analysis with tight
##                               control (threshold 1e-12, stepadj 0.5), rma.mh() with no
##                               events / only events in every table, leave1out() with
##                               k = 2, trimfill() on extreme data.
## Every number is written with %.17g; each entry carries the R call.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
options(warn = 1, stringsAsFactors = FALSE)
dir.create("data", showWarnings = FALSE)

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)
json_num <- function(x) ifelse(is.finite(x), sprintf("%.17g", x), "null")
to_verbatim <- function(x) {
  if (is.list(x)) return(lapply(x, to_verbatim))
  if (is.numeric(x) || (is.logical(x) && all(is.na(x)))) {
    x <- as.numeric(x)
    s <- json_num(x)
    out <- if (length(x) == 1) s else paste0("[", paste(s, collapse = ","), "]")
    return(structure(out, class = "json"))
  }
  x
}

## --- hard analyses -----------------------------------------------------------
set.seed(20261129)
rows <- list()
kinds <- c("k2_3", "tau2_near_0", "variance_ratio_1e6", "identical_effects", "huge_heterogeneity")
a <- 0
for (kind in kinds) for (rep in 1:8) {
  a <- a + 1
  if (kind == "k2_3") {
    k <- sample(2:3, 1); vi <- 10^runif(k, -3, 1); yi <- rnorm(k, 0, sqrt(vi + sample(c(0, 0.01, 1), 1)))
  } else if (kind == "tau2_near_0") {
    k <- sample(2:30, 1); vi <- runif(k, 0.01, 0.5); yi <- 0.3 + rnorm(k, 0, sqrt(vi)) * runif(1, 0.2, 1.2) + rnorm(k, 0, 1e-4)
  } else if (kind == "variance_ratio_1e6") {
    k <- sample(2:30, 1); vi <- 10^runif(k, -4, 2); vi[1] <- 1e-4; vi[k] <- 1e2
    yi <- rnorm(k, 0, sqrt(vi + sample(c(0, 1e-3, 0.1, 10), 1)))
  } else if (kind == "identical_effects") {
    k <- sample(2:30, 1); vi <- 10^runif(k, -3, 1); yi <- rep(round(rnorm(1), 3), k)
  } else {
    k <- sample(2:30, 1); vi <- 10^runif(k, -6, -3); yi <- rnorm(k, 0, 10^runif(1, 0, 2))
  }
  rows[[a]] <- data.frame(analysis = a, kind = kind, yi = sprintf("%.17g", yi), vi = sprintf("%.17g", vi))
}
hard <- do.call(rbind, rows)
write.csv(hard, "data/meta_robust_hard.csv", row.names = FALSE, quote = FALSE)
hard <- read.csv("data/meta_robust_hard.csv")

ctrl <- list(threshold = 1e-12, stepadj = 0.5, maxiter = 10000, tol = 1e-12)
fits <- list()
for (m in c("REML", "ML", "EB", "PM", "SJ", "DL", "HE")) for (i in unique(hard$analysis)) {
  d <- hard[hard$analysis == i, ]
  r <- tryCatch(rma(d$yi, d$vi, method = m, control = ctrl), error = function(e) conditionMessage(e))
  call <- sprintf('rma(yi, vi, data = subset(hard, analysis == %d), method = "%s", control = list(threshold = 1e-12, stepadj = 0.5, maxiter = 10000, tol = 1e-12))', i, m)
  if (is.character(r)) {
    fits[[length(fits) + 1]] <- list(analysis = i, kind = d$kind[1], method = m, call = call, error = r)
  } else {
    fits[[length(fits) + 1]] <- list(analysis = i, kind = d$kind[1], method = m, call = call, error = NA,
                                     tau2 = num(r$tau2), estimate = num(r$beta[1]), se = num(r$se))
  }
}

## --- Mantel-Haenszel with no events / only events in every table -------------
mh_sets <- list(
  none = data.frame(study = c("s1", "s2", "s3"), e1 = c(0, 0, 0), n1 = c(10, 20, 15), e2 = c(0, 0, 0), n2 = c(12, 18, 15)),
  all = data.frame(study = c("s1", "s2", "s3"), e1 = c(10, 20, 15), n1 = c(10, 20, 15), e2 = c(12, 18, 15), n2 = c(12, 18, 15))
)
mh <- list()
for (nm in names(mh_sets)) {
  write.csv(mh_sets[[nm]], sprintf("data/meta_robust_mh_%s.csv", nm), row.names = FALSE, quote = FALSE)
  d <- read.csv(sprintf("data/meta_robust_mh_%s.csv", nm))
  for (meas in c("RD", "RR", "OR")) {
    r <- suppressWarnings(rma.mh(ai = e1, n1i = n1, ci = e2, n2i = n2, data = d, measure = meas))
    mh[[length(mh) + 1]] <- list(
      dataset = nm, csv = sprintf("data/meta_robust_mh_%s.csv", nm), measure = meas,
      call = sprintf('rma.mh(ai = e1, n1i = n1, ci = e2, n2i = n2, data = d, measure = "%s")', meas),
      estimate = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
      ci_low = num(r$ci.lb), ci_high = num(r$ci.ub), Q = num(r$QE), k = num(r$k))
  }
}

## --- leave-one-out with k = 2 and I² > 50 % ----------------------------------
k2 <- data.frame(study = c("a", "b"), yi = c(0.1, 1.5), vi = c(0.01, 0.02))
write.csv(k2, "data/meta_robust_loo_k2.csv", row.names = FALSE, quote = FALSE)
k2 <- read.csv("data/meta_robust_loo_k2.csv")
loo <- list()
for (m in c("REML", "DL", "FE")) {
  r <- rma(yi, vi, data = k2, method = m)
  l <- as.data.frame(leave1out(r))
  loo[[m]] <- list(call = sprintf('leave1out(rma(yi, vi, data = k2, method = "%s"))', m), I2_full = num(r$I2),
                   estimate = num(l$estimate), se = num(l$se), pval = num(l$pval), ci_low = num(l$ci.lb),
                   ci_high = num(l$ci.ub), Q = num(l$Q), Qp = num(l$Qp), tau2 = num(l$tau2), I2 = num(l$I2), H2 = num(l$H2))
}

## --- trim-and-fill on extreme legal data (variance of S_r negative) -----------
tfd <- data.frame(study = paste0("s", 1:10),
  yi = c(-232.50307746388344, -124.59109472530652, -73.22673547034516, -54.42589828573099, -31.630015636915452,
         -21.87916639325457, -12.853466294403425, 4.13259793472436, 41.163053637413284, 104.25133694426776),
  vi = c(0.0022332305940548545, 0.00016027567687951387, 0.00012095899718636777, 1.165067790756247, 3.6625021338277493,
         0.10793912143753744, 0.4441020776240252, 0.05225465170047359, 4.735459415790206, 1.2002391000117167))
write.csv(data.frame(study = tfd$study, yi = sprintf("%.17g", tfd$yi), vi = sprintf("%.17g", tfd$vi)),
          "data/meta_robust_trimfill.csv", row.names = FALSE, quote = FALSE)
tfd <- read.csv("data/meta_robust_trimfill.csv")
tf <- suppressWarnings(trimfill(rma(yi, vi, data = tfd, method = "FE")))
trimfill_extreme <- list(call = 'trimfill(rma(yi, vi, data = tfd, method = "FE"))', k0 = num(tf$k0), se_k0 = num(tf$se.k0),
                         side = tf$side, estimate = num(tf$beta), se = num(tf$se))

out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
  hard = list(csv = "data/meta_robust_hard.csv", fits = fits),
  mh_zero = mh, loo_k2 = loo, trimfill_extreme = trimfill_extreme
)
txt <- toJSON(to_verbatim(out), auto_unbox = TRUE, null = "null", na = "null", json_verbatim = TRUE, pretty = TRUE)
writeLines(txt, "meta_robust.json")
