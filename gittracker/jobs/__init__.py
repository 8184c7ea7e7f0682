"""Standing jobs: the schedule file, ``schedule check``/``cron`` and ``timer --once`` (docs/autocapture.md).

A schedule names only git-tracker's own jobs, each with typed options (``schedule``); ``timer`` runs those that
are due, once per slot (``timer``, ``standing``); ``check`` compares planned windows with the known resets;
``units`` writes the crontab line and the systemd units that run the timer.
"""
