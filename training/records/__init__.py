"""Study records (学法档案): activities, yearly requirements, the personal record,
pre-appointment nominees and the constitutional oath."""
