"""Evaluation of any policy: seeded episodes, success intervals, IQM with bootstrap CIs, learning curves,
plots and videos."""
