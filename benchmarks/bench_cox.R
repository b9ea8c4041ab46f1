# Times R's coxph on the benchmark spells (called by benchmarks/bench_cox.py; not part of CI).
#   Rscript benchmarks/bench_cox.R spells.csv out.json [repeat]   (times: best of `repeat` runs)
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- if (length(args) >= 3) as.integer(args[3]) else 1L
best <- function(expr_fun) min(replicate(reps, system.time(expr_fun())[["elapsed"]]))
covs <- c("x1", "x2", "x3", "x4", "x5")
f <- Surv(start, stop, event) ~ x1 + x2 + x3 + x4 + x5
invisible(gc(reset = TRUE))
t_full <- best(function() fit <<- coxph(f, data = d, ties = "efron", cluster = org_id))
# the fitter alone (no model frame, no robust variance, no concordance)
X <- as.matrix(d[, covs]); Y <- Surv(d$start, d$stop, d$event)
t_agreg <- best(function() af <<- agreg.fit(X, Y, strata = NULL, offset = NULL, init = NULL,
                                       control = coxph.control(), weights = NULL, method = "efron",
                                       rownames = NULL, resid = FALSE))
mem <- gc()
out <- list(t_coxph = t_full, t_agreg = t_agreg, coef = unname(coef(fit)),
            robust_se = unname(sqrt(diag(fit$var))), se = unname(sqrt(diag(fit$naive.var))),
            loglik = fit$loglik, agreg_coef = unname(af$coefficients),
            r_max_used_mb = sum(mem[, ncol(mem)]))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), args[2])
