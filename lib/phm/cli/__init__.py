"""The ``phm`` command line: thin typer commands over the data and synth layers."""
