# Peer side of benchmarks/run.py: the same analyses with R metafor, timed as a
# whole process by the caller. Usage:
#   Rscript metafor_bench.R per   IN.csv OUT.csv   # rma(method="REML") per analysis
#   Rscript metafor_bench.R one   IN.csv           # one rma() on a small file
#   Rscript metafor_bench.R pergen IN.csv OUT.csv  # rma(yi, vi, method="REML", stepadj 0.5) per analysis
#   Rscript metafor_bench.R onegen IN.csv          # one rma(yi, vi) on a small file
#   Rscript metafor_bench.R perm  IN.csv ITER      # permutest() of a meta-regression
#   Rscript metafor_bench.R loo   IN.csv           # leave1out() and influence()
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
mode <- args[1]
dat <- read.csv(args[2])
if (mode == "per") {
  es <- escalc(measure = "SMD", m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2, n2i = n2, data = dat)
  ids <- unique(es$analysis)
  out <- data.frame(analysis = ids, estimate = NA_real_, se = NA_real_, tau2 = NA_real_)
  for (i in seq_along(ids)) {
    res <- rma(yi, vi, data = es, subset = (analysis == ids[i]), method = "REML",
               control = list(maxiter = 1000))
    out$estimate[i] <- res$beta[1]
    out$se[i] <- res$se
    out$tau2[i] <- res$tau2
  }
  write.csv(out, args[3], row.names = FALSE)
} else if (mode == "pergen") {
  ## generic yi/vi, step halving as issue 13 asks of metafor (default control fails on hard ones)
  ids <- unique(dat$analysis)
  parts <- split(dat, factor(dat$analysis, levels = ids))
  out <- data.frame(analysis = ids, status = "ok", estimate = NA_real_, se = NA_real_, tau2 = NA_real_)
  t <- system.time(for (i in seq_along(ids)) {
    d <- parts[[i]]
    res <- tryCatch(rma(d$yi, d$vi, method = "REML", control = list(stepadj = 0.5, maxiter = 1000)),
                    error = function(e) NULL)
    if (is.null(res)) { out$status[i] <- "error"; next }
    out$estimate[i] <- res$beta[1]
    out$se[i] <- res$se
    out$tau2[i] <- res$tau2
  })
  write.csv(out, args[3], row.names = FALSE)
  cat(t[["elapsed"]], "\n", file = sub("\\.csv$", ".time", args[3]), append = TRUE)
} else if (mode == "onegen") {
  print(rma(yi, vi, data = dat, method = "REML"))
} else if (mode == "one") {
  es <- escalc(measure = "SMD", m1i = m1, sd1i = sd1, n1i = n1, m2i = m2, sd2i = sd2, n2i = n2, data = dat)
  print(rma(yi, vi, data = es, method = "REML"))
} else if (mode == "perm") {
  es <- escalc(measure = "RR", ai = e1, n1i = n1, ci = e2, n2i = n2, data = dat)
  res <- rma(yi, vi, mods = ~ ablat, data = es, method = "REML")
  set.seed(1)
  t <- system.time(pt <- permutest(res, iter = as.integer(args[3]), progbar = FALSE))
  print(pt)
  cat("ELAPSED", t[["elapsed"]], "\n")
} else if (mode == "loo") {
  es <- escalc(measure = "RR", ai = e1, n1i = n1, ci = e2, n2i = n2, data = dat)
  res <- rma(yi, vi, data = es, method = "REML")
  print(leave1out(res))
  print(influence(res))
}
