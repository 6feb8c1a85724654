"""The `insight` subcommands that live outside insight.cli, one module each, registered there."""
