"""jobdeck's Textual console (`jobdeck console`): the app is `jobdeck.console.app.JobdeckApp`."""

if __name__ != "jobdeck.console":  # pragma: no cover - the folder imported under its own name
    raise ImportError(
        f"this folder is the package jobdeck.console; import it by that name, not {__name__!r} "
        "(`pip install -e .` from the checkout makes it importable)"
    )
