"""When maintenance runs on its own: backups every 30 minutes, validation daily, a restore drill weekly.

Backups every 30 minutes keep the recovery point under the seed's one hour with room for the snapshot's own
time; an unchanged warehouse stores nothing new, and retention (24 hourly, 30 daily) prunes the rest. The
validation runs after the 03:00 UTC refresh. Optimize and clean-json are launched by hand (clean-json is a
dry run unless its config says ``apply``).
"""

import dagster as dg

from .jobs import backup_job, restore_drill_job, warehouse_validation_job

backup_every_30_minutes = dg.ScheduleDefinition(
    name="backup_every_30_minutes",
    job=backup_job,
    cron_schedule="*/30 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 30 minutes: a verified snapshot of the warehouse, then retention "
                "(the newest, 24 hourly, 30 daily; the op's config changes it).",
)

daily_validation = dg.ScheduleDefinition(
    name="daily_validation",
    job=warehouse_validation_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 03:30 UTC, after the refresh: validate the warehouse and the snapshot chain.",
)

weekly_restore_drill = dg.ScheduleDefinition(
    name="weekly_restore_drill",
    job=restore_drill_job,
    cron_schedule="0 4 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays at 04:00 UTC: restore the newest snapshot into a temporary file, validate it, "
                "measure RTO and RPO against the goals (4 h, 1 h).",
)
