"""The Telegram layer of digestbot: python-telegram-bot handlers and jobs (the Bot API emulator is the top-level `fakebotapi` package)."""
