"""One module per command group, each command thin: parse the options, call one core function, print the
result (text, or ``--json``), return an exit code. No git access here: that is ``gittracker.git``'s."""
