# Peer side of benchmarks/meta_adversarial.py: rma() per analysis and method with tight control.
#   Rscript meta_adversarial.R IN.csv OUT.csv REML,ML,EB,PM,SJ
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
methods <- strsplit(args[3], ",")[[1]]
ids <- unique(dat$analysis)
out <- vector("list", length(ids) * length(methods))
j <- 0
ctrl <- list(threshold = 1e-12, stepadj = 0.5, maxiter = 10000, tol = 1e-12)
for (m in methods) for (a in ids) {
  d <- dat[dat$analysis == a, ]
  j <- j + 1
  r <- tryCatch(rma(d$yi, d$vi, method = m, control = ctrl), error = function(e) conditionMessage(e))
  if (is.character(r)) {
    out[[j]] <- data.frame(analysis = a, method = m, status = "error", tau2 = NA, estimate = NA, se = NA)
  } else {
    out[[j]] <- data.frame(analysis = a, method = m, status = "ok", tau2 = r$tau2, estimate = r$beta[1], se = r$se)
  }
}
res <- do.call(rbind, out)
write.csv(format(res, digits = 17), args[2], row.names = FALSE, quote = FALSE)
