"""The daily full refresh: everything under incoming/, legacy/ and sample/, then every derived asset."""

import dagster as dg

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job_name="benchmark_job",
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 03:00 UTC: rescan all drop folders and refresh every asset, even if no sensor run did.",
)
