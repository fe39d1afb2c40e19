"""Command-line interface (argparse). Commands only: every action is a call into the public library API."""
