"""Studies: rows of experiment configs x seeds at one step budget, run end to end and reported
(`python -m pipelines.study`; docs/STUDY.md).

spec (the study file and each row's resolved config), keys (what finished work is found by),
stages (one unit's work in its own process), runner (the plan, resuming, progress), report
(results.md, results.csv) and plots (comparison.png, metrics.png).
"""
