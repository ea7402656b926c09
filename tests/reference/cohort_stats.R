## cohort_stats.R -- reference results for hepatostat's cohort statistics
## (hepatostat.cohort.describe, .longitudinal, .models).
##
## Run from this directory:   cd tests/reference && Rscript cohort_stats.R
##
## Writes
##   data/cohort_synthetic_*.csv   synthetic patient data (fixed seeds below)
##   cohort_stats.json             R results on exactly those CSVs
##
## Every data set here is SYNTHETIC: simulated with set.seed() to look like
## the cohort of the seed paper (four groups A-D, visits at weeks 0, 1, 4, 12
## and 24, TBIL/ALT/AST/PTA/MELD), with ties, missing values, small groups
## and unbalanced baseline covariates on purpose. No patient data.
##
## Every analysis is run on the CSV *as read back from disk*. Each JSON
## entry has a `call` string with the R call that produced it.

suppressPackageStartupMessages({
  library(jsonlite)
  library(nlme)
})
options(warn = 1, stringsAsFactors = FALSE)
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

dir.create("data", showWarnings = FALSE)

## ---------------------------------------------------------------------------
## Number formatting (as meta_core.R): JSON numbers with 17 significant
## digits, written verbatim because jsonlite caps its own output at 15.
## ---------------------------------------------------------------------------
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

## Write a data frame as CSV, read it back, check the round trip is exact.
datasets <- list()
write_input <- function(df, name, description, seed) {
  out <- df
  dbl <- vapply(out, is.double, logical(1))
  out[dbl] <- lapply(out[dbl], shortest)
  chr <- which(vapply(df, is.character, logical(1)))
  path <- file.path("data", paste0(name, ".csv"))
  write.csv(out, path, row.names = FALSE, quote = chr, na = "")
  back <- read.csv(path, stringsAsFactors = FALSE, na.strings = "")
  stopifnot(identical(names(back), names(df)), nrow(back) == nrow(df))
  for (j in names(df)) {
    a <- df[[j]]; b <- back[[j]]
    ok <- if (is.character(a)) identical(a, b)
          else identical(is.na(a), is.na(b)) &&
               all(as.numeric(a) == as.numeric(b), na.rm = TRUE)
    if (!ok) stop("CSV round trip failed for ", name, "$", j)
  }
  datasets[[name]] <<- list(csv = path, rows = nrow(df), seed = seed,
                            synthetic = TRUE, description = description)
  back
}

## ---------------------------------------------------------------------------
## Synthetic data sets
## ---------------------------------------------------------------------------

## 1. Baseline table: one row per patient, four groups of the seed's sizes.
set.seed(20240517)
sizes <- c(A = 37, B = 27, C = 28, D = 31)
grp <- rep(names(sizes), sizes)
n <- length(grp)
lf <- grp %in% c("A", "B")
base <- data.frame(
  person_id = sprintf("P%03d", seq_len(n)),
  group = grp,
  sex = ifelse(runif(n) < ifelse(lf, 0.88, 0.82), "M", "F"),
  age = round(rnorm(n, ifelse(lf, 41, 47), 9)),
  alt = round(exp(rnorm(n, ifelse(lf, 4.6, 3.8), 0.9))),
  ast = round(exp(rnorm(n, ifelse(lf, 4.7, 4.2), 0.7))),
  tbil = round(exp(rnorm(n, ifelse(lf, 5.9, 5.0), 0.6)), 1),
  pta = round(rnorm(n, ifelse(lf, 36, 45), 10)),
  meld = round(rnorm(n, ifelse(lf, 27, 19), 5), 1),
  albumin = round(rnorm(n, ifelse(lf, 30, 33), 4), 1),
  etiology = sample(c("HBV", "HBV+HDV", "HBV+alcohol"), n, TRUE,
                    prob = c(0.82, 0.06, 0.12)),
  child_pugh = ifelse(lf, sample(c("A", "B", "C"), n, TRUE, prob = c(0.1, 0.35, 0.55)),
                          sample(c("A", "B", "C"), n, TRUE, prob = c(0.3, 0.45, 0.25))))
base$alt[c(3, 17)] <- NA
base$albumin[c(100, 110, 121)] <- NA
base$etiology[50] <- NA
base <- write_input(base, "cohort_synthetic_baseline",
  paste("One row per patient; groups A-D with the seed's sizes (37, 27, 28, 31);",
        "integer ALT/AST/PTA/age (ties), 1-decimal TBIL/MELD/albumin, missing",
        "values in alt, albumin, etiology."), 20240517)

## 2. Small groups: X (7), Y (9) tie-free `value`; Z has 2 patients.
set.seed(20240518)
repeat {
  v <- round(rnorm(18, 10, 3), 2)
  if (!anyDuplicated(v)) break
}
small <- data.frame(person_id = sprintf("S%02d", 1:18),
                    group = c(rep("X", 7), rep("Y", 9), rep("Z", 2)),
                    value = v,
                    score = round(rnorm(18, 5, 2)))
small <- write_input(small, "cohort_synthetic_small",
  "Small groups: X (n=7) and Y (n=9) with tie-free `value`, Z (n=2); `score` has ties.",
  20240518)

## 3. Paired before/after, tie-free differences (exact signed-rank test).
set.seed(20240519)
repeat {
  before <- round(rnorm(15, 20, 4), 2)
  after <- round(before - rnorm(15, 1, 2), 2)
  d <- before - after
  if (!any(d == 0) && !anyDuplicated(abs(d))) break
}
paired <- write_input(data.frame(person_id = sprintf("Q%02d", 1:15), before = before, after = after),
  "cohort_synthetic_paired", "15 patients, before/after with tie-free non-zero differences.", 20240519)

## 4. Long table: one row per patient and visit (weeks 0, 1, 4, 12, 24).
set.seed(20240520)
sizes_l <- c(A = 22, B = 18, C = 20, D = 20)
g <- rep(names(sizes_l), sizes_l)
N <- length(g)
ids <- sprintf("L%03d", seq_len(N))
weeks <- c(0, 1, 4, 12, 24)
lfl <- g %in% c("A", "B")
trend <- list(A = c(1, .85, .70, .45, .30), B = c(1, .80, .55, .45, .40),
              C = c(1, .95, .90, .75, .65), D = c(1, .95, .92, .88, .85))
tbil0 <- exp(rnorm(N, ifelse(lfl, 5.9, 5.0), 0.5))
alt0 <- exp(rnorm(N, ifelse(lfl, 4.8, 3.9), 0.8))
meld0 <- rnorm(N, ifelse(lfl, 26, 18), 4)
slope <- ifelse(g %in% c("A", "C"), 1.2, 0.8)
rows <- list()
for (i in seq_len(N)) for (w in seq_along(weeks)) {
  rows[[length(rows) + 1]] <- data.frame(
    person_id = ids[i], group = g[i],
    disease = if (lfl[i]) "failure" else "cirrhosis",
    week = weeks[w],
    tbil = round(tbil0[i] * trend[[g[i]]][w] * exp(rnorm(1, 0, 0.15)), 1),
    alt = round(alt0[i] * c(1, .6, .45, .4, .4)[w] * exp(rnorm(1, 0, 0.3))),
    meld = round(meld0[i] - c(0, 1, 3, 5, 6)[w] * slope[i] + rnorm(1, 0, 1.5)))
}
long <- do.call(rbind, rows)
drop <- which(long$week > 0 & runif(nrow(long)) < 0.06)   # missed visits
long <- long[-drop, ]
long$tbil[sample(which(long$week > 0), 6)] <- NA
long$tbil[long$person_id %in% c("L005", "L047") & long$week == 0] <- NA
long$alt[sample(nrow(long), 5)] <- NA
rownames(long) <- NULL
long <- write_input(long, "cohort_synthetic_long",
  paste("Long table, one row per patient-visit: 80 patients (A 22, B 18, C 20, D 20),",
        "weeks 0/1/4/12/24; ~6% of follow-up visits missing, some missing values",
        "(two baselines of tbil)."), 20240520)

## 5. Two groups unbalanced at baseline (for IPW).
set.seed(20240521)
n_ipw <- 160
ipw <- data.frame(person_id = sprintf("W%03d", 1:n_ipw),
                  age = round(rnorm(n_ipw, 45, 10)),
                  meld = round(rnorm(n_ipw, 22, 5), 1),
                  sex = ifelse(runif(n_ipw) < 0.8, "M", "F"),
                  tbil = round(exp(rnorm(n_ipw, 5.3, 0.6)), 1))
lp <- -0.5 + 0.12 * (ipw$meld - 22) - 0.05 * (ipw$age - 45) + 0.6 * (ipw$sex == "M")
tr <- rbinom(n_ipw, 1, plogis(lp))
ipw$treatment <- ifelse(tr == 1, "prolonged", "standard")
ipw$meld_decline <- round(2 + 1.5 * tr + 0.15 * (ipw$meld - 22) - 0.03 * (ipw$age - 45) +
                          rnorm(n_ipw, 0, 2.5), 1)
ipw <- write_input(ipw, "cohort_synthetic_ipw",
  "160 patients; treatment (prolonged/standard) depends on meld, age and sex; outcome meld_decline.",
  20240521)

## ---------------------------------------------------------------------------
## Helpers
## ---------------------------------------------------------------------------
q6 <- function(x) unname(quantile(x, c(0.25, 0.5, 0.75), type = 6))
can_sw <- function(x) length(x) >= 3 && length(x) <= 5000 && length(unique(x)) > 1
sw_p <- function(x) if (can_sw(x)) shapiro.test(x)$p.value else NA
group_stats <- function(x) {
  q <- q6(x)
  list(n = length(x), mean = mean(x), sd = sd(x), median = median(x),
       q1 = q[1], q3 = q[3], shapiro_p = sw_p(x))
}
## The design's rule: normal when Shapiro-Wilk p >= 0.05 in every group (a
## group that cannot be tested counts as not normal).
rule_test <- function(xs) {
  normal <- all(vapply(xs, function(x) can_sw(x) && shapiro.test(x)$p.value >= 0.05, logical(1)))
  if (length(xs) == 2) {
    if (normal) list(normal = TRUE, test = "student_t", pval = t.test(xs[[1]], xs[[2]], var.equal = TRUE)$p.value)
    else list(normal = FALSE, test = "mann_whitney",
              pval = wilcox.test(xs[[1]], xs[[2]], exact = FALSE, correct = TRUE)$p.value)
  } else {
    y <- unlist(xs); f <- factor(rep(names(xs), lengths(xs)), levels = names(xs))
    if (normal) list(normal = TRUE, test = "anova", pval = oneway.test(y ~ f, var.equal = TRUE)$p.value)
    else list(normal = FALSE, test = "kruskal", pval = kruskal.test(y ~ f)$p.value)
  }
}

## ---------------------------------------------------------------------------
## Quantiles, all nine types
## ---------------------------------------------------------------------------
probs <- c(0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1)
qvecs <- list(
  list(name = "baseline tbil, group A", x = base$tbil[base$group == "A"]),
  list(name = "baseline alt, group B (NA removed)", x = na.omit(base$alt[base$group == "B"])),
  list(name = "small value, group X", x = small$value[small$group == "X"]),
  list(name = "c(3, 1, 4, 1, 5, 9, 2, 6, 5, 3)", x = c(3, 1, 4, 1, 5, 9, 2, 6, 5, 3)))
quantiles <- lapply(qvecs, function(q) list(
  name = q$name, x = arr(q$x), probs = arr(probs),
  types = lapply(1:9, function(t) arr(unname(quantile(q$x, probs, type = t)))),
  call = "quantile(x, probs, type = t) for t in 1:9"))

## ---------------------------------------------------------------------------
## Shapiro-Wilk, per variable and group
## ---------------------------------------------------------------------------
contvars <- c("age", "alt", "ast", "tbil", "pta", "meld", "albumin")
shapiro <- list()
for (v in contvars) for (G in names(sizes)) {
  x <- na.omit(base[[v]][base$group == G])
  s <- shapiro.test(x)
  shapiro[[length(shapiro) + 1]] <- list(dataset = "cohort_synthetic_baseline", variable = v, group = G,
    n = length(x), W = unname(s$statistic), pval = s$p.value,
    call = sprintf("shapiro.test(na.omit(base$%s[base$group == '%s']))", v, G))
}

## ---------------------------------------------------------------------------
## Continuous comparisons: Table 1 (A vs B, C vs D), Table 2 (A vs C, B vs D),
## all four groups, and the small groups.
## ---------------------------------------------------------------------------
cont_entry <- function(df, dsname, v, groups) {
  xs <- lapply(groups, function(G) as.numeric(na.omit(df[[v]][df$group == G])))
  names(xs) <- groups
  e <- list(dataset = dsname, variable = v, groups = groups,
            stats = lapply(xs, group_stats), rule = rule_test(xs))
  if (length(groups) == 2) {
    st <- t.test(xs[[1]], xs[[2]], var.equal = TRUE)
    wt <- t.test(xs[[1]], xs[[2]], var.equal = FALSE)
    mw <- wilcox.test(xs[[1]], xs[[2]], exact = FALSE, correct = TRUE)
    e$student_t <- list(statistic = unname(st$statistic), df = unname(st$parameter), pval = st$p.value,
                        call = "t.test(x, y, var.equal = TRUE)")
    e$welch_t <- list(statistic = unname(wt$statistic), df = unname(wt$parameter), pval = wt$p.value,
                      call = "t.test(x, y, var.equal = FALSE)")
    e$mann_whitney <- list(statistic = unname(mw$statistic), pval = mw$p.value,
                           call = "wilcox.test(x, y, exact = FALSE, correct = TRUE)")
  }
  y <- unlist(xs); f <- factor(rep(groups, lengths(xs)), levels = groups)
  a1 <- oneway.test(y ~ f, var.equal = TRUE)
  a2 <- oneway.test(y ~ f, var.equal = FALSE)
  av <- summary(aov(y ~ f))[[1]]
  kw <- kruskal.test(y ~ f)
  e$anova <- list(statistic = unname(a1$statistic), df1 = unname(a1$parameter[1]),
                  df2 = unname(a1$parameter[2]), pval = a1$p.value,
                  aov_F = av[["F value"]][1], aov_pval = av[["Pr(>F)"]][1],
                  call = "oneway.test(y ~ f, var.equal = TRUE); summary(aov(y ~ f))")
  e$welch_anova <- list(statistic = unname(a2$statistic), df1 = unname(a2$parameter[1]),
                        df2 = unname(a2$parameter[2]), pval = a2$p.value,
                        call = "oneway.test(y ~ f, var.equal = FALSE)")
  e$kruskal <- list(statistic = unname(kw$statistic), df = unname(kw$parameter), pval = kw$p.value,
                    call = "kruskal.test(y ~ f)")
  e$call <- sprintf("x_G <- na.omit(%s$%s[group == G]) for G in %s", dsname, v, paste(groups, collapse = ","))
  e
}
group_sets <- list(c("A", "B"), c("C", "D"), c("A", "C"), c("B", "D"), c("A", "B", "C", "D"))
continuous <- list()
for (gs in group_sets) for (v in contvars)
  continuous[[length(continuous) + 1]] <- cont_entry(base, "cohort_synthetic_baseline", v, gs)
continuous[[length(continuous) + 1]] <- cont_entry(small, "cohort_synthetic_small", "value", c("X", "Y"))
continuous[[length(continuous) + 1]] <- cont_entry(small, "cohort_synthetic_small", "score", c("X", "Y"))
## a group of 2 cannot be tested for normality: the rule gives Kruskal-Wallis
continuous[[length(continuous) + 1]] <- cont_entry(small, "cohort_synthetic_small", "value", c("X", "Y", "Z"))

## ---------------------------------------------------------------------------
## Categorical: chi-square without correction, Fisher (2x2 and r x c)
## ---------------------------------------------------------------------------
cat_entry <- function(df, dsname, v, groups) {
  d <- df[df$group %in% groups & !is.na(df[[v]]), ]
  levels <- sort(unique(d[[v]]))
  tab <- table(factor(d[[v]], levels = levels), factor(d$group, levels = groups))
  cs <- suppressWarnings(chisq.test(tab, correct = FALSE))
  fp <- fisher.test(tab, workspace = 2e7)$p.value
  use_fisher <- any(cs$expected < 5)
  list(dataset = dsname, variable = v, groups = groups, levels = levels,
       counts = lapply(seq_along(groups), function(j) arr(tab[, j])),
       chisq = list(statistic = unname(cs$statistic), df = unname(cs$parameter), pval = cs$p.value,
                    min_expected = min(cs$expected), call = "chisq.test(tab, correct = FALSE)"),
       fisher = list(pval = fp, call = "fisher.test(tab, workspace = 2e7)"),
       rule = list(test = if (use_fisher) "fisher" else "chi2", pval = if (use_fisher) fp else cs$p.value),
       call = sprintf("tab <- table(%s, group) for groups %s", v, paste(groups, collapse = ",")))
}
categorical <- list()
for (gs in group_sets) for (v in c("sex", "etiology", "child_pugh"))
  categorical[[length(categorical) + 1]] <- cat_entry(base, "cohort_synthetic_baseline", v, gs)

## ---------------------------------------------------------------------------
## Exact Mann-Whitney, Hodges-Lehmann (wilcox.test(conf.int = TRUE))
## ---------------------------------------------------------------------------
xs <- small$value[small$group == "X"]; ys <- small$value[small$group == "Y"]
mwe <- wilcox.test(xs, ys, exact = TRUE, conf.int = TRUE)
mann_whitney_exact <- list(list(dataset = "cohort_synthetic_small", variable = "value", groups = c("X", "Y"),
  statistic = unname(mwe$statistic), pval = mwe$p.value, call = "wilcox.test(x, y, exact = TRUE)"))
hl_entry <- function(df, dsname, v, groups, exact) {
  x <- na.omit(df[[v]][df$group == groups[1]]); y <- na.omit(df[[v]][df$group == groups[2]])
  w <- wilcox.test(x, y, exact = exact, correct = TRUE, conf.int = TRUE, conf.level = 0.95)
  list(dataset = dsname, variable = v, groups = groups, exact = exact,
       estimate = unname(w$estimate), ci_low = w$conf.int[1], ci_high = w$conf.int[2],
       statistic = unname(w$statistic), pval = w$p.value,
       call = sprintf("wilcox.test(x, y, exact = %s, correct = TRUE, conf.int = TRUE)", exact))
}
hodges_lehmann <- list(
  hl_entry(small, "cohort_synthetic_small", "value", c("X", "Y"), TRUE),
  hl_entry(small, "cohort_synthetic_small", "value", c("X", "Y"), FALSE),
  hl_entry(base, "cohort_synthetic_baseline", "alt", c("A", "B"), FALSE),
  hl_entry(base, "cohort_synthetic_baseline", "pta", c("C", "D"), FALSE),
  hl_entry(base, "cohort_synthetic_baseline", "meld", c("A", "C"), FALSE),
  hl_entry(base, "cohort_synthetic_baseline", "tbil", c("B", "D"), FALSE))

## ---------------------------------------------------------------------------
## Over time within groups: Friedman (complete cases), signed rank vs week 0
## ---------------------------------------------------------------------------
wide <- function(o) {
  m <- matrix(NA_real_, N, length(weeks), dimnames = list(ids, weeks))
  m[cbind(match(long$person_id, ids), match(long$week, weeks))] <- long[[o]]
  m
}
pgroup <- setNames(g, ids)
pdisease <- setNames(ifelse(lfl, "failure", "cirrhosis"), ids)
friedman <- list(); signed_rank <- list()
for (o in c("tbil", "alt", "meld")) {
  m <- wide(o)
  for (by in c("disease", "group")) {
    lab <- if (by == "disease") pdisease else pgroup
    for (G in unique(lab)) {
      mg <- m[lab == G, , drop = FALSE]
      cc <- mg[complete.cases(mg), , drop = FALSE]
      ft <- friedman.test(cc)
      friedman[[length(friedman) + 1]] <- list(dataset = "cohort_synthetic_long", outcome = o, by = by,
        group = G, n_complete = nrow(cc), n_any = sum(rowSums(!is.na(mg)) > 0),
        statistic = unname(ft$statistic), df = unname(ft$parameter), pval = ft$p.value,
        call = "friedman.test(m[complete.cases(m), ])  # rows = patients, columns = weeks 0,1,4,12,24")
      ps <- c(); ent <- list()
      for (w in as.character(weeks[-1])) {
        ok <- !is.na(mg[, "0"]) & !is.na(mg[, w])
        wt <- wilcox.test(mg[ok, "0"], mg[ok, w], paired = TRUE, exact = FALSE, correct = TRUE)
        ps <- c(ps, wt$p.value)
        ent[[length(ent) + 1]] <- list(week = as.numeric(w), n = sum(ok),
          n_nonzero = sum(mg[ok, "0"] != mg[ok, w]),
          statistic = unname(wt$statistic), pval = wt$p.value)
      }
      ph <- p.adjust(ps, "holm"); pb <- p.adjust(ps, "BH")
      for (k in seq_along(ent)) { ent[[k]]$pval_holm <- ph[k]; ent[[k]]$pval_BH <- pb[k] }
      signed_rank[[length(signed_rank) + 1]] <- list(dataset = "cohort_synthetic_long", outcome = o, by = by,
        group = G, baseline = 0, visits = ent,
        call = "wilcox.test(x0, xt, paired = TRUE, exact = FALSE, correct = TRUE); p.adjust(p, 'holm'/'BH')")
    }
  }
}
sre <- wilcox.test(paired$before, paired$after, paired = TRUE, exact = TRUE)
sra <- wilcox.test(paired$before, paired$after, paired = TRUE, exact = FALSE, correct = TRUE)
signed_rank_paired <- list(dataset = "cohort_synthetic_paired",
  exact = list(statistic = unname(sre$statistic), pval = sre$p.value,
               call = "wilcox.test(before, after, paired = TRUE, exact = TRUE)"),
  approx = list(statistic = unname(sra$statistic), pval = sra$p.value,
                call = "wilcox.test(before, after, paired = TRUE, exact = FALSE, correct = TRUE)"))

## ---------------------------------------------------------------------------
## Table 3: declines (earlier - later) by interval and cumulative
## ---------------------------------------------------------------------------
pairs <- list(c("A", "B"), c("C", "D"), c("A", "C"), c("B", "D"))
cols <- c(lapply(1:4, function(k) c(weeks[k], weeks[k + 1], 0)),
          lapply(2:5, function(k) c(0, weeks[k], 1)))
changes <- list()
for (o in c("tbil", "alt", "meld")) {
  m <- wide(o)
  for (cl in cols) {
    a <- as.character(cl[1]); b <- as.character(cl[2])
    dec <- m[, a] - m[, b]
    xs <- lapply(names(sizes_l), function(G) as.numeric(na.omit(dec[pgroup == G])))
    names(xs) <- names(sizes_l)
    normal <- all(vapply(xs, function(x) can_sw(x) && shapiro.test(x)$p.value >= 0.05, logical(1)))
    pr <- lapply(pairs, function(p) {
      x <- xs[[p[1]]]; y <- xs[[p[2]]]
      if (normal) { t <- t.test(x, y, var.equal = TRUE); list(a = p[1], b = p[2], test = "student_t",
                      statistic = unname(t$statistic), pval = t$p.value) }
      else { t <- wilcox.test(x, y, exact = FALSE, correct = TRUE); list(a = p[1], b = p[2], test = "mann_whitney",
                      statistic = unname(t$statistic), pval = t$p.value) }
    })
    changes[[length(changes) + 1]] <- list(dataset = "cohort_synthetic_long", outcome = o,
      start = cl[1], end = cl[2], cumulative = cl[3] == 1, normal = normal,
      stats = lapply(xs, group_stats), pairs = pr,
      call = "decline = x[start] - x[end] per patient; rule_test() on groups; t.test(var.equal=TRUE) or wilcox.test(exact=FALSE, correct=TRUE)")
  }
}

## ---------------------------------------------------------------------------
## Linear mixed model: nlme::lme, REML, random intercept per patient
## ---------------------------------------------------------------------------
lme_entry <- function(outcome, groups) {
  d <- long[long$group %in% groups & !is.na(long[[outcome]]), ]
  d$group <- factor(d$group, levels = groups)
  fml <- as.formula(paste(outcome, "~ group * week"))
  fit <- lme(fml, random = ~ 1 | person_id, data = d, method = "REML",
             control = lmeControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-12,
                                  msTol = 1e-14, niterEM = 100))
  tt <- summary(fit)$tTable
  vc <- VarCorr(fit)
  ci <- intervals(fit, which = "fixed")$fixed
  list(dataset = "cohort_synthetic_long", outcome = outcome, groups = groups,
       n_obs = nrow(d), n_ids = length(unique(d$person_id)),
       fixed = lapply(seq_len(nrow(tt)), function(i) list(term = rownames(tt)[i],
         estimate = tt[i, "Value"], se = tt[i, "Std.Error"], df = tt[i, "DF"],
         t = tt[i, "t-value"], pval = tt[i, "p-value"], ci_low = ci[i, "lower"], ci_high = ci[i, "upper"])),
       var_intercept = as.numeric(vc["(Intercept)", "Variance"]),
       var_residual = as.numeric(vc["Residual", "Variance"]),
       logLik = as.numeric(logLik(fit)),
       call = sprintf("lme(%s ~ group * week, random = ~1 | person_id, method = 'REML') on groups %s",
                      outcome, paste(groups, collapse = ",")))
}
lme_fits <- list(lme_entry("tbil", c("A", "B", "C", "D")), lme_entry("meld", c("A", "B")))

## ---------------------------------------------------------------------------
## ANCOVA: decline W0-W24 on group, adjusted for baseline (lm)
## ---------------------------------------------------------------------------
mt <- wide("tbil")
an <- data.frame(person_id = ids, group = factor(pgroup, levels = names(sizes_l)),
                 baseline = mt[, "0"], followup = mt[, "24"])
an <- an[complete.cases(an), ]
an$decline <- an$baseline - an$followup
lmf <- lm(decline ~ group + baseline, data = an)
co <- summary(lmf)$coefficients
cil <- confint(lmf)
ancova <- list(dataset = "cohort_synthetic_long", outcome = "tbil", weeks = arr(c(0, 24)), n = nrow(an),
  coefficients = lapply(seq_len(nrow(co)), function(i) list(term = rownames(co)[i],
    estimate = co[i, 1], se = co[i, 2], t = co[i, 3], pval = co[i, 4], ci_low = cil[i, 1], ci_high = cil[i, 2])),
  sigma = summary(lmf)$sigma, df = lmf$df.residual,
  call = "lm(decline ~ group + baseline) with decline = tbil[week 0] - tbil[week 24]")

## ---------------------------------------------------------------------------
## Inverse-probability weighting (stabilised), SMD balance, weighted difference
## ---------------------------------------------------------------------------
ipw$treated <- as.numeric(ipw$treatment == "prolonged")
ps <- glm(treated ~ age + meld + sex + tbil, family = binomial, data = ipw,
          control = glm.control(epsilon = 1e-15, maxit = 100))
e <- fitted(ps)
pt <- mean(ipw$treated)
sw <- ifelse(ipw$treated == 1, pt / e, (1 - pt) / (1 - e))
wvar <- function(x, w) { m <- sum(w * x) / sum(w); sum(w) / (sum(w)^2 - sum(w^2)) * sum(w * (x - m)^2) }
smd_cont <- function(x, t, w) {
  m1 <- sum(w[t == 1] * x[t == 1]) / sum(w[t == 1]); m0 <- sum(w[t == 0] * x[t == 0]) / sum(w[t == 0])
  c(m1, m0, (m1 - m0) / sqrt((wvar(x[t == 1], w[t == 1]) + wvar(x[t == 0], w[t == 0])) / 2))
}
smd_bin <- function(x, t, w) {
  p1 <- sum(w[t == 1] * x[t == 1]) / sum(w[t == 1]); p0 <- sum(w[t == 0] * x[t == 0]) / sum(w[t == 0])
  c(p1, p0, (p1 - p0) / sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2))
}
one <- rep(1, n_ipw)
bal <- list()
for (v in c("age", "meld", "tbil")) {
  b <- smd_cont(ipw[[v]], ipw$treated, one); a <- smd_cont(ipw[[v]], ipw$treated, sw)
  bal[[length(bal) + 1]] <- list(covariate = v, mean_treated = b[1], mean_control = b[2], smd = b[3],
    mean_treated_w = a[1], mean_control_w = a[2], smd_w = a[3])
}
xm <- as.numeric(ipw$sex == "M")
b <- smd_bin(xm, ipw$treated, one); a <- smd_bin(xm, ipw$treated, sw)
bal[[length(bal) + 1]] <- list(covariate = "sex=M", mean_treated = b[1], mean_control = b[2], smd = b[3],
  mean_treated_w = a[1], mean_control_w = a[2], smd_w = a[3])
wf <- lm(meld_decline ~ treated, data = ipw, weights = sw)
X <- model.matrix(wf); r <- resid(wf)
bread <- solve(t(X) %*% (sw * X))
meat <- t(X) %*% ((sw^2 * r^2) * X)
V <- bread %*% meat %*% bread
ipw_ref <- list(dataset = "cohort_synthetic_ipw",
  propensity = lapply(seq_along(coef(ps)), function(i) list(term = names(coef(ps))[i],
    estimate = unname(coef(ps)[i]), se = unname(sqrt(diag(vcov(ps)))[i]))),
  weights_first = arr(sw[1:10]), weights_sum = sum(sw), weights_min = min(sw), weights_max = max(sw),
  p_treated = pt, balance = bal,
  mean_treated_w = sum(sw * ipw$meld_decline * ipw$treated) / sum(sw * ipw$treated),
  mean_control_w = sum(sw * ipw$meld_decline * (1 - ipw$treated)) / sum(sw * (1 - ipw$treated)),
  difference = unname(coef(wf)[2]), se_hc0 = sqrt(V[2, 2]),
  call = paste("glm(treated ~ age + meld + sex + tbil, binomial); sw = P(T)/e or (1-P(T))/(1-e);",
               "lm(meld_decline ~ treated, weights = sw) with the HC0 sandwich; weighted SMDs",
               "with Austin & Stuart (2015) weighted variances"))

## ---------------------------------------------------------------------------
## p.adjust
## ---------------------------------------------------------------------------
pv <- c(0.01, 0.04, 0.03, NA, 0.2, 0.005, 0.04)
## hepatostat counts only the P values that exist (a missing P value is a
## test not done), i.e. p.adjust(p[!is.na(p)]); R's default n = length(p)
## would count the NA too.
p_adjust <- lapply(c("holm", "BH", "bonferroni", "hochberg", "BY"), function(mth) {
  adj <- rep(NA_real_, length(pv))
  adj[!is.na(pv)] <- p.adjust(pv[!is.na(pv)], mth)
  list(method = mth, p = arr(pv), adjusted = arr(adj),
       adjusted_n_all = arr(p.adjust(pv, mth)),
       call = sprintf("adj[!is.na(p)] <- p.adjust(p[!is.na(p)], method = '%s'); adjusted_n_all: p.adjust(p, '%s')", mth, mth))
})

## ---------------------------------------------------------------------------
out <- list(
  provenance = list(
    R = R.version.string,
    nlme = as.character(packageVersion("nlme")),
    jsonlite = as.character(packageVersion("jsonlite")),
    script = "cohort_stats.R",
    generated = format(Sys.Date()),
    notes = paste("All data sets are synthetic (set.seed values in `datasets`).",
                  "Numbers have 17 significant digits; null = NA/NaN/Inf or not applicable.",
                  "Quartiles are quantile(type = 6) (SPSS). Declines are earlier minus later.")),
  datasets = datasets,
  quantiles = quantiles,
  shapiro = shapiro,
  continuous = continuous,
  categorical = categorical,
  mann_whitney_exact = mann_whitney_exact,
  hodges_lehmann = hodges_lehmann,
  friedman = friedman,
  signed_rank = signed_rank,
  signed_rank_paired = signed_rank_paired,
  changes = changes,
  lme = lme_fits,
  ancova = ancova,
  ipw = ipw_ref,
  p_adjust = p_adjust)
write_json_file(out, "cohort_stats.json")
cat("wrote cohort_stats.json\n")
