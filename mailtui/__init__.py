"""mailtui: which of a mail provider's access points are safe to use, and why."""

__version__ = "0.1.0"
