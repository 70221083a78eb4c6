"""Runs a Pulumi Python program for the flux-capsule lab's language host.

The host (main.go) starts it with the virtualenv's Python: it points the
pulumi package's runtime at the engine (monitor and engine addresses, project,
stack, preview or update), hands it the stack's config from the environment,
and runs the program inside the root Stack resource.
"""

import argparse
import asyncio
import json
import os
import runpy
import sys
import traceback

from pulumi import log
from pulumi.runtime import config, settings, stack

# The host reads this exit code as "the error is already reported".
REPORTED = 32


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--monitor", required=True)
    parser.add_argument("--engine")
    parser.add_argument("--project", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--organization")
    parser.add_argument("--root-directory")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("program")
    args = parser.parse_args()

    settings.configure(
        settings.Settings(
            project=args.project,
            stack=args.stack,
            monitor=args.monitor,
            engine=args.engine,
            parallel=args.parallel,
            dry_run=args.dry_run,
            organization=args.organization,
            root_directory=args.root_directory,
        )
    )
    config.set_all_config(
        json.loads(os.environ.get("PULUMI_CONFIG", "{}")),
        json.loads(os.environ.get("PULUMI_CONFIG_SECRET_KEYS", "[]")),
    )
    # The program imports its own modules as a script would.
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.program)))

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(
            stack.run_in_stack(lambda: runpy.run_path(args.program, run_name="__main__"))
        )
    except Exception as err:  # reported to the engine, then the host bails
        try:
            log.error(f"Program failed with an unhandled exception:\n{traceback.format_exc()}")
        except Exception:
            traceback.print_exception(err)
            return 1
        return REPORTED
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
