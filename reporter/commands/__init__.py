"""One module per `reporter` command: its click options, and a plain function of the resulting config."""
