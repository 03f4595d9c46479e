"""`python -m scrapers`: print the coded sources' part of config.example.toml, derived from the specs."""

from scrapers import example_toml

print(example_toml())  # noqa: T201 - the output is the point
