"""calltracker: finds funding calls worth a joint Lombardia-Piemonte-Liguria aerospace bid."""

__version__ = "0.1.0"
