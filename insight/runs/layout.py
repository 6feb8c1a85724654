"""The run contract: every file and column name of a run, the risk bands and the schema version.

This module is the one owner of a run's layout; writers and readers name files and columns through it, never
by literal. A run folder holds:

    manifest.json        MANIFEST: schema version, spec, config, metrics, versions, sha256 + size per file
    churn_model.txt      CHURN_MODEL: the LightGBM text model (never pickle)
    calibration.json     CALIBRATION: the Platt calibration of the raw score
    features.json        FEATURES: column order, roles, category maps (and the cleaned table's schema)
    multitask.pt         MULTITASK_WEIGHTS: the network's state_dict (loaded with weights_only=True)
    multitask.json       MULTITASK_SHAPE: the network's shape, tasks and input scaling
    customers.parquet    CUSTOMERS: id, inputs, targets, scores, reasons, segment, map position, split
    shap.parquet         SHAP: id, one float32 column per feature, base_value
    shap_groups.parquet  SHAP_GROUPS: SHAP sums per segment and risk band
    latent.parquet       LATENT: id and the multi-task latent vector z0..z<K-1>, in training order
    map_fit.parquet      MAP_FIT: the customers UMAP was fitted on (latent and map position), from schema 2
    map.parquet          MAP: (large runs) the sample of customers the map draws
    map_shap.parquet     MAP_SHAP: (large runs) their SHAP values
    segments.json        SEGMENTS: segment profiles and names, and how the segments were chosen

`runs/LATEST` (LATEST) names the newest complete run.
"""

from __future__ import annotations

SCHEMA_VERSION = 2
"""2: the map's fitted sample is stored (MAP_FIT). Runs of schema 1 open in the dashboard unchanged; scoring
new customers with them is refused with a message to retrain."""
READABLE_SCHEMA_VERSIONS = (1, 2)

# ------------------------------------------------------------------------------------------------ files
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest_sha256"
"""The manifest's key holding the sha256 of its own content."""
MANIFEST_SIGNATURE = "manifest_hmac_sha256"
"""The manifest's key holding its HMAC-SHA256 signature (with INSIGHT_SIGNING_KEY: insight.runs.integrity)."""
LATEST = "LATEST"
CHURN_MODEL = "churn_model.txt"
CALIBRATION = "calibration.json"
FEATURES = "features.json"
MULTITASK_WEIGHTS = "multitask.pt"
MULTITASK_SHAPE = "multitask.json"
CUSTOMERS = "customers.parquet"
SHAP = "shap.parquet"
SHAP_GROUPS = "shap_groups.parquet"
LATENT = "latent.parquet"
MAP_FIT = "map_fit.parquet"
MAP = "map.parquet"
MAP_SHAP = "map_shap.parquet"
SEGMENTS = "segments.json"
SURVIVAL_MODEL = "survival_model.json"
"""With --duration: the discrete-time hazard model (insight.survival.hazard.HazardModel's JSON)."""
SURVIVAL_SHAP = "survival_shap.parquet"
"""With --duration: exact SHAP values of the timing (the time-weighted mean hazard log-odds over each
customer's next main-horizon window), one column per survival feature, and `base_value` (per customer: the
model's typical log-odds over that customer's window, the interval feature's share included)."""
UPLIFT_MODEL = "uplift_model.json"
"""With --treatment: the uplift model chosen by held-out Qini (insight.uplift.model.UpliftModel's JSON)."""
SURVIVAL_CURVES = "survival_curves.parquet"
"""With --duration: `group` ("everyone" or a segment id), `kind` ("predicted": the members' mean predicted
S(t) from the start; "kaplan_meier", with 95 % bands), `time`, `survival`, `lower`, `upper`."""

# ---------------------------------------------------------------------------- columns of customers.parquet
CHURN_PROBABILITY = "churn_probability"
"""The calibrated LightGBM churn probability (the model of record)."""
CHURN_SCORE = "churn_score"
"""LightGBM's raw log-odds score: what the SHAP values and base value add up to."""
RISK_BAND = "risk_band"
REVENUE_AT_RISK = "revenue_at_risk"
MULTITASK_CHURN_PROBABILITY = "mt_churn_probability"
LOGISTIC_CHURN_PROBABILITY = "logistic_churn_probability"
PREDICTED_PREFIX = "predicted_"
"""`predicted_<aux>`: the multi-task head's prediction of an auxiliary target."""
REASONS = ("reason_1", "reason_2", "reason_3")
TOP_REASON = "top_reason"
SEGMENT_ID = "segment_id"
SEGMENT_NAME = "segment_name"
MAP_X, MAP_Y = "x", "y"
SPLIT = "split"
"""train / valid / test / unlabelled."""
TEST_SPLIT = "test"
MEDIAN_LIFETIME = "median_lifetime"
"""With --duration: the predicted median time to leaving, from the start (inf when the curve stays above 0.5)."""
EXPECTED_LEAVE_IN = "expected_leave_in"
"""With --duration: the median time from now (the duration so far) to leaving (inf likewise)."""
TIMING_REASONS = ("timing_reason_1", "timing_reason_2", "timing_reason_3")
UPLIFT = "uplift"
"""With --treatment: the estimated reduction in churn probability if offered (positive: the offer helps)."""
UPLIFT_LOWER, UPLIFT_UPPER = "uplift_lower", "uplift_upper"
"""With --treatment: the uplift's 90 % interval."""
CHURN_IF_NOT_OFFERED = "churn_if_not_offered"
UPLIFT_GROUP = "uplift_group"
"""With --treatment: persuadable, sure thing, lost cause or sleeping dog (insight.uplift.groups)."""
RESPONSE_REASONS = ("response_reason_1", "response_reason_2", "response_reason_3")
"""With --treatment (X- or DR-learner): what makes the customer respond, in words, from the uplift's SHAP."""
EVERYONE = "everyone"
"""survival_curves.parquet: the group of all customers."""

# --------------------------------------------------------------------------------- columns of other tables
BASE_VALUE = "base_value"
"""shap.parquet: the SHAP base value (expected raw score)."""
LATENT_PREFIX = "z"

# ------------------------------------------------------------------------------------------- risk bands
RISK_BANDS = ("low", "medium", "high", "very high")
RISK_BAND_FACTORS = {"medium": 0.5, "high": 1.5, "very high": 2.5}
"""A band starts at this multiple of the average churn rate (capped at 0.95)."""


def predicted(aux: str) -> str:
    """The column of the multi-task prediction of `aux`."""
    return f"{PREDICTED_PREFIX}{aux}"


def horizon_label(h: float) -> str:
    """'12', '0_25': a horizon as a column-name suffix."""
    return f"{h:g}".replace(".", "_")


def churn_within(h: float) -> str:
    """With --duration: P(leave within the next `h`), conditional on the time already stayed."""
    return f"churn_within_{horizon_label(h)}"


def expected_lifetime(h: float) -> str:
    """With --duration: the expected time stayed within the next `h` (restricted mean, at most `h`)."""
    return f"expected_lifetime_{horizon_label(h)}"


def value_lost(h: float) -> str:
    """With --duration and a period value: value per period x (h - expected lifetime within h)."""
    return f"value_lost_{horizon_label(h)}"


def latent_columns(dim: int) -> list[str]:
    return [f"{LATENT_PREFIX}{i}" for i in range(dim)]
