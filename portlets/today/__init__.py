"""Today (今日): the date in the user's language and a greeting by name."""
