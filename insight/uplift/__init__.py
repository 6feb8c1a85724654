"""Uplift: who a retention offer actually moves, learned from a past campaign with a control group (issue 17).

checks.py (is the treatment column 0/1, are both groups large enough, was it randomised or is its propensity
given), boosting.py (the LightGBM fits), learners.py (T-, X- and DR-learners of tau(x) = P(churn | no offer) -
P(churn | offer)), model.py (the fitted UpliftModel: predict, interval, exact SHAP, JSON), metrics.py (uplift
and Qini curves, AUUC, Qini coefficient; checked against scikit-uplift), select.py (the learner chosen by its
Qini coefficient on held-out customers), groups.py (persuadable, sure thing, lost cause, sleeping dog),
predict.py (the per-customer columns), evaluate.py (held-out figures and curves for the manifest).

Not wired into the CLI, the pipeline or the runs yet.
"""
