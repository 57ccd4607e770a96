"""Reports: dashboards, pass rates and the queries behind item analysis."""
