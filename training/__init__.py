"""People and their learning: accounts and units, exams, study records, reports."""
