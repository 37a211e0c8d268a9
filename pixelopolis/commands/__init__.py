"""One module per `pixelopolis` subcommand: argument parsing, then a call into a library."""
