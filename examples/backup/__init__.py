"""A real backup service on jobdeck: compressed archives with a manifest and checksums,
verified restores, retention, nightly and hourly schedules. See README.md beside this file."""
