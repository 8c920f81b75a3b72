"""``mulco publish OUT --repo-id collama/mulco``: upload a built folder to the Hub as one commit."""
from __future__ import annotations

import sys
from pathlib import Path


def make_parser(subparsers=None):
    import argparse

    kw = dict(
        help="Publish a built folder to a Hugging Face dataset repo (one commit; --dry-run to preview).",
        description=(
            "Compare FOLDER with the repo's current state, then add, update and delete files in one commit "
            "(a failure leaves the repo as it was). The token comes from HF_TOKEN or `hf auth login` and is "
            "never printed."
        ),
    )
    p = subparsers.add_parser("publish", **kw) if subparsers else argparse.ArgumentParser("mulco publish", **kw)
    p.add_argument("folder", type=Path, help="A folder written by `mulco build`.")
    p.add_argument("--repo-id", required=True,
                   help="Dataset repo, <namespace>/<name> (e.g. collama/mulco). If FOLDER was built for another repo "
                        "(`mulco build --repo-id`), its card and record.schema.json are re-rendered for this one in "
                        "the upload (FOLDER itself is not changed).")
    p.add_argument("--revision", default=None, help="Branch to commit to (default: main; created from main if missing).")
    p.add_argument("--tag", default=None, help="Tag the published commit (e.g. v1.0).")
    p.add_argument("--private", action="store_true", help="Create the repo as private (when it does not exist yet).")
    p.add_argument("--dry-run", action="store_true", help="Print what would be uploaded or deleted, with sizes; write nothing.")
    p.add_argument("--no-delete", dest="delete", action="store_false",
                   help="Keep remote files that are not in FOLDER (default: delete them, except .gitattributes).")
    p.add_argument("--message", default=None, help="Commit message (default: a summary of the changes).")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    from ..publish import PublishError, publish

    try:
        publish(args.folder, args.repo_id, revision=args.revision, tag=args.tag, private=args.private,
                dry_run=args.dry_run, delete=args.delete, commit_message=args.message)
    except PublishError as e:
        print(f"mulco publish: error: {e}", file=sys.stderr)
        return 1
    return 0
