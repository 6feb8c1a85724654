"""Decisions on top of the scores: whom to contact (targeting) and what-if edits with retention suggestions."""
