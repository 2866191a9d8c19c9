"""The digest engine: corpus store, text handling, keyword and region search, summaries.

No Telegram here: the bot (``bot/``) and the command line are thin layers over these modules.
"""

__version__ = "0.1.0"
