"""Exams: blueprints (组卷规则), exams and batches, attempts with frozen papers, scoring."""
