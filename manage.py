#!/usr/bin/env python
import os
import sys

WORKER_FLAG = "GRIDLINK_WALL_RELAY"


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Commands (the SLA clock, the feedback worker, simulate, a shell) hold no wall sockets: without
    # Redis their wall messages go through PostgreSQL to the ASGI server (config/live.py).
    os.environ[WORKER_FLAG] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
