"""When things run besides the drop-folder sensor: the daily full refresh, and reports and snapshot on their own clock.

A drop's run (the sensor's) ingests and brings the warehouse, the derived tables and the regression flags
up to date, and stops there. Reports and the snapshot cost seconds each and change only when their inputs
did, so they follow declarative automation: once an hour, if anything upstream was updated since the last
hour. ``benchmark_job`` without config (UI, CI, the daily schedule) still builds everything.
"""

import dagster as dg

REPORTS_AND_SNAPSHOT = dg.AssetSelection.groups("reports", "snapshots")
# The LLM answers expire (defs/analytics/llm.py): the same sensor evaluates their condition.
AUTOMATED = REPORTS_AND_SNAPSHOT | dg.AssetSelection.assets("llm_answers")
# Hourly, and only after an upstream asset was materialized since the previous tick.
OUTPUT_AUTOMATION = dg.AutomationCondition.on_cron("0 * * * *", cron_timezone="UTC")

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job_name="benchmark_job",
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 03:00 UTC: rescan all drop folders, recompute every derived table, reports and snapshot.",
)

outputs_automation = dg.AutomationConditionSensorDefinition(
    "reports_and_snapshot_automation",
    target=AUTOMATED,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Reports and the snapshot: hourly, when their inputs changed since the last hour. The LLM answers: "
                "when their inputs change, and hourly to recompute expired rankings.",
)
