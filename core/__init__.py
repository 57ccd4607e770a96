"""Plumbing shared by `training` and `question_bank`; imports neither."""
