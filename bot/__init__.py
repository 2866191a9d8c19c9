"""The Telegram layer of digestbot: python-telegram-bot handlers, jobs and the local emulator."""
