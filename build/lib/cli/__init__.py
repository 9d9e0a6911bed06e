"""The ``dom`` command: thin typer commands over library calls."""
