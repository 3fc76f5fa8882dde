"""A real backup service on jobdeck: compressed archives with a manifest and checksums,
verified restores, retention, a nightly workflow. See README.md beside this file."""
