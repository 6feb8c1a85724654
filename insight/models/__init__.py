"""Models and explanations: the LightGBM churn model of record and its calibration, the PyTorch multi-task
network, the logistic baseline, exact TreeSHAP, reasons in words, metrics and cross-validation."""
